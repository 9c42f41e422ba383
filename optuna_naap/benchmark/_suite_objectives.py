"""The objectives of the suite of real objectives: Optuna's own pruning examples (their
objectives unchanged, data offline), each a SuiteObjective."""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import optuna

from optuna_naap._optuna import quiet_experimental
from optuna_naap.benchmark._suite_misleading import crossing_curves, warmup_dip, xgboost_auc

Objective = Callable[[optuna.trial.Trial], float]

__all__ = ["OBJECTIVES", "Objective", "SuiteObjective"]


@dataclass(frozen=True)
class SuiteObjective:
    """One objective of the suite: how to build it, its direction and the libraries it needs.

    Attributes:
        name: The objective's name (``--objectives``).
        direction: The study's direction.
        make: Builds the objective (a callable of an Optuna trial).
        needs: Modules it imports (skipped, with a note, when one is missing).
        about: One line on what it trains and how it reports.
        warmup: The ``n_warmup_steps`` of the MedianPruner its author tuned for it (the
            suite's ``tuned`` pruner; 0: Optuna's defaults, as the example uses them).
    """

    name: str
    direction: Literal["minimize", "maximize"]
    make: Callable[[], Objective]
    needs: tuple[str, ...] = ()
    about: str = ""
    warmup: int = 0

    def tuned(self) -> optuna.pruners.BasePruner:
        """The pruner its author would tune: ``MedianPruner(n_warmup_steps=warmup)``."""
        return optuna.pruners.MedianPruner(n_warmup_steps=self.warmup)

    def missing(self) -> list[str]:
        """The modules this objective needs that are not installed."""
        return [m for m in self.needs if not _installed(m)]


def _installed(module: str) -> bool:
    if module in sys.modules:  # some lazy modules (optuna_integration) have no __spec__
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _split(loader: Callable[..., Any]) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = loader(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_valid), y_train, y_valid


def _sgd_digits() -> Objective:
    """Optuna's simple pruning example (SGDClassifier.partial_fit), on digits, steps from 0."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier

    x_train, x_valid, y_train, y_valid = _split(load_digits)
    classes = np.unique(y_train)

    def objective(trial: optuna.trial.Trial) -> float:
        alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        loss = trial.suggest_categorical("loss", ["hinge", "log_loss", "modified_huber"])
        penalty = trial.suggest_categorical("penalty", ["l2", "l1", "elasticnet", None])
        schedule = trial.suggest_categorical("learning_rate", ["optimal", "adaptive", "constant"])
        eta0 = 0.01  # unused by the 'optimal' schedule, but must be > 0
        if schedule != "optimal":
            eta0 = trial.suggest_float("eta0", 1e-5, 1e-1, log=True)  # conditional
        clf = SGDClassifier(
            alpha=alpha,
            loss=loss,
            penalty=penalty,
            learning_rate=schedule,
            eta0=eta0,
            random_state=trial.number,
        )
        accuracy = 0.0
        for step in range(30):
            clf.partial_fit(x_train, y_train, classes=classes)
            accuracy = float(clf.score(x_valid, y_valid))
            trial.report(accuracy, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    return objective


def _mlp_digits() -> Objective:
    """scikit-learn's MLPClassifier.partial_fit on digits, epochs from 1, best value returned."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, x_valid, y_train, y_valid = _split(load_digits)
    classes = np.unique(y_train)

    def objective(trial: optuna.trial.Trial) -> float:
        width = trial.suggest_categorical("width", [4, 8, 16, 32, 64])
        lr = trial.suggest_float("learning_rate_init", 1e-5, 1e-1, log=True)
        alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        model = MLPClassifier(
            hidden_layer_sizes=(width,),
            learning_rate_init=lr,
            alpha=alpha,
            batch_size=128,
            random_state=trial.number,
        )
        best = 0.0
        for epoch in range(1, 21):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(x_train, y_train, classes=classes)
            best = max(best, float(model.score(x_valid, y_valid)))
            trial.report(best, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return best

    return objective


def _torch_digits() -> Objective:
    """Optuna's PyTorch simple example, shrunk to digits: layers, units, dropout, optimizer."""
    import torch
    from sklearn.datasets import load_digits

    torch.set_num_threads(1)  # steady timings on a shared machine; the net is tiny
    x_train, x_valid, y_train, y_valid = _split(load_digits)
    xt, xv = (torch.tensor(a, dtype=torch.float32) for a in (x_train, x_valid))
    yt, yv = (torch.tensor(a, dtype=torch.long) for a in (y_train, y_valid))

    def objective(trial: optuna.trial.Trial) -> float:
        torch.manual_seed(trial.number)
        n_layers = trial.suggest_int("n_layers", 1, 3)
        layers: list[torch.nn.Module] = []
        width = xt.shape[1]
        for i in range(n_layers):
            units = trial.suggest_int(f"n_units_l{i}", 4, 128, log=True)
            dropout = trial.suggest_float(f"dropout_l{i}", 0.0, 0.5)
            layers += [torch.nn.Linear(width, units), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
            width = units
        model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
        name = trial.suggest_categorical("optimizer", ["Adam", "RMSprop", "SGD"])
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        optimizer = getattr(torch.optim, name)(model.parameters(), lr=lr)
        accuracy = 0.0
        for epoch in range(15):
            model.train()
            for batch in torch.randperm(len(xt)).split(64):
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = float((model(xv).argmax(1) == yv).float().mean())
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    return objective


def _lightgbm_breast() -> Objective:
    """Optuna's LightGBM example: LightGBMPruningCallback every 5th round (steps 4, 9, ...)."""
    import lightgbm as lgb
    from optuna_integration import LightGBMPruningCallback
    from sklearn.datasets import load_breast_cancer

    x_train, x_valid, y_train, y_valid = _split(load_breast_cancer)

    def objective(trial: optuna.trial.Trial) -> float:
        params = {
            "objective": "binary",
            "metric": "binary_logloss",
            "verbosity": -1,
            "num_threads": 1,
            "seed": trial.number,
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
            "lambda_l1": trial.suggest_float("lambda_l1", 1e-8, 10.0, log=True),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 2, 256),
            "max_depth": trial.suggest_categorical("max_depth", [-1, 2, 4, 8]),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100),
        }
        train = lgb.Dataset(x_train, y_train)
        valid = lgb.Dataset(x_valid, y_valid, reference=train)
        callback = LightGBMPruningCallback(trial, "binary_logloss", report_interval=5)
        booster = lgb.train(params, train, 100, valid_sets=[valid], callbacks=[callback])
        return float(booster.best_score["valid_0"]["binary_logloss"])

    return objective


def _xgboost_breast() -> Objective:
    """Optuna's XGBoost example: XGBoostPruningCallback, max_depth a categorical with None."""
    import xgboost as xgb
    from optuna_integration import XGBoostPruningCallback
    from sklearn.datasets import load_breast_cancer

    x_train, x_valid, y_train, y_valid = _split(load_breast_cancer)
    dtrain, dvalid = xgb.DMatrix(x_train, y_train), xgb.DMatrix(x_valid, y_valid)

    def objective(trial: optuna.trial.Trial) -> float:
        params = {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "nthread": 1,
            "seed": trial.number,
            "booster": trial.suggest_categorical("booster", ["gbtree", "gblinear"]),
            "lambda": trial.suggest_float("lambda", 1e-8, 1.0, log=True),
            "alpha": trial.suggest_float("alpha", 1e-8, 1.0, log=True),
            "eta": trial.suggest_float("eta", 1e-3, 0.5, log=True),
        }
        if params["booster"] == "gbtree":
            params["max_depth"] = trial.suggest_categorical("max_depth", [None, 2, 4, 6, 8])
            params["subsample"] = trial.suggest_float("subsample", 0.4, 1.0)
        callback = XGBoostPruningCallback(trial, "validation-logloss")
        history: dict[str, Any] = {}
        xgb.train(
            params,
            dtrain,
            100,
            evals=[(dvalid, "validation")],
            evals_result=history,
            callbacks=[callback],
            verbose_eval=False,
        )
        return float(history["validation"]["logloss"][-1])

    return objective


def _catboost_breast() -> Objective:
    """Optuna's CatBoost example: CatBoostPruningCallback, conditional bootstrap params."""
    from catboost import CatBoostClassifier
    from optuna_integration import CatBoostPruningCallback
    from sklearn.datasets import load_breast_cancer

    x_train, x_valid, y_train, y_valid = _split(load_breast_cancer)

    def objective(trial: optuna.trial.Trial) -> float:
        params: dict[str, Any] = {
            "depth": trial.suggest_int("depth", 1, 8),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
            "bootstrap_type": trial.suggest_categorical(
                "bootstrap_type", ["Bayesian", "Bernoulli", "MVS"]
            ),
            "eval_metric": "Accuracy",
        }
        if params["bootstrap_type"] == "Bayesian":
            params["bagging_temperature"] = trial.suggest_float("bagging_temperature", 0, 10)
        elif params["bootstrap_type"] == "Bernoulli":
            params["subsample"] = trial.suggest_float("subsample", 0.1, 1)
        model = CatBoostClassifier(
            **params, iterations=60, thread_count=1, random_seed=trial.number, verbose=0
        )
        with quiet_experimental():  # experimental in optuna-integration; known here
            callback = CatBoostPruningCallback(trial, "Accuracy")
        model.fit(x_train, y_train, eval_set=[(x_valid, y_valid)], callbacks=[callback])
        callback.check_pruned()
        return float(model.score(x_valid, y_valid))

    return objective


def _noisy_minimize() -> Objective:
    """A synthetic minimize objective with noisy curves whose steps arrive out of order (an
    asynchronous evaluator), and a categorical of mixed types."""

    def objective(trial: optuna.trial.Trial) -> float:
        x = trial.suggest_float("x", -2.0, 2.0)
        width = trial.suggest_int("width", 1, 64, log=True)
        kind = trial.suggest_categorical("kind", [None, "a", "b", 3])
        rng = np.random.default_rng(trial.number)
        final = 0.1 + (x - 0.5) ** 2 + 0.3 / width + (0.2 if kind is None else 0.0)
        start = final + 1.0 + rng.random()
        speed = 5 + 10 * rng.random()
        order = np.arange(40).reshape(10, 4)
        rng.permuted(order, axis=1, out=order)  # each block of 4 steps in a random order
        value = start
        for step in order.ravel():
            value = final + (start - final) * math.exp(-step / speed)
            value += 0.05 * rng.standard_normal()
            trial.report(value, int(step))
            if trial.should_prune():
                raise optuna.TrialPruned()
        return final + 0.05 * rng.standard_normal()

    return objective


_GBM = ("optuna_integration",)

#: The suite. ``warmup``: the examples' own pruners where Optuna's examples tune one
#: (LightGBM: n_warmup_steps=10; XGBoost, CatBoost: 5), by construction for the synthetic ones
#: (past the noise, the dip, the crossing), Optuna's defaults otherwise.
OBJECTIVES: dict[str, SuiteObjective] = {
    o.name: o
    for o in (
        SuiteObjective("sgd-digits", "maximize", _sgd_digits, about=_sgd_digits.__doc__ or ""),
        SuiteObjective("mlp-digits", "maximize", _mlp_digits, about=_mlp_digits.__doc__ or ""),
        SuiteObjective(
            "torch-digits", "maximize", _torch_digits, ("torch",), _torch_digits.__doc__ or ""
        ),
        SuiteObjective(
            "lightgbm-breast",
            "minimize",
            _lightgbm_breast,
            ("lightgbm", *_GBM),
            _lightgbm_breast.__doc__ or "",
            warmup=10,
        ),
        SuiteObjective(
            "xgboost-breast",
            "minimize",
            _xgboost_breast,
            ("xgboost", *_GBM),
            _xgboost_breast.__doc__ or "",
            warmup=5,
        ),
        SuiteObjective(
            "xgboost-auc",
            "maximize",
            xgboost_auc,
            ("xgboost", *_GBM),
            xgboost_auc.__doc__ or "",
            warmup=5,
        ),
        SuiteObjective(
            "catboost-breast",
            "maximize",
            _catboost_breast,
            ("catboost", *_GBM),
            _catboost_breast.__doc__ or "",
            warmup=5,
        ),
        SuiteObjective(
            "noisy-minimize",
            "minimize",
            _noisy_minimize,
            about=_noisy_minimize.__doc__ or "",
            warmup=20,
        ),
        SuiteObjective(
            "warmup-dip", "maximize", warmup_dip, about=warmup_dip.__doc__ or "", warmup=10
        ),
        SuiteObjective(
            "crossing-curves",
            "maximize",
            crossing_curves,
            about=crossing_curves.__doc__ or "",
            warmup=20,
        ),
    )
}
