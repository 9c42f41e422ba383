from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import optuna
import pandas as pd
import pytest

from optuna_naap import (
    DECISION_ATTR,
    NAAPPredictor,
    NAAPPruner,
    SchemeRule,
    StudyLearner,
    StudyPredictor,
    record_scheme,
    report_epoch,
)
from optuna_naap._study_predictor import CURVE_FEATURES, curve_features
from optuna_naap.data import attach_schemes

optuna.logging.set_verbosity(optuna.logging.WARNING)
STEPS = 30
OPTIMIZERS = {"sgd": 0.12, "adam": 0.0, "rmsprop": 0.05}


def learning_curves(direction: str) -> Callable[[optuna.trial.Trial], float]:
    """A non-NAAP objective: curves whose ceiling depends on the params, plus noise."""

    def objective(trial: optuna.trial.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        optimizer = trial.suggest_categorical("optimizer", list(OPTIMIZERS))
        if optimizer == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)  # a conditional parameter
        rng = np.random.default_rng(trial.number)
        ceiling = 0.92 - 0.25 * abs(math.log10(lr) + 2) / 2 - OPTIMIZERS[optimizer]
        speed = 2 + 2 * rng.random()
        value = 0.0
        for step in range(1, STEPS + 1):
            value = ceiling * (1 - math.exp(-step / speed)) + 0.004 * rng.standard_normal()
            reported = value if direction == "maximize" else 1 - value
            trial.report(reported, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value if direction == "maximize" else 1 - value

    return objective


def finished(direction: str, n: int = 20) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(learning_curves(direction), n_trials=n)
    return study.trials


@pytest.mark.parametrize("model", ["ridge", "catboost"])
def test_fit_and_predict_with_categorical_and_missing_params(model: str) -> None:
    trials = finished("maximize", 60)
    fit, held = trials[:45], trials[45:]
    predictor = StudyPredictor(5, model=model).fit(fit)
    assert predictor.categorical_params_ == ["optimizer"]
    assert predictor.numeric_params_ == ["lr", "momentum"]
    assert predictor.feature_names_[-len(CURVE_FEATURES) :] == list(CURVE_FEATURES)
    assert predictor.cv_residuals_.shape == (45,)
    predicted, spread = predictor.predict_with_uncertainty(held)
    assert spread.shape == (15,) and (spread >= 0).all()
    truth = np.array([t.value for t in held])
    # Much better than predicting the mean of the fit trials.
    baseline = np.abs(truth - np.mean([t.value for t in fit])).mean()
    assert np.abs(truth - predicted).mean() < 0.5 * baseline
    # The out-of-fold errors are honest: about as large as the errors on unseen trials.
    assert np.abs(predictor.cv_residuals_).mean() < 2 * np.abs(truth - predicted).mean() + 0.01


def test_a_parameter_one_trial_sampled_does_not_blow_up_the_ridge() -> None:
    # Among the trials fit on, one sampled the conditional momentum: its column is constant
    # once imputed, and its std rounding (2e-16), not 0; a new momentum was predicted at 1e13.
    rng = np.random.default_rng(0)
    lr = optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)
    momentum = optuna.distributions.FloatDistribution(0.0, 0.99)

    def trial(value: float, with_momentum: float | None) -> optuna.trial.FrozenTrial:
        params: dict[str, float] = {"lr": float(10 ** rng.uniform(-4, 0))}
        distributions: dict[str, optuna.distributions.BaseDistribution] = {"lr": lr}
        if with_momentum is not None:
            params["momentum"], distributions["momentum"] = with_momentum, momentum
        curve = {s: value * (1 - math.exp(-(s + 1) / 3)) for s in range(10)}
        return optuna.trial.create_trial(
            params=params, distributions=distributions, value=value, intermediate_values=curve
        )

    fit = [trial(0.8 + 0.01 * i, 0.8262794151783992 if i == 3 else None) for i in range(7)]
    predictor = StudyPredictor(5).fit(fit)
    predicted = predictor.predict([trial(0.85, 0.1), trial(0.85, 0.9)])
    assert np.all(np.abs(predicted - 0.85) < 0.2), predicted


@pytest.mark.parametrize("model", ["ridge", "catboost"])
def test_a_log_scale_parameter_is_read_on_its_log_scale(model: str) -> None:
    # The final depends on the learning rate's order of magnitude, and the curves say nothing:
    # on the raw values, a linear model sees only the largest rates.
    def objective(trial: optuna.trial.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        width = trial.suggest_int("width", 4, 64)  # linear: read as it is
        for step in range(5):
            trial.report(0.5, step)
        return 0.5 + 0.05 * math.log10(lr) + 0.0001 * width

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(objective, n_trials=60)
    fit, held = study.trials[:45], study.trials[45:]
    predictor = StudyPredictor(3, model=model).fit(fit)
    assert predictor.log_params_ == ["lr"] and predictor.numeric_params_ == ["lr", "width"]
    truth = np.array([t.value for t in held])
    baseline = np.abs(truth - np.mean([t.value for t in fit])).mean()
    assert np.abs(truth - predictor.predict(held)).mean() < 0.2 * baseline


def test_curve_features_align_any_step_numbering() -> None:
    every = {s: s / 10 for s in range(0, 11)}
    fifth = {s: s / 10 for s in range(0, 11, 5)}
    shuffled = dict(reversed(list(every.items())))
    assert curve_features(every, 8) == curve_features(shuffled, 8)
    at = dict(zip(CURVE_FEATURES, curve_features(every, 8), strict=True))
    assert at["curve@1/4"] == 0.2 and at["curve@4/4"] == 0.8
    assert at["curve_max"] == 0.8 and at["curve_min"] == 0.0
    assert at["curve_slope"] == pytest.approx(0.1)
    sparse = dict(zip(CURVE_FEATURES, curve_features(fifth, 8), strict=True))
    assert sparse["curve@1/4"] == 0.0 and sparse["curve@4/4"] == 0.5
    assert math.isnan(curve_features({3: 1.0}, 2)[0])  # nothing at or before step 2
    assert math.isnan(curve_features({0: math.inf, 1: math.nan}, 1)[-4])  # non-finite: missing


def test_too_few_trials_and_unfitted() -> None:
    trials = finished("maximize", 4)
    with pytest.raises(ValueError, match="at least 4 completed trials .* but got 1"):
        StudyPredictor(5).fit(trials[:1])
    with pytest.raises(RuntimeError, match="not fitted"):
        StudyPredictor(5).predict(trials)
    assert StudyPredictor(5).fit(trials).cv_residuals_.shape == (4,)
    with pytest.raises(ValueError, match="step=-1"):
        StudyPredictor(-1)
    with pytest.raises(ValueError, match="model='svm'"):
        StudyPredictor(1, model="svm")


def test_naap440_prior_with_extra_features(naap440_v2: pd.DataFrame) -> None:
    """A prior fitted with extra features gets them from the trial (it used to be left out,
    the fit raised and the pruner stayed on the prior for ever)."""
    frame = attach_schemes(naap440_v2)
    frame = frame.assign(Epsilon=np.linspace(0.0, 1.0, len(frame)))  # any extra feature
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    prior = NAAPPredictor(
        3,
        iterations=80,
        learning_rate=0.2,
        n_models=1,
        thread_count=2,
        extra_features=("Epsilon",),
    ).fit(train)
    pruner = NAAPPruner(learn=StudyLearner(prior=prior, time_share=None, min_trials=10))

    def replay(trial: optuna.trial.Trial) -> float:
        row = test.iloc[trial.number]
        record_scheme(trial, json.loads(row["Scheme"]))
        trial.set_user_attr("Epsilon", float(row["Epsilon"]))
        for epoch in range(1, 21):
            report_epoch(
                trial,
                epoch,
                accuracy=float(row[f"e{epoch}Accuracy"]),
                loss_mean=float(row[f"e{epoch}LossMean"]),
                loss_median=float(row[f"e{epoch}LossMedian"]),
            )
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(row["MaxAccuracy"])

    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(replay, n_trials=40)
    models = pruner.learner.models(study)  # type: ignore[union-attr]
    assert models and all(m.uses_prior_ for m in models.values())
    late = [m for step, m in models.items() if step >= 3]
    assert late
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    rows = late[0]._rows(complete[-1:])
    assert np.isfinite(rows[0][-1])  # the prior's prediction, extra feature included
    used = [
        t.user_attrs[DECISION_ATTR]["predictor"]
        for t in study.trials
        if DECISION_ATTR in t.user_attrs
    ]
    assert any(str(u).startswith("study + prior (") for u in used)


def test_minimize_without_learning_keeps_everything_and_warns(naap440_v2: pd.DataFrame) -> None:
    frame = attach_schemes(naap440_v2)
    predictor = NAAPPredictor(3, iterations=50, learning_rate=0.2, n_models=1, thread_count=2).fit(
        frame[frame.IsTest == 0]
    )
    study = optuna.create_study(
        direction="minimize", pruner=NAAPPruner(SchemeRule(predictor, top_k=1), learn=False)
    )
    with pytest.warns(UserWarning, match="leave learn=True"):
        study.optimize(learning_curves("minimize"), n_trials=3)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_minimize_with_a_naap_predictor_learns_from_the_study(naap440_v2: pd.DataFrame) -> None:
    frame = attach_schemes(naap440_v2)
    predictor = NAAPPredictor(3, iterations=50, learning_rate=0.2, n_models=1, thread_count=2).fit(
        frame[frame.IsTest == 0]
    )
    pruner = NAAPPruner(SchemeRule(predictor), learn=StudyLearner(time_share=None))
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.RandomSampler(seed=1), pruner=pruner
    )
    study.optimize(learning_curves("minimize"), n_trials=40)
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
