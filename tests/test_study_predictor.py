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
    StudyPredictor,
    attach_schemes,
    record_scheme,
    report_epoch,
)

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


def test_fit_and_predict_with_categorical_and_missing_params() -> None:
    trials = finished("maximize", 60)
    fit, held = trials[:45], trials[45:]
    predictor = StudyPredictor(5).fit(fit)
    assert predictor.categorical_params_ == ["optimizer"]
    assert predictor.numeric_params_ == ["lr", "momentum"]
    assert predictor.steps_ == [1, 2, 3, 4, 5]
    assert predictor.cv_residuals_.shape == (45,)
    predicted = predictor.predict(held)
    truth = np.array([t.value for t in held])
    # Much better than predicting the mean of the fit trials.
    baseline = np.abs(truth - np.mean([t.value for t in fit])).mean()
    assert np.abs(truth - predicted).mean() < 0.5 * baseline


def test_too_few_trials_and_unfitted() -> None:
    trials = finished("maximize", 3)
    with pytest.raises(ValueError, match="at least 2 completed trials .* but got 1"):
        StudyPredictor(5).fit(trials[:1])
    with pytest.raises(RuntimeError, match="not fitted"):
        StudyPredictor(5).predict(trials)
    assert StudyPredictor(5).fit(trials).cv_residuals_.shape == (0,)  # too few for CV
    with pytest.raises(ValueError, match="step=-1"):
        StudyPredictor(-1)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_learns_from_the_study_on_a_non_naap_objective(direction: str) -> None:
    def run(pruner: optuna.pruners.BasePruner) -> optuna.study.Study:
        study = optuna.create_study(
            direction=direction, sampler=optuna.samplers.RandomSampler(seed=1), pruner=pruner
        )
        study.optimize(learning_curves(direction), n_trials=80)
        return study

    full = run(optuna.pruners.NopPruner())
    pruner = NAAPPruner(learn_steps=[5], max_epochs=STEPS, top_k=5, min_trials=10)
    assert pruner.decision_epochs == [5]
    study = run(pruner)
    decisions = [t.user_attrs[DECISION_ATTR] for t in study.trials]
    # It learns first, then decides with the model it refits as trials complete.
    assert all(d["reason"].startswith("learning from the study") for d in decisions[:10])
    used = [d["predictor"] for d in decisions if d["predictor"]]
    assert used and all(u.startswith("study (") for u in used)
    assert len(set(used)) > 1  # refit as more trials completed
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(pruned) > 30 and all(t.last_step == 5 for t in pruned)
    # Same params in both runs (random sampler, same seed): the best trial survived.
    assert study.best_value == full.best_value
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    assert epochs < 0.65 * 80 * STEPS
    # What it pruned would have ended worse, on average, than what it kept.
    sign = 1 if direction == "maximize" else -1
    final = {t.number: sign * t.value for t in full.trials}
    pruned_numbers = {t.number for t in pruned}
    kept = [final[n] for n in range(10, 80) if n not in pruned_numbers]
    assert np.mean([final[n] for n in pruned_numbers]) < np.mean(kept) - 0.05


def test_minimize_without_learning_keeps_everything_and_warns(naap440_v2: pd.DataFrame) -> None:
    frame = attach_schemes(naap440_v2)
    predictor = NAAPPredictor(3, iterations=50, learning_rate=0.2, n_models=1, thread_count=2).fit(
        frame[frame.IsTest == 0]
    )
    study = optuna.create_study(direction="minimize", pruner=NAAPPruner(predictor, top_k=1))
    with pytest.warns(UserWarning, match="use learn_steps"):
        study.optimize(learning_curves("minimize"), n_trials=3)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_naap440_predictor_as_prior(naap440_v2: pd.DataFrame) -> None:
    frame = attach_schemes(naap440_v2)
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    prior = NAAPPredictor(3, iterations=80, learning_rate=0.2, n_models=1, thread_count=2)
    prior.fit(train)
    pruner = NAAPPruner(prior, learn_steps=[3], top_k=5, min_trials=12, refit_every=100)

    def replay(trial: optuna.trial.Trial) -> float:
        row = test.iloc[trial.number]
        record_scheme(trial, json.loads(row["Scheme"]))
        for epoch in range(1, 11):
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
    sources = [t.user_attrs[DECISION_ATTR]["predictor"] for t in study.trials]
    # NAAP-440's predictor until the study has learnt, then the study's own model.
    assert sources[0] == "naap440" and sources[-1].startswith("study (")
    learnt = pruner._study_models[(study._study_id, 3)][1]
    assert learnt.uses_prior_
    # The prior's prediction is a feature of the learnt model.
    table = learnt._table([study.trials[-1]])
    assert "prior" in table.columns and np.isfinite(table["prior"]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "a fitted predictor, or learn_steps"),
        ({"learn_steps": [0]}, "learn_steps must lie between 1 and max_epochs - 1 = 89"),
        ({"learn_steps": [5], "min_trials": 1}, "min_trials=1"),
        ({"learn_steps": [5], "refit_every": 0}, "refit_every=0"),
    ],
)
def test_invalid_learning_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NAAPPruner(**kwargs)  # type: ignore[arg-type]
