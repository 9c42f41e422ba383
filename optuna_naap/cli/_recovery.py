"""Trials of a process that is gone: found, failed and retried, so none stays RUNNING.

Two ways to find them. Every trial records the process that runs it (``naap:worker``: host,
pid and a start token), so a command resumed on the same host fails at once the RUNNING trials
of a process that no longer exists (killed, crashed, machine rebooted). Trials of other hosts
are found by Optuna's heartbeat: a trial whose heartbeat is older than the grace period is
failed by the next trial that starts on the storage. Either way the failed trial's scheme is
queued again (``naap:retry_of``), unless it already failed ``MAX_FAILURES`` times.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from optuna_naap._ledger import MAX_FAILURES
from optuna_naap._optuna import quiet_experimental, storage_of, trial_id_of
from optuna_naap._record import RETRY_ATTR, WORKER_ATTR

__all__ = [
    "gone",
    "heartbeat_storage",
    "mark_worker",
    "recover_trials",
    "retry_trial",
    "this_worker",
    "tracked",
]


def _start_token(pid: int) -> str | None:
    """Boot id and start time of process ``pid`` (Linux), telling a reused pid apart."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            boot_id = boot.read().strip()
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return f"{boot_id}:{fields[19]}"  # field 22 of stat: start time in clock ticks
    except (OSError, IndexError):
        return None


def this_worker() -> dict[str, Any]:
    """What ``naap:worker`` records for this process."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _start_token(pid)}


def mark_worker(study: optuna.study.Study, trial: optuna.trial.Trial) -> None:
    """Record on the live ``trial`` that this process runs it."""
    storage_of(study).set_trial_system_attr(trial_id_of(trial), WORKER_ATTR, this_worker())


def gone(worker: Any) -> bool:
    """Whether the process a ``naap:worker`` record names is known to be gone."""
    if not isinstance(worker, dict) or worker.get("host") != socket.gethostname():
        return False  # another host: its heartbeat tells
    pid = worker.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, another user's: compare the start token
    started = worker.get("started")
    return started is not None and _start_token(pid) != started


def retry_trial(study: optuna.study.Study, trial: FrozenTrial | optuna.trial.Trial) -> bool:
    """Queue ``trial``'s parameters again, unless they failed ``MAX_FAILURES`` times.

    Only the parameters travel (not the curve or decisions of the failed attempt). Returns
    whether it queued them. Also the heartbeat's stale-trial callback.
    """
    if not trial.params:
        return False
    failed = sum(
        1
        for other in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if other.params == trial.params
    )
    if failed >= MAX_FAILURES:
        return False
    study.enqueue_trial(trial.params, user_attrs={RETRY_ATTR: trial.number}, skip_if_exists=False)
    return True


def tracked(
    objective: Callable[[optuna.trial.Trial], Any],
) -> Callable[[optuna.trial.Trial], Any]:
    """``objective``, recording its process on each trial and queueing an interrupted trial's
    scheme again (Optuna then marks the trial FAIL)."""

    def run(trial: optuna.trial.Trial) -> Any:
        mark_worker(trial.study, trial)
        try:
            return objective(trial)
        except KeyboardInterrupt:
            retry_trial(trial.study, trial)
            raise

    return run


def recover_trials(study: optuna.study.Study) -> list[str]:
    """Fail the RUNNING trials of gone processes on this host, and those whose heartbeat is
    stale; queue their schemes again. Returns one phrase per recovered trial."""
    recovered: list[str] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.system_attrs.get(WORKER_ATTR)
        if not isinstance(worker, dict) or not gone(worker):
            continue
        try:
            storage_of(study).set_trial_state_values(trial_id_of(trial), state=TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process recovered it first
        queued = retry_trial(study, trial)
        recovered.append(
            f"trial {trial.number} (process {worker.get('pid')} is gone"
            + ("; queued again)" if queued else f"; failed {MAX_FAILURES} times, not retried)")
        )
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    with quiet_experimental():  # experimental in Optuna
        optuna.storages.fail_stale_trials(study)
    after = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    recovered += [f"trial {t.number} (no heartbeat)" for t in after if t.number not in before]
    return recovered


def heartbeat_storage(
    url: str,
    heartbeat: int,
    grace: int | None,
    *,
    on_stale: Callable[[optuna.study.Study, FrozenTrial], Any] = retry_trial,
) -> optuna.storages.BaseStorage:
    """The storage at ``url``; an RDB one with heartbeats (a stale trial is failed and
    ``on_stale`` called on it)."""
    if not url.startswith(("sqlite", "postgresql", "mysql")):
        return optuna.storages.get_storage(url)
    with quiet_experimental():  # heartbeats are "experimental" in Optuna; we rely on them
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=heartbeat,
            grace_period=grace,
            heartbeat_stale_trial_callback=on_stale,
        )
