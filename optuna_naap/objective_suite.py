"""A benchmark of pruners on real objectives that run offline: NAAPPruner on your own objective.

Each objective is written the way Optuna's own pruning examples are (their reporting loops,
integration callbacks, intervals, categorical and conditional parameters), on scikit-learn's
bundled datasets, so the suite runs without a network. Every (objective, pruner, seed) is one
study of ``n_trials`` TPE trials; the figures are the steps run, the best value, the wall time
and the time spent inside the pruner.

``optuna-naap benchmark --suite objectives`` runs it; ``docs/own_objective.md`` has the table.
Objectives whose library is missing (LightGBM, XGBoost and optuna-integration are the extra
``bench``) are skipped with a note.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.trial import TrialState

__all__ = [
    "OBJECTIVES",
    "SuiteObjective",
    "SuiteResult",
    "plot_suite",
    "run_one",
    "run_suite",
    "suite_pruners",
    "summarize_suite",
    "totals",
]

Objective = Callable[[optuna.trial.Trial], float]


@dataclass(frozen=True)
class SuiteObjective:
    """One objective of the suite: how to build it, its direction and the libraries it needs.

    Attributes:
        name: The objective's name (``--objectives``).
        direction: The study's direction.
        make: Builds the objective (a callable of an Optuna trial).
        needs: Modules it imports (skipped, with a note, when one is missing).
        about: One line on what it trains and how it reports.
    """

    name: str
    direction: Literal["minimize", "maximize"]
    make: Callable[[], Objective]
    needs: tuple[str, ...] = ()
    about: str = ""

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
        with warnings.catch_warnings():  # experimental in optuna-integration; known here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
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
            ("lightgbm", "optuna_integration"),
            _lightgbm_breast.__doc__ or "",
        ),
        SuiteObjective(
            "xgboost-breast",
            "minimize",
            _xgboost_breast,
            ("xgboost", "optuna_integration"),
            _xgboost_breast.__doc__ or "",
        ),
        SuiteObjective(
            "catboost-breast",
            "maximize",
            _catboost_breast,
            ("catboost", "optuna_integration"),
            _catboost_breast.__doc__ or "",
        ),
        SuiteObjective(
            "noisy-minimize", "minimize", _noisy_minimize, about=_noisy_minimize.__doc__ or ""
        ),
    )
}


def _quietly(cls: Callable[..., BasePruner], *args: Any, **kwargs: Any) -> BasePruner:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(*args, **kwargs)


def suite_pruners() -> dict[str, Callable[[], BasePruner]]:
    """The pruners the suite compares, each with Optuna's defaults, by name."""
    from optuna import pruners as p

    from optuna_naap._pruner import NAAPPruner

    return {
        "nop": p.NopPruner,
        "median": p.MedianPruner,
        "percentile25": lambda: p.PercentilePruner(25.0),
        "percentile75": lambda: p.PercentilePruner(75.0),
        "successive-halving": p.SuccessiveHalvingPruner,
        "hyperband": p.HyperbandPruner,
        "wilcoxon": lambda: _quietly(p.WilcoxonPruner),
        "patient-median": lambda: _quietly(p.PatientPruner, p.MedianPruner(), patience=3),
        "naap": NAAPPruner,
    }


@dataclass
class SuiteResult:
    """One study of the suite.

    Attributes:
        objective: The objective's name.
        pruner: The pruner's name.
        seed: The TPE sampler's seed.
        direction: The study's direction.
        n_trials: Trials run.
        steps: Intermediate values reported over all trials.
        best: The study's best value.
        wall_s: Wall time of the study, in seconds.
        pruner_s: Time spent in the pruner, in seconds.
        pruned: Trials pruned.
        decided: Trials with a NAAPPruner decision recorded.
        failed: Trials that failed.
    """

    objective: str
    pruner: str
    seed: int
    direction: str
    n_trials: int
    steps: int
    best: float
    wall_s: float
    pruner_s: float
    pruned: int
    decided: int
    failed: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_one(
    objective: SuiteObjective,
    pruner_name: str,
    seed: int,
    *,
    n_trials: int,
    make_objective: Objective | None = None,
) -> SuiteResult:
    """Run one study of ``objective`` under the pruner named ``pruner_name`` (see
    :func:`suite_pruners`) with a TPE sampler seeded with ``seed``, for ``n_trials`` trials
    (``make_objective``: an objective built already, instead of ``objective.make()``)."""
    from optuna_naap._record import DECISION_ATTR

    pruner = suite_pruners()[pruner_name]()
    spent = [0.0]
    prune = pruner.prune

    def timed(study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        started = time.perf_counter()
        try:
            return prune(study, trial)
        finally:
            spent[0] += time.perf_counter() - started

    # On the instance, so that isinstance checks (TPE and HyperbandPruner) still hold.
    pruner.prune = timed  # type: ignore[method-assign]
    study = optuna.create_study(
        direction=objective.direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner,
        study_name=f"{objective.name}-{pruner_name}-{seed}",
    )
    run = make_objective or objective.make()
    started = time.perf_counter()
    study.optimize(run, n_trials=n_trials, catch=(Exception,))
    wall = time.perf_counter() - started
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    return SuiteResult(
        objective=objective.name,
        pruner=pruner_name,
        seed=seed,
        direction=objective.direction,
        n_trials=len(trials),
        steps=sum(len(t.intermediate_values) for t in trials),
        best=study.best_value if complete else math.nan,
        wall_s=wall,
        pruner_s=spent[0],
        pruned=sum(t.state == TrialState.PRUNED for t in trials),
        decided=sum(
            isinstance(t.user_attrs.get(DECISION_ATTR), dict)
            and t.user_attrs[DECISION_ATTR].get("predictor") is not None
            for t in trials
        ),
        failed=sum(t.state == TrialState.FAIL for t in trials),
    )


def run_suite(
    *,
    objectives: Sequence[str] | None = None,
    pruners: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    n_trials: int = 50,
    progress: bool = False,
) -> tuple[list[SuiteResult], list[str]]:
    """Run every (objective, pruner, seed) of ``objectives``, ``pruners`` (names; default all)
    and ``seeds``, ``n_trials`` trials each (``progress``: a rich progress bar); return the
    results and notes on skipped objectives. ``nop`` (no pruning) always runs: it is the
    reference of every shortfall.

    Raises:
        ValueError: for an unknown objective or pruner name.
    """
    known = suite_pruners()
    names = list(pruners) if pruners else list(known)
    chosen = list(objectives) if objectives else list(OBJECTIVES)
    for name in chosen:
        if name not in OBJECTIVES:
            raise ValueError(f"unknown objective {name!r}; choose among {', '.join(OBJECTIVES)}")
    for name in names:
        if name not in known:
            raise ValueError(f"unknown pruner {name!r}; choose among {', '.join(known)}")
    notes = []
    if "nop" not in names:
        names.insert(0, "nop")
        notes.append("nop: run as the reference of the shortfall column (no pruning)")
    runnable = []
    for name in chosen:
        missing = OBJECTIVES[name].missing()
        if missing:
            notes.append(
                f"{name}: skipped, needs {', '.join(missing)} (pip install 'optuna-naap[bench]')"
            )
        else:
            runnable.append(OBJECTIVES[name])
    jobs = [(o, p, s) for o in runnable for s in seeds for p in names]
    results: list[SuiteResult] = []
    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("objectives suite", total=len(jobs))
        made: dict[str, Objective] = {}
        for objective, pruner, seed in jobs:
            bar.update(task, description=f"{objective.name} / {pruner} / seed {seed}")
            if objective.name not in made:  # load each dataset once
                made = {objective.name: objective.make()}
            results.append(
                run_one(
                    objective, pruner, seed, n_trials=n_trials, make_objective=made[objective.name]
                )
            )
            bar.advance(task)
    return results, notes


def summarize_suite(results: Sequence[SuiteResult]) -> list[dict[str, Any]]:
    """Per objective and pruner of ``results``: seed means of steps, best value, wall and
    pruner time, and
    the best value's shortfall against NopPruner's (in the objective's direction, relative)."""
    groups: dict[tuple[str, str], list[SuiteResult]] = {}
    for r in results:
        groups.setdefault((r.objective, r.pruner), []).append(r)
    rows = []
    for (objective, pruner), group in groups.items():
        nop = groups.get((objective, "nop"))
        sign = 1.0 if group[0].direction == "maximize" else -1.0
        best = float(np.mean([r.best for r in group]))
        reference = float(np.mean([r.best for r in nop])) if nop else math.nan
        rows.append(
            {
                "objective": objective,
                "pruner": pruner,
                "seeds": len(group),
                "steps": float(np.mean([r.steps for r in group])),
                "best": best,
                "shortfall": sign * (reference - best) / abs(reference) if nop else math.nan,
                "wall_s": float(np.mean([r.wall_s for r in group])),
                "pruner_s": float(np.mean([r.pruner_s for r in group])),
                "pruner_share": float(np.mean([r.pruner_s / r.wall_s for r in group])),
                "pruned": float(np.mean([r.pruned for r in group])),
                "decided": float(np.mean([r.decided for r in group])),
                "failed": sum(r.failed for r in group),
            }
        )
    return rows


def totals(summary: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per pruner over the suite's ``summary`` (:func:`summarize_suite`): summed steps and
    wall time, worst shortfall."""
    out: dict[str, dict[str, Any]] = {}
    for row in summary:
        t = out.setdefault(
            row["pruner"], {"pruner": row["pruner"], "steps": 0.0, "wall_s": 0.0, "worst": 0.0}
        )
        t["steps"] += row["steps"]
        t["wall_s"] += row["wall_s"]
        t["worst"] = max(t["worst"], row["shortfall"])
    return list(out.values())


def plot_suite(summary: Sequence[Mapping[str, Any]], path: str) -> None:
    """Write a PNG to ``path``: one panel per objective of ``summary``
    (:func:`summarize_suite`), steps run (share of NopPruner's) against the best value's
    shortfall; the pruners on the lower left are the ones to want."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(dict.fromkeys(r["objective"] for r in summary))
    columns = min(4, len(objectives))
    rows = math.ceil(len(objectives) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3.4 * rows), squeeze=False, constrained_layout=True
    )
    for ax, objective in zip(axes.ravel(), objectives, strict=False):
        mine = [r for r in summary if r["objective"] == objective]
        nop = next((r["steps"] for r in mine if r["pruner"] == "nop"), None) or 1.0
        for r in mine:
            x, y = 100 * r["steps"] / nop, 100 * r["shortfall"]
            ax.scatter(x, y, color="C3" if r["pruner"] == "naap" else "C0", zorder=3)
            ax.annotate(r["pruner"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_title(objective)
        ax.set_xlabel("steps run, % of no pruning")
        ax.set_ylabel("best value shortfall, %")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(objectives) :]:
        ax.axis("off")
    fig.savefig(path, dpi=110)
    plt.close(fig)
