from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from optuna_naap import NAAPSampler, SchemeSpace, SpaceRefiner, suggest_scheme
from optuna_naap.refine import option_fitness, trial_fitness
from optuna_naap.scheme import PositionChoices

optuna.logging.set_verbosity(optuna.logging.WARNING)

NAAP = SchemeSpace()


def _trial(
    scheme: list[dict[str, Any]],
    *,
    value: float | None = None,
    predicted: Any = None,
    state: TrialState | None = None,
) -> optuna.trial.FrozenTrial:
    attrs: dict[str, Any] = {"naap:scheme": scheme}
    if predicted is not None:
        attrs["naap:predicted"] = predicted
    if state is None:
        state = TrialState.COMPLETE if value is not None else TrialState.PRUNED
    return create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        user_attrs=attrs,
        params={},
        distributions={},
    )


def _block(k: int, w: int, s: int, r: bool = False) -> dict[str, Any]:
    return {"kernel_size": k, "width": w, "stride": s, "residual": r}


def _width_objective(trial: optuna.trial.Trial) -> float:
    # Wider and deeper is better: the fittest options are known in advance.
    scheme = suggest_scheme(trial)
    return (
        sum(b["width"] for b in scheme) + 3 * len(scheme) + sum(b["kernel_size"] for b in scheme)
    )


def test_trial_fitness_prefers_the_final_then_the_prediction() -> None:
    scheme = [_block(3, 12, 2), _block(3, 16, 2), _block(1, 16, 1)]
    assert trial_fitness(_trial(scheme, value=0.8, predicted=0.5)) == 0.8
    assert trial_fitness(_trial(scheme, predicted=0.5)) == 0.5
    assert trial_fitness(_trial(scheme)) is None
    assert trial_fitness(_trial(scheme, predicted=math.nan)) is None
    assert trial_fitness(_trial(scheme, predicted=True)) is None
    assert trial_fitness(_trial(scheme, predicted="0.5")) is None


def test_option_fitness_means_per_position_and_option() -> None:
    a = [_block(3, 12, 2), _block(3, 16, 2), _block(1, 16, 1)]
    b = [_block(3, 16, 2), _block(3, 16, 2), _block(3, 32, 1), _block(1, 40, 1)]
    trials = [
        _trial(a, value=0.6),
        _trial(b, predicted=0.8),
        _trial(b, value=0.7),
        _trial(a),  # no fitness: ignored
    ]
    table = {(e.position, e.attribute, e.value): e for e in option_fitness(trials)}
    assert table[(None, "depth", 3)].fitness == pytest.approx(0.6)
    assert table[(None, "depth", 4)].fitness == pytest.approx(0.75)
    assert table[(None, "depth", 4)].trials == 2
    assert table[(0, "width", 12)].trials == 1
    assert table[(1, "width", 16)].fitness == pytest.approx((0.6 + 0.8 + 0.7) / 3)
    assert table[(2, "kernel_size", 1)].fitness == pytest.approx(0.6)
    assert (3, "width", 40) in table
    # Depth first, fittest first within an attribute.
    entries = option_fitness(trials)
    assert entries[0].attribute == "depth" and entries[0].value == 4


def test_option_fitness_reads_a_study() -> None:
    study = optuna.create_study(direction="maximize", sampler=NAAPSampler(seed=0))
    study.optimize(_width_objective, n_trials=5)
    entries = option_fitness(study)
    depths = [e for e in entries if e.attribute == "depth"]
    assert sum(e.trials for e in depths) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"after_trials": 0}, "after_trials"),
        ({"keep": 0}, "keep"),
        ({"min_trials": 1.5}, "min_trials"),
        ({"min_schemes": 0}, "min_schemes"),
        ({"reference": "worst"}, "reference"),
        ({"reference": [{"kernel_size": 2, "width": 8, "stride": 1, "residual": False}]}, "odd"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SpaceRefiner(**kwargs)


def _random_study(n: int, *, direction: str = "maximize") -> optuna.study.Study:
    sampler = NAAPSampler(optuna.samplers.RandomSampler(seed=1))
    study = optuna.create_study(direction=direction, sampler=sampler)
    study.optimize(_width_objective, n_trials=n)
    return study


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_refine_keeps_the_fittest_options(direction: str) -> None:
    study = _random_study(60, direction=direction)
    trials = study.get_trials()
    refiner = SpaceRefiner(after_trials=60, keep=1, min_schemes=1, reference=None)
    assert refiner.refine(NAAP, trials[:59], direction=study.direction) is None  # too early
    refined = refiner.refine(NAAP, trials, direction=study.direction)
    assert refined is not None and refined.within(NAAP) and refined != NAAP
    table = {(e.position, e.attribute, e.value): e for e in option_fitness(trials)}
    better = max if direction == "maximize" else min
    for position in range(2):  # the first two positions: one stride, so width decides
        options = NAAP.positions[position].widths
        best = better(options, key=lambda w: table[(position, "width", w)].fitness)
        assert best in refined.positions[position].widths
    # A restriction with valid schemes (options come back until one has not run yet).
    assert 0 < len(refined.enumerate()) < len(NAAP.enumerate())


def test_refine_keeps_options_too_little_tried_and_the_reference() -> None:
    trials = _random_study(40).get_trials()
    untested = SpaceRefiner(after_trials=10, min_trials=1000, min_schemes=1)
    assert untested.refine(NAAP, trials) is None  # nothing judged: nothing dropped
    worst = min(
        (t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value or 0.0
    )
    reference = worst.user_attrs["naap:scheme"]
    refined = SpaceRefiner(after_trials=10, reference=reference, min_schemes=1).refine(
        NAAP, trials
    )
    assert refined is not None and refined.contains(reference)
    best = max(trials, key=lambda t: t.value or 0.0).user_attrs["naap:scheme"]
    by_best = SpaceRefiner(after_trials=10, min_schemes=1).refine(NAAP, trials)
    assert by_best is not None and by_best.contains(best)


def test_refine_brings_options_back_until_enough_unrun_schemes() -> None:
    trials = _random_study(60).get_trials()
    tight = SpaceRefiner(after_trials=10, min_schemes=1, reference=None).refine(NAAP, trials)
    loose = SpaceRefiner(after_trials=10, min_schemes=30, reference=None).refine(NAAP, trials)
    assert tight is not None and loose is not None
    run = {str(t.user_attrs["naap:scheme"]) for t in trials}
    for space, wanted in ((tight, 1), (loose, 30)):
        fresh = [s for s in space.enumerate() if str(s) not in run]
        assert len(fresh) >= wanted
    assert len(loose.enumerate()) > len(tight.enumerate())
    assert tight.within(loose)
    # A space with fewer unrun schemes than asked for is not refined at all.
    assert SpaceRefiner(after_trials=10, min_schemes=440).refine(NAAP, trials) is None


def test_refine_restores_options_when_the_rules_leave_no_scheme() -> None:
    # Only a strided first block or residual second blocks are fit; together they are invalid
    # (a residual block needs its input's width, and position 1 offers a different one).
    space = SchemeSpace(
        [
            PositionChoices((3,), (8, 16), (1, 2)),
            PositionChoices((3,), (8,), (1,), (False, True)),
        ],
        min_depth=2,
    )
    good = [_block(3, 16, 2), _block(3, 8, 1)]
    residual = [_block(3, 8, 1), _block(3, 8, 1, True)]
    plain = [_block(3, 8, 1), _block(3, 8, 1)]
    trials = [_trial(good, value=0.9)] * 3 + [_trial(residual, value=0.9)] * 3
    trials += [_trial(plain, value=0.1)] * 3
    refined = SpaceRefiner(after_trials=9, min_schemes=1, reference=None).refine(space, trials)
    # Width 16 + stride 2 at position 0 and residual at 1 hold no scheme: the fittest dropped
    # option comes back and the space has valid schemes.
    assert refined is not None and refined.feasible_depths() == [2]
    assert refined.enumerate()


def test_sampler_walks_the_refined_space_with_own_parameter_names(tmp_path: Path) -> None:
    refiner = SpaceRefiner(after_trials=30, min_schemes=5)
    sampler = NAAPSampler(optuna.samplers.TPESampler(seed=0), refine=refiner)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_width_objective, n_trials=60)
    trials = study.get_trials()
    refined = [t for t in trials if "naap:refined_space" in t.system_attrs]
    assert len(refined) >= 25
    assert all("naap:refined_space" not in t.system_attrs for t in trials[:30])
    for trial in refined:
        space = SchemeSpace.from_json(trial.system_attrs["naap:refined_space"])
        assert space.within(NAAP) and space.contains(trial.user_attrs["naap:scheme"])
    # Parameters of restricted choices have names of their own: Optuna accepted them all.
    choices: dict[str, tuple[Any, ...]] = {}
    for trial in trials:
        for name, distribution in trial.distributions.items():
            assert isinstance(distribution, CategoricalDistribution)
            assert choices.setdefault(name, distribution.choices) == distribution.choices
    assert sampler.refined_space(study) is not None
    # The best scheme found is in the refined space (reference="best").
    assert sampler.refined_space(study).contains(study.best_trial.user_attrs["naap:scheme"])


def test_workers_on_one_storage_refine_alike(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'refine.db'}"
    refiner = SpaceRefiner(after_trials=20, min_schemes=5)
    first = optuna.create_study(
        storage=storage,
        study_name="s",
        direction="maximize",
        sampler=NAAPSampler(optuna.samplers.RandomSampler(seed=0), refine=refiner),
    )
    first.optimize(_width_objective, n_trials=25)
    second = optuna.load_study(
        storage=storage,
        study_name="s",
        sampler=NAAPSampler(optuna.samplers.RandomSampler(seed=1), refine=refiner),
    )
    first_space = first.sampler.refined_space(first)
    assert first_space is not None
    assert second.sampler.refined_space(second) == first_space
    second.optimize(_width_objective, n_trials=3)
    last = second.get_trials()[-1]
    assert "naap:refined_space" in last.system_attrs


def test_refine_and_exhaustive_do_not_mix() -> None:
    with pytest.raises(ValueError, match="exhaustive"):
        NAAPSampler(refine=SpaceRefiner(), exhaustive=True)
    with pytest.raises(ValueError, match="SpaceRefiner"):
        NAAPSampler(refine="yes")  # type: ignore[arg-type]


def test_enqueued_trials_are_not_refined() -> None:
    sampler = NAAPSampler(
        optuna.samplers.RandomSampler(seed=0), refine=SpaceRefiner(after_trials=5)
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_width_objective, n_trials=20)
    from optuna_naap import scheme_params

    scheme = NAAP.enumerate()[0]
    study.enqueue_trial(scheme_params(scheme))
    study.optimize(_width_objective, n_trials=1)
    last = study.get_trials()[-1]
    assert last.user_attrs["naap:scheme"] == scheme
    assert "naap:refined_space" not in last.system_attrs


def test_refined_space_outside_the_objective_space_warns() -> None:
    other = SchemeSpace(NAAP.positions[:3], min_depth=3)  # the sampler's space has 4
    sampler = NAAPSampler(
        optuna.samplers.RandomSampler(seed=0),
        refine=SpaceRefiner(after_trials=5, min_trials=1, min_schemes=1),
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial: optuna.trial.Trial) -> float:
        return float(sum(b["width"] for b in suggest_scheme(trial, other)))

    study.optimize(objective, n_trials=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=1)
    assert any("not inside the objective's space" in str(w.message) for w in caught)
    assert other.contains(study.get_trials()[-1].user_attrs["naap:scheme"])


def test_minimize_direction_in_refine_signature() -> None:
    trials = _random_study(30).get_trials()
    up = SpaceRefiner(after_trials=10, min_schemes=1, reference=None)
    high = up.refine(NAAP, trials, direction=StudyDirection.MAXIMIZE)
    low = up.refine(NAAP, trials, direction=StudyDirection.MINIMIZE)
    assert high is not None and low is not None and high != low


def test_refined_parameters_are_named_after_their_choices() -> None:
    refined = SchemeSpace(
        [
            NAAP.positions[0],
            PositionChoices((3,), (24,), (2,)),
            PositionChoices((1, 3), (24, 32), (1,), (False, True)),
            NAAP.positions[3],
        ],
        min_depth=3,
    )
    study = optuna.create_study(direction="maximize")
    names = set()
    for _ in range(12):
        trial = study.ask()
        # What NAAPSampler(refine=...).before_trial leaves on the trial.
        trial._cached_frozen_trial.system_attrs["naap:refined_space"] = refined.to_json()
        scheme = suggest_scheme(trial)
        assert refined.contains(scheme)
        names |= set(trial.params)
        study.tell(trial, 1.0)
    assert "naap_b2_width_24_32" in names  # (16, 24, 32) in the full space
    assert "naap_b2_kernel_size" in names  # unchanged choices keep the plain name
    assert not any(name.startswith("naap_b1_") for name in names)  # one option: no choice
