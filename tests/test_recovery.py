"""Kill tests: ``optuna-naap search`` killed mid-trial (SIGKILL, SIGTERM) on SQLite and
PostgreSQL, then resumed: no trial stays RUNNING, no scheme is trained twice, the killed
trial's scheme is trained again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optuna_naap.cli._recovery import gone, retry_trial, this_worker
from optuna_naap.record import RETRY_ATTR, WORKER_ATTR

pytestmark = pytest.mark.e2e  # real processes, killed

optuna.logging.set_verbosity(optuna.logging.WARNING)

EPOCHS = 6


def search_command(url: str, name: str, n_trials: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "optuna_naap.cli",
        "search",
        "--data",
        "synthetic",
        "--device",
        "cpu",
        "--epochs",
        str(EPOCHS),
        "--pruner",
        "none",
        "--storage",
        url,
        "--study-name",
        name,
        "--n-trials",
        str(n_trials),
        "--heartbeat",
        "1",
        "--grace",
        "3",
    ]


def kill_mid_trial(process: subprocess.Popen[str], url: str, name: str, sig: int) -> int:
    """Send ``sig`` once a trial has reported an epoch; return that trial's number."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            trials = optuna.load_study(study_name=name, storage=url).trials
        except KeyError:
            continue
        running = [t for t in trials if t.state == TrialState.RUNNING and t.intermediate_values]
        if running:
            process.send_signal(sig)
            return running[0].number
    process.kill()
    raise AssertionError("no trial got going")


def scheme_key(trial: optuna.trial.FrozenTrial) -> str:
    return json.dumps(trial.user_attrs["naap:scheme"], sort_keys=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_search_resumes_with_nothing_stuck_or_repeated(
    tmp_path: Path, backend: str, sig: int, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'nas.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    name = f"kill-{backend}-{signal.Signals(sig).name.lower()}"
    process = subprocess.Popen(
        search_command(url, name, 3), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = kill_mid_trial(process, url, name, sig)
    _, err = process.communicate(timeout=120)
    trial = optuna.load_study(study_name=name, storage=url).trials[killed]
    if sig == signal.SIGTERM:  # handled like Ctrl-C: the trial failed, its scheme queued
        assert process.returncode == 130, err
        assert "interrupted; the storage is consistent" in err
        assert trial.state == TrialState.FAIL
    else:  # nothing could run: the trial is left RUNNING, for the resume to find
        assert process.returncode == -signal.SIGKILL
        assert trial.state == TrialState.RUNNING
        assert trial.system_attrs[WORKER_ATTR]["pid"] == process.pid

    resumed = subprocess.run(
        search_command(url, name, 2), capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    if sig == signal.SIGKILL:
        assert (
            f"recovered 1 trial(s) left running: trial {killed} (process {process.pid} is gone; "
            "queued again)" in resumed.stderr
        )
    trials = optuna.load_study(study_name=name, storage=url).trials
    assert all(t.state != TrialState.RUNNING for t in trials)
    assert trials[killed].state == TrialState.FAIL
    retried = [t for t in trials if t.user_attrs.get(RETRY_ATTR) == killed]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert scheme_key(retried[0]) == scheme_key(trials[killed])
    assert sorted(retried[0].intermediate_values) == list(range(1, EPOCHS + 1))  # its own
    trained = [
        scheme_key(t) for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
    ]
    assert len(trained) == len(set(trained))


def test_a_live_process_is_not_taken_for_gone() -> None:
    me = this_worker()
    assert not gone(me)  # this process
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = {**me, "pid": child.pid, "started": this_worker()["started"]}
        assert gone(record)  # the pid lives, but it is another process (start token differs)
        record["started"] = None
        assert not gone(record)  # without a token, a living pid counts as alive
    finally:
        child.kill()
        child.wait()
    assert gone({**me, "pid": child.pid})  # exited
    assert not gone({**me, "host": "elsewhere", "pid": child.pid})  # another host: heartbeat


def test_a_scheme_is_retried_twice_at_most() -> None:
    study = optuna.create_study()
    trial = study.ask({"x": optuna.distributions.CategoricalDistribution([1, 2])})
    study.tell(trial, state=TrialState.FAIL)
    assert retry_trial(study, study.trials[0])
    retry = study.ask()
    assert retry.suggest_categorical("x", [1, 2]) == study.trials[0].params["x"]
    study.tell(retry, state=TrialState.FAIL)
    assert not retry_trial(study, study.trials[1])  # failed twice: not queued again
    assert [t.user_attrs.get(RETRY_ATTR) for t in study.trials] == [None, 0]
