from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from optuna_naap import SchemeSpace, record_scheme, report_epoch, suggest_scheme, trial_scheme
from optuna_naap.record import CURVE_ATTR, SCHEME_ATTR, trial_curve
from optuna_naap.scheme import PositionChoices

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(
    ("sampler", "n_trials"),
    [(optuna.samplers.RandomSampler(seed=0), 1000), (optuna.samplers.TPESampler(seed=0), 150)],
)
def test_sampled_schemes_are_always_valid(
    sampler: optuna.samplers.BaseSampler, n_trials: int
) -> None:
    space = SchemeSpace()
    study = optuna.create_study(sampler=sampler, direction="maximize")
    seen = set()

    def objective(trial: optuna.trial.Trial) -> float:
        scheme = suggest_scheme(trial)
        space.validate(scheme)
        seen.add(str(scheme))
        assert trial_scheme(study.get_trials(deepcopy=False)[-1]) == scheme  # recorded
        return float(len(scheme))

    study.optimize(objective, n_trials=n_trials)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if n_trials == 1000:
        assert len(seen) > 250  # random parameters reach most of the 440 schemes


def test_constrained_space_never_offers_dead_ends() -> None:
    # Position 2 only has stride 2 and one stage is allowed: depth 3 is feasible only with
    # stride 1 at positions 0 and 1, depth 4 never (position 3 needs another stage).
    space = SchemeSpace(
        [
            PositionChoices((3,), (8,), (1, 2)),
            PositionChoices((1, 3), (8, 16), (1, 2), (False, True)),
            PositionChoices((3,), (16,), (2,)),
            PositionChoices((3,), (16,), (2,)),
        ],
        min_depth=1,
        max_stages=1,
    )
    assert space.feasible_depths() == [1, 2, 3]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    schemes = []
    study.optimize(lambda t: schemes.append(suggest_scheme(t, space)) or 0.0, n_trials=300)
    expected = {str(s) for s in space.enumerate()}
    assert {str(s) for s in schemes} == expected  # every scheme reachable, nothing else
    assert all(space.contains(s) for s in schemes)


def test_record_scheme(tmp_path: Path) -> None:
    study = optuna.create_study()
    trial = study.ask()
    scheme = [{"kernel_size": 3, "width": 8, "stride": 2, "residual": False}]
    assert record_scheme(trial, scheme) == scheme
    with pytest.raises(ValueError, match="block 0: residual is not allowed"):
        record_scheme(trial, [{**scheme[0], "residual": True}])
    assert trial_scheme(study.trials[0]) == scheme


def test_report_epoch_is_read_back_from_rdb_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    trial = study.ask()
    for epoch, (acc, mean, median) in enumerate([(0.3, 1.9, 1.8), (0.4, 1.6, 1.5)], start=1):
        report_epoch(trial, epoch, accuracy=acc, loss_mean=mean, loss_median=median)
    with pytest.raises(ValueError, match="epoch=0"):
        report_epoch(trial, 0, accuracy=0.1, loss_mean=1.0, loss_median=1.0)
    # Another process would load the study from the storage: do the same.
    frozen = optuna.load_study(study_name="s", storage=url).trials[0]
    assert frozen.intermediate_values == {1: 0.3, 2: 0.4}
    assert frozen.user_attrs[CURVE_ATTR] == {"1": [1.9, 1.8], "2": [1.6, 1.5]}
    assert trial_curve(frozen, 2) == {
        "e1LossMean": 1.9,
        "e1LossMedian": 1.8,
        "e1Accuracy": 0.3,
        "e2LossMean": 1.6,
        "e2LossMedian": 1.5,
        "e2Accuracy": 0.4,
    }
    assert trial_curve(frozen, 3) is None  # epoch 3 not reported yet
    assert trial_curve(frozen, 0) == {}


def test_missing_or_broken_records_read_as_none() -> None:
    study = optuna.create_study()
    trial = study.ask()
    report_epoch(trial, 1, accuracy=math.nan, loss_mean=1.0, loss_median=1.0)
    trial.set_user_attr(SCHEME_ATTR, [{"kernel_size": 2}])
    frozen = study.trials[0]
    assert trial_curve(frozen, 1) is None
    assert trial_scheme(frozen) is None
    other = study.ask()
    other.report(0.5, 1)  # reported without report_epoch: no losses
    assert trial_curve(study.trials[1], 1) is None
    assert trial_scheme(study.trials[1]) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"accuracy": 34.47},
            "accuracy must be NaN or a number in [0, 1], but got accuracy=34.47 "
            "(it looks like a percentage: pass 0.3447)",
        ),
        (
            {"accuracy": math.inf},
            "accuracy must be NaN or a number in [0, 1], but got accuracy=inf",
        ),
        ({"accuracy": -0.3}, "accuracy must be NaN or a number in [0, 1], but got accuracy=-0.3"),
        ({"accuracy": True}, "accuracy must be a number, but got accuracy=True"),
        (
            {"loss_mean": -1.0},
            "loss_mean must be NaN or a finite number >= 0, but got loss_mean=-1.0",
        ),
        ({"loss_median": "1.2"}, "loss_median must be a number, but got loss_median='1.2'"),
    ],
)
def test_report_epoch_refuses_impossible_values_before_writing(
    values: dict[str, Any], message: str
) -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    report_epoch(trial, 1, accuracy=0.3, loss_mean=2.0, loss_median=1.9)
    epoch = {"accuracy": 0.4, "loss_mean": 1.5, "loss_median": 1.4, **values}
    with pytest.raises(ValueError) as error:
        report_epoch(trial, 2, **epoch)
    assert str(error.value) == message
    stored = study.trials[0]
    assert stored.intermediate_values == {1: 0.3}
    assert stored.user_attrs["naap:losses"] == {"1": [2.0, 1.9]}


def test_an_epoch_reported_twice_keeps_its_first_values() -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    report_epoch(trial, 1, accuracy=0.3, loss_mean=2.0, loss_median=1.9)
    with pytest.warns(UserWarning, match="epoch 1 was already reported"):
        report_epoch(trial, 1, accuracy=0.5, loss_mean=1.0, loss_median=0.9)
    stored = study.trials[0]
    assert stored.intermediate_values == {1: 0.3}
    assert stored.user_attrs["naap:losses"] == {"1": [2.0, 1.9]}
