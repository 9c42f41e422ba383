from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import optuna
import pytest

from optuna_naap import NAAPSampler, SchemeSpace, scheme_params, suggest_scheme
from optuna_naap.scheme import PositionChoices

optuna.logging.set_verbosity(optuna.logging.WARNING)


def depth_objective(trial: optuna.trial.Trial) -> float:
    return float(len(suggest_scheme(trial)))


def key(trial: optuna.trial.FrozenTrial) -> str:
    return json.dumps(trial.user_attrs["naap:scheme"], sort_keys=True)


def small_space() -> SchemeSpace:
    block = PositionChoices(kernel_sizes=(1, 3), widths=(8, 16), strides=(1, 2))
    return SchemeSpace(positions=[block, block], min_depth=1)


@pytest.mark.parametrize(
    "base", [optuna.samplers.RandomSampler(seed=0), optuna.samplers.TPESampler(seed=0), None]
)
def test_every_sampled_trial_is_a_valid_scheme(base: optuna.samplers.BaseSampler | None) -> None:
    space = SchemeSpace()
    sampler = NAAPSampler(base, space, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    n = 1000 if isinstance(base, optuna.samplers.RandomSampler) else 120
    study.optimize(depth_objective, n_trials=n)
    sampled = [t for t in study.trials if "naap:scheme" in t.user_attrs]
    assert all(space.contains(t.user_attrs["naap:scheme"]) for t in sampled)
    assert len({key(t) for t in sampled}) == len(sampled)  # never one scheme twice
    if n == 1000:  # every scheme once; then the space is spent and the loop stops
        assert len(sampled) == 440 and len(study.trials) == 441
        assert study.trials[-1].user_attrs["naap:space_exhausted"] is True
    assert study.trials[0].system_attrs["naap:space"] == space.to_json()


def test_exhaustive_visits_the_440_once_then_stops() -> None:
    study = optuna.create_study(sampler=NAAPSampler(exhaustive=True), direction="maximize")
    study.optimize(depth_objective, n_trials=450)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 440
    expected = [json.dumps(s, sort_keys=True) for s in SchemeSpace().enumerate()]
    assert [key(t) for t in done] == expected  # every scheme, in the space's order
    # The 441st trial found nothing left: pruned at once, and the loop stopped.
    extra = study.trials[440:]
    assert len(extra) == 1 and extra[0].state == optuna.trial.TrialState.PRUNED
    assert extra[0].user_attrs["naap:space_exhausted"] is True


def test_exhaustive_retries_failed_schemes_twice_at_most() -> None:
    space = small_space()
    first = json.dumps(space.enumerate()[0], sort_keys=True)

    def objective(trial: optuna.trial.Trial) -> float:
        scheme = suggest_scheme(trial, space)
        if json.dumps(scheme, sort_keys=True) == first:
            raise RuntimeError("this scheme always fails")
        return 1.0

    study = optuna.create_study(sampler=NAAPSampler(space=space, exhaustive=True))
    study.optimize(objective, n_trials=200, catch=(RuntimeError,))
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert [key(t) for t in failed] == [first, first]
    done = [key(t) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(done) == sorted(json.dumps(s, sort_keys=True) for s in space.enumerate()[1:])


def test_scheme_params_enqueue_exactly_that_scheme() -> None:
    space = SchemeSpace()
    study = optuna.create_study(direction="maximize")
    schemes = space.enumerate()[::37]
    for scheme in schemes:
        study.enqueue_trial(scheme_params(scheme, space))
    study.optimize(depth_objective, n_trials=len(schemes))
    assert [t.user_attrs["naap:scheme"] for t in study.trials] == schemes
    with pytest.raises(ValueError):
        scheme_params([{"kernel_size": 5, "width": 8, "stride": 1, "residual": False}], space)


def journal(path: Path) -> optuna.storages.JournalStorage:
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))


def _worker(path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name="grid",
        storage=journal(path),
        sampler=NAAPSampler(space=small_space(), exhaustive=True),
    )
    study.optimize(small_objective, n_trials=40)


def small_objective(trial: optuna.trial.Trial) -> float:
    return float(len(suggest_scheme(trial, small_space())))


def test_exhaustive_with_several_workers_on_one_storage(tmp_path: Path) -> None:
    # Three processes on one journal file (Optuna's multi-process storage on one machine;
    # SQLite hands a queued trial to two processes at once under contention).
    path = tmp_path / "grid.log"
    space = small_space()
    study = optuna.create_study(study_name="grid", storage=journal(path), direction="maximize")
    assert NAAPSampler(space=space, exhaustive=True).enqueue_space(study) == len(space.enumerate())
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(path,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0
    trials = optuna.load_study(study_name="grid", storage=journal(path)).trials
    done = [key(t) for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(done) == sorted(json.dumps(s, sort_keys=True) for s in space.enumerate())


@pytest.mark.parametrize("unique", [True, False])
def test_a_resumed_seed_does_not_train_a_scheme_twice(unique: bool) -> None:
    # Each run builds a fresh TPESampler(seed=0): it replays its sequence, as a resumed
    # command does. The unique sampler steers it to free schemes; a plain one repeats.
    study = optuna.create_study(direction="maximize")
    for _ in range(3):
        study.sampler = NAAPSampler(optuna.samplers.TPESampler(seed=0), unique=unique)
        study.optimize(depth_objective, n_trials=30)
    keys = [key(t) for t in study.trials]
    assert (len(set(keys)) == 90) is unique
    assert all("naap:duplicate_of" not in t.user_attrs for t in study.trials)


@pytest.mark.parametrize(
    "base",
    [
        optuna.samplers.TPESampler(seed=1, multivariate=True),
        optuna.samplers.NSGAIISampler(seed=1, population_size=8),
        optuna.samplers.GPSampler(seed=1, n_startup_trials=5),
    ],
)
def test_relative_samplers_stay_on_free_schemes(base: optuna.samplers.BaseSampler) -> None:
    space = small_space()
    total = len(space.enumerate())
    study = optuna.create_study(direction="maximize", sampler=NAAPSampler(base, space))
    study.optimize(small_objective, n_trials=total + 5)
    trained = [key(t) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(trained) == sorted(json.dumps(s, sort_keys=True) for s in space.enumerate())
    assert study.trials[-1].user_attrs.get("naap:space_exhausted") is True


def test_two_live_trials_with_one_scheme_train_it_once() -> None:
    # Two workers that drew the same scheme at the same moment (here: enqueued twice).
    study = optuna.create_study(direction="maximize", sampler=NAAPSampler())
    scheme = SchemeSpace().enumerate()[7]
    for _ in range(2):
        study.enqueue_trial(scheme_params(scheme), skip_if_exists=False)
    first, second = study.ask(), study.ask()
    with pytest.raises(optuna.TrialPruned, match=f"trial {second.number} holds this scheme"):
        suggest_scheme(first)
    study.tell(first, state=optuna.trial.TrialState.PRUNED)
    assert suggest_scheme(second) == scheme  # the other gave it up: trained once
    study.tell(second, 1.0)
    assert study.trials[0].user_attrs["naap:duplicate_of"] == second.number
    # A later trial that draws it is told who holds it; unique=False trains it again.
    study.enqueue_trial(scheme_params(scheme), skip_if_exists=False)
    with pytest.raises(optuna.TrialPruned, match=f"trial {second.number} holds"):
        suggest_scheme(study.ask())
    study.sampler = NAAPSampler(unique=False)
    study.enqueue_trial(scheme_params(scheme), skip_if_exists=False)
    assert suggest_scheme(study.ask()) == scheme


class _FixedRefiner:
    """A refiner that always keeps the same few schemes (kernel 1, width 8)."""

    def refine(self, space: SchemeSpace, trials: object, *, direction: object) -> SchemeSpace:
        block = PositionChoices(kernel_sizes=(1,), widths=(8,), strides=(1, 2))
        return SchemeSpace(positions=[block, block], min_depth=1)


def test_a_refined_space_that_is_all_held_gives_way_to_the_whole_space() -> None:
    space = small_space()
    refined = _FixedRefiner().refine(space, [], direction=None)
    sampler = NAAPSampler(optuna.samplers.TPESampler(seed=0), space, refine=_FixedRefiner())  # type: ignore[arg-type]
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(small_objective, n_trials=len(refined.enumerate()) + 6)
    trained = [key(t) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == len(study.trials) == len(set(trained))  # no duplicate, none wasted
    inside = {json.dumps(s, sort_keys=True) for s in refined.enumerate()}
    assert inside < set(trained)  # the refined schemes first, then the rest of the space


def _sampling_worker(url: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = NAAPSampler(optuna.samplers.TPESampler(seed=0, n_startup_trials=3), small_space())
    study = optuna.load_study(study_name="nas", storage=url, sampler=sampler)
    study.optimize(small_objective, n_trials=12)


def test_concurrent_workers_never_train_a_scheme_twice(tmp_path: Path) -> None:
    # Two processes with the same seed on one SQLite file: the same proposals, at once.
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    optuna.create_study(study_name="nas", storage=url, direction="maximize")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_sampling_worker, args=(url,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0
    trials = optuna.load_study(study_name="nas", storage=url).trials
    trained = [key(t) for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == len(set(trained)) and len(trained) >= 12
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in trials)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="base_sampler must be an Optuna sampler"):
        NAAPSampler("tpe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="space must be a SchemeSpace"):
        NAAPSampler(space={"positions": []})  # type: ignore[arg-type]
