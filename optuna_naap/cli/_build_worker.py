"""``optuna-naap build-dataset``: train every scheme of a space once, across workers."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from optuna_naap._optuna import storage_of, study_id_of
from optuna_naap._recipe import Recipe
from optuna_naap._record import QUEUED_ATTR, SCHEME_ATTR
from optuna_naap._space import SchemeSpace
from optuna_naap.cli._common import DataSpec
from optuna_naap.cli._interrupt import interrupt_outside_storage
from optuna_naap.cli._recovery import gone, heartbeat_storage, this_worker, tracked
from optuna_naap.cli._study_kind import check_kind, set_kind

__all__ = ["DataSpec", "BuildCounts", "build_counts", "open_build_study", "run_build_worker"]


def open_build_study(
    url: str,
    study_name: str,
    *,
    space: SchemeSpace,
    recipe: Recipe,
    data: DataSpec,
    heartbeat: int = 60,
    grace: int | None = None,
    wait_s: float = 120.0,
) -> tuple[optuna.study.Study, int]:
    """Create the build study and queue every scheme, or join an existing one.

    The process whose ``create_study`` wins (study names are unique in the storage) queues the
    whole space and then marks the study ``naap:queued``; others wait for that mark, so that no
    scheme is queued twice however many commands start at once. Joining checks that the study
    builds the same space with the same recipe. Returns the study and how many schemes this
    process queued.
    """
    from optuna_naap._sampler import NAAPSampler

    storage = heartbeat_storage(url, heartbeat, grace)
    sampler = NAAPSampler(optuna.samplers.RandomSampler(), space, exhaustive=True)
    build = {"space": space.to_json(), "recipe": recipe.to_json(), "data": asdict(data)}
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction="maximize",
            sampler=sampler,
            pruner=optuna.pruners.NopPruner(),
        )
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(
            study_name=study_name,
            storage=storage,
            sampler=sampler,
            pruner=optuna.pruners.NopPruner(),
        )
        created = False

    def attrs() -> dict[str, Any]:
        return storage_of(study).get_study_system_attrs(study_id_of(study))

    if created:
        set_kind(study, "build-dataset", {**build, "queuer": this_worker()})
        queued = sampler.enqueue_space(study)
        storage_of(study).set_study_system_attr(study_id_of(study), QUEUED_ATTR, True)
        return study, queued
    settings = {"space": build["space"], "recipe": build["recipe"]}
    deadline = time.monotonic() + wait_s
    while not attrs().get(QUEUED_ATTR):
        record = check_kind(study, "build-dataset", settings, name=study_name, where=url)
        if record is not None and gone(record.get("queuer")):
            # The command that created the study died while queueing: finish its queue.
            queued = sampler.enqueue_space(study)
            storage_of(study).set_study_system_attr(study_id_of(study), QUEUED_ATTR, True)
            return study, queued
        if time.monotonic() > deadline:
            raise ValueError(
                f"study {study_name!r} exists but was never queued: it is not a build-dataset "
                "study, or its first command died while queueing; choose another --study-name"
            )
        time.sleep(0.5)
    check_kind(study, "build-dataset", settings, name=study_name, where=url)
    return study, 0


def run_build_worker(
    url: str,
    study_name: str,
    space_json: dict[str, Any],
    recipe_json: dict[str, Any],
    data: DataSpec,
    device: str | None,
    heartbeat: int,
    grace: int | None,
) -> None:
    """One worker: pop queued schemes and train each fully until none is left."""
    from optuna_naap._objective import CIFAR10Objective
    from optuna_naap._sampler import NAAPSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = SchemeSpace.from_json(space_json)
    storage = heartbeat_storage(url, heartbeat, grace)
    study = optuna.load_study(
        study_name=study_name,
        storage=storage,
        sampler=NAAPSampler(optuna.samplers.RandomSampler(), space, exhaustive=True),
        pruner=optuna.pruners.NopPruner(),
    )
    objective = CIFAR10Objective(data.load(), Recipe(**recipe_json), device, space=space)
    with interrupt_outside_storage():
        # An interrupted trial ends FAIL and its scheme goes back into the queue.
        study.optimize(tracked(objective), n_trials=None, gc_after_trial=True)


@dataclass(frozen=True)
class BuildCounts:
    """Where a build stands."""

    total: int
    complete: int
    running: int
    waiting: int
    failed: int

    def describe(self) -> str:
        return (
            f"{self.complete}/{self.total} done, {self.running} running, "
            f"{self.waiting} queued, {self.failed} failed attempts"
        )


def build_counts(study: optuna.study.Study, total: int) -> BuildCounts:
    """Count the build's trials by state (schemes completed, not trials)."""
    trials = study.get_trials(deepcopy=False)
    complete = {
        json.dumps(t.user_attrs.get(SCHEME_ATTR), sort_keys=True)
        for t in trials
        if t.state == TrialState.COMPLETE
    }
    count = lambda s: sum(t.state == s for t in trials)  # noqa: E731 - a local shorthand
    return BuildCounts(
        total,
        len(complete),
        count(TrialState.RUNNING),
        count(TrialState.WAITING),
        count(TrialState.FAIL),
    )


def start_workers(
    n: int, target: Callable[..., None], args: tuple[Any, ...]
) -> list[multiprocessing.process.BaseProcess]:
    """Start ``n`` worker processes (spawned: no CUDA state is shared with the parent)."""
    context = multiprocessing.get_context("spawn")
    workers: list[multiprocessing.process.BaseProcess] = [
        context.Process(target=target, args=args, daemon=False) for _ in range(n)
    ]
    for worker in workers:
        worker.start()
    return workers
