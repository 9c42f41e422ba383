from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from options import FAST

from optuna_naap import (
    DECISION_ATTR,
    NAAPPredictor,
    NAAPSampler,
    SchemePrescreen,
    scheme_features,
    suggest_scheme,
)
from optuna_naap.benchmark import FitContext, replay_study
from optuna_naap.epsilon import add_epsilon

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def frame(naap440_frame: pd.DataFrame) -> pd.DataFrame:
    return naap440_frame


@pytest.fixture(scope="module")
def zero(frame: pd.DataFrame) -> NAAPPredictor:
    return NAAPPredictor(0, **FAST).fit(frame[frame.IsTest == 0])


def _trained_objective(calls: list[list[dict[str, Any]]]) -> Any:
    def objective(trial: optuna.trial.Trial) -> float:
        scheme = suggest_scheme(trial)
        calls.append(scheme)  # "training" starts only after the pre-screen let it through
        return float(scheme_features(scheme)["NumParams"]) / 1e5

    return objective


def _prescreen(frame: pd.DataFrame, zero: NAAPPredictor, **options: Any) -> SchemePrescreen:
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy("float64")
    return SchemePrescreen(zero, reference_values=references, **options)


def test_skips_hopeless_schemes_before_training(frame: pd.DataFrame, zero: NAAPPredictor) -> None:
    calls: list[list[dict[str, Any]]] = []
    sampler = NAAPSampler(optuna.samplers.RandomSampler(seed=0), prescreen=_prescreen(frame, zero))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_trained_objective(calls), n_trials=40)
    trials = study.get_trials()
    decisions = [t.user_attrs[DECISION_ATTR] for t in trials]
    assert all(d["epoch"] == 0 and d["predictor"] == "naap440 pre-screen" for d in decisions)
    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned and len(pruned) < len(trials)
    assert len(calls) == len(trials) - len(pruned)  # a skipped scheme never trained
    threshold = decisions[0]["threshold"]
    references = sorted(frame.loc[frame.IsTest == 0, "MaxAccuracy"], reverse=True)
    assert threshold == pytest.approx(references[19])  # the top-20 of the known finals
    for trial, decision in zip(trials, decisions, strict=True):
        reach = decision["predicted"] + decision["margin"]
        assert (trial.state == optuna.trial.TrialState.PRUNED) == (reach < threshold)
        assert trial.user_attrs["naap:verdict"] == decision["verdict"]
        assert "before training" in decision["reason"]
    # The margin is the 0.9 quantile of the predictor's out-of-fold errors.
    assert decisions[0]["margin"] == pytest.approx(float(np.quantile(zero.cv_residuals_, 0.9)))


def test_confidence_one_keeps_more(frame: pd.DataFrame, zero: NAAPPredictor) -> None:
    kept = {}
    for confidence in (0.5, 1.0):
        sampler = NAAPSampler(
            optuna.samplers.RandomSampler(seed=0),
            prescreen=_prescreen(frame, zero, confidence=confidence),
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(_trained_objective([]), n_trials=30)
        kept[confidence] = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert kept[1.0] > kept[0.5]


def test_startup_and_minimize_are_not_screened(frame: pd.DataFrame, zero: NAAPPredictor) -> None:
    calls: list[Any] = []
    study = optuna.create_study(
        direction="maximize", sampler=NAAPSampler(prescreen=SchemePrescreen(zero))
    )
    study.optimize(_trained_objective(calls), n_trials=5)
    assert len(calls) == 5  # no reference values, 5 finals < top_k=20: nothing skipped
    assert "startup" in study.trials[0].user_attrs[DECISION_ATTR]["reason"]
    study = optuna.create_study(
        direction="minimize", sampler=NAAPSampler(prescreen=_prescreen(frame, zero))
    )
    study.optimize(_trained_objective([]), n_trials=5)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert "maximizing" in study.trials[0].user_attrs[DECISION_ATTR]["reason"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_fraction": 1.5}, "top_fraction"),
        ({"confidence": 2.0}, "confidence"),
        ({"n_startup_trials": -1}, "n_startup_trials"),
        ({"reference_values": [math.nan]}, "reference_values"),
    ],
)
def test_invalid_arguments(zero: NAAPPredictor, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchemePrescreen(zero, **kwargs)


def test_needs_a_fitted_zero_epoch_predictor(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="fitted NAAPPredictor"):
        SchemePrescreen(NAAPPredictor(0))
    nine = NAAPPredictor(9, **FAST).fit(frame[frame.IsTest == 0].head(60))
    with pytest.raises(ValueError, match="epochs=0, but got epochs=9"):
        SchemePrescreen(nine)
    with pytest.raises(ValueError, match="SchemePrescreen"):
        NAAPSampler(prescreen=nine)  # type: ignore[arg-type]


def test_prescreen_and_exhaustive_do_not_mix(zero: NAAPPredictor) -> None:
    with pytest.raises(ValueError, match="exhaustive sampler trains them all"):
        NAAPSampler(prescreen=SchemePrescreen(zero), exhaustive=True)


def test_epsilon_feature_is_computed_for_the_trial(frame: pd.DataFrame) -> None:
    rows = add_epsilon(frame[frame.IsTest == 0].head(80))
    assert rows["Epsilon"].notna().all()
    predictor = NAAPPredictor(0, extra_features=("Epsilon",), **FAST).fit(rows)
    prescreen = SchemePrescreen.from_frame(
        rows, predictor_options={"extra_features": ("Epsilon",), **FAST}
    )
    assert prescreen.predictor.extra_features == predictor.extra_features
    study = optuna.create_study(direction="maximize", sampler=NAAPSampler(prescreen=prescreen))
    study.optimize(_trained_objective([]), n_trials=3)
    for trial in study.trials:
        assert math.isfinite(trial.user_attrs["Epsilon"])
        assert trial.user_attrs[DECISION_ATTR]["predicted"] is not None


def test_add_epsilon_needs_schemes(naap440_v2: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="Scheme column"):
        add_epsilon(naap440_v2)


def test_replay_screens_the_replayed_scheme(frame: pd.DataFrame, zero: NAAPPredictor) -> None:
    train = frame[frame.IsTest == 0]
    context = FitContext(train, 90, {**FAST})
    pool = frame[frame.IsTest == 1]
    storage = optuna.storages.InMemoryStorage()
    result = replay_study(
        pool,
        context.naap(),
        sampler=NAAPSampler(
            optuna.samplers.RandomSampler(seed=0), prescreen=_prescreen(frame, zero)
        ),
        storage=storage,
        study_name="screened",
    )
    study = optuna.load_study(study_name="screened", storage=storage)
    skipped = [t for t in study.trials if not t.intermediate_values]
    assert skipped and result.trials == len(pool)
    for trial in skipped:
        # The decision is about the scheme the replay would have run.
        model = trial.user_attrs["naap:model_id"]
        row = pool[pool.ModelId == model].iloc[0]
        assert trial.user_attrs["naap:scheme"] == json.loads(row["Scheme"])
        assert trial.user_attrs[DECISION_ATTR]["epoch"] == 0
    assert result.compute < 1.0
