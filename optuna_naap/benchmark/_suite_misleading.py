"""Objectives of the suite whose early values mislead: a pruner that trusts its first steps
loses their best trials. Each comes with the warm-up its author would tune (``tuned``).

* ``xgboost-auc``: Optuna's XGBoost example as written there: 10 boosting rounds, the
  validation AUC reported each round, the accuracy returned.
* ``warmup-dip``: a learning-rate warm-up: the trials that end best dip deepest first.
* ``crossing-curves``: fast starters plateau low, slow starters end high.

The two synthetic ones are deterministic given the trial's number and parameters, and take
milliseconds, so they test the pruning logic on many trials cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna

# The suite's Objective; spelled out since the suite's table imports this module.
Objective = Callable[[optuna.trial.Trial], float]

__all__ = ["crossing_curves", "warmup_dip", "xgboost_auc"]


def xgboost_auc() -> Objective:
    """Optuna's XGBoost example (xgboost_integration.py): 10 rounds, XGBoostPruningCallback on
    the validation AUC, the accuracy of the rounded predictions returned; its author's pruner is
    MedianPruner(n_warmup_steps=5)."""
    import xgboost as xgb
    from optuna_integration import XGBoostPruningCallback
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data, target = load_breast_cancer(return_X_y=True)
    # The example splits anew in every trial; one seeded split keeps the studies comparable.
    train_x, valid_x, train_y, valid_y = train_test_split(
        data, target, test_size=0.25, random_state=0
    )
    dtrain = xgb.DMatrix(train_x, label=train_y)
    dvalid = xgb.DMatrix(valid_x, label=valid_y)

    def objective(trial: optuna.trial.Trial) -> float:
        param: dict[str, Any] = {
            "verbosity": 0,
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "nthread": 1,
            "seed": trial.number,
            "booster": trial.suggest_categorical("booster", ["gbtree", "gblinear", "dart"]),
            "lambda": trial.suggest_float("lambda", 1e-8, 1.0, log=True),
            "alpha": trial.suggest_float("alpha", 1e-8, 1.0, log=True),
        }
        if param["booster"] in ("gbtree", "dart"):
            param["max_depth"] = trial.suggest_int("max_depth", 1, 9)
            param["eta"] = trial.suggest_float("eta", 1e-8, 1.0, log=True)
            param["gamma"] = trial.suggest_float("gamma", 1e-8, 1.0, log=True)
            param["grow_policy"] = trial.suggest_categorical(
                "grow_policy", ["depthwise", "lossguide"]
            )
        if param["booster"] == "dart":
            param["sample_type"] = trial.suggest_categorical(
                "sample_type", ["uniform", "weighted"]
            )
            param["normalize_type"] = trial.suggest_categorical(
                "normalize_type", ["tree", "forest"]
            )
            param["rate_drop"] = trial.suggest_float("rate_drop", 1e-8, 1.0, log=True)
            param["skip_drop"] = trial.suggest_float("skip_drop", 1e-8, 1.0, log=True)
        callback = XGBoostPruningCallback(trial, "validation-auc")
        booster = xgb.train(
            param,
            dtrain,
            evals=[(dvalid, "validation")],
            callbacks=[callback],
            verbose_eval=False,  # the example prints each round; the suite prints tables
        )
        predicted = np.rint(booster.predict(dvalid))
        return float(np.mean(predicted == valid_y))

    return objective


def warmup_dip() -> Objective:
    """Accuracy under a learning-rate warm-up: the larger the learning rate, the better the
    final and the deeper the dip over the first 8 of 30 epochs; reported every epoch from 0.
    Its author's pruner waits out the warm-up: MedianPruner(n_warmup_steps=10)."""

    def objective(trial: optuna.trial.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        width = trial.suggest_categorical("width", [16, 32, 64, 128])
        rng = np.random.default_rng(trial.number)
        boost = (math.log10(lr) + 3) / 3  # 0 at lr=1e-3, 1 at lr=1
        final = 0.6 + 0.3 * boost - 0.05 * abs(math.log2(width) - 6) + 0.01 * rng.standard_normal()
        value = 0.0
        for epoch in range(30):
            rise = final * (1 - math.exp(-(epoch + 1) / 4))
            dip = 0.5 * boost * math.sin(math.pi * epoch / 8) if epoch < 8 else 0.0
            value = max(0.0, rise - dip) + 0.01 * rng.standard_normal()
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    return objective


def crossing_curves() -> Objective:
    """Learning curves that cross: the capacity that ends best learns slowest (a time constant
    of 2 to 14 of 40 steps), so early values rank the finals backwards. Its author's pruner
    waits half of training: MedianPruner(n_warmup_steps=20)."""

    def objective(trial: optuna.trial.Trial) -> float:
        capacity = trial.suggest_float("capacity", 0.0, 1.0)
        decay = trial.suggest_float("decay", 1e-4, 1e-1, log=True)
        rng = np.random.default_rng(trial.number)
        final = 0.5 + 0.4 * capacity - 0.1 * abs(math.log10(decay) + 2.5)
        tau = 2 + 12 * capacity
        value = 0.0
        for step in range(40):
            value = final * (1 - math.exp(-(step + 1) / tau)) + 0.005 * rng.standard_normal()
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    return objective
