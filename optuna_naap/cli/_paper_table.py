"""The NAAP paper's evaluation: official split, median over seeds, violations of 780 pairs."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from optuna_naap._features import SCHEME_COLUMNS, available_epochs, curve_columns
from optuna_naap._metrics import RankingScores, ranking_scores

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PAPER_SEEDS", "EvaluationRow", "evaluate", "naap_predictors", "paper_regressors"]

#: The seeds of the paper's ``run_experiments.py``.
PAPER_SEEDS = tuple(20220905 + i for i in range(5))


class _PolynomialActivationRegression:
    """The paper's "Linear Regression D=d": a linear fit of ``y ** (1/d) - 1``."""

    def __init__(self, degree: float) -> None:
        from sklearn.linear_model import LinearRegression

        self.degree = degree
        self.linear = LinearRegression()

    def fit(self, x: np.ndarray, y: np.ndarray) -> _PolynomialActivationRegression:
        self.linear.fit(x, y ** (1.0 / self.degree) - 1)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray((self.linear.predict(x) + 1) ** self.degree)


def paper_regressors() -> dict[str, Callable[[], Any]]:
    """The 24 scikit-learn regressors of the NAAP paper's baseline table, by their table names."""
    from sklearn import ensemble, linear_model, svm, tree
    from sklearn.neighbors import KNeighborsRegressor

    models: dict[str, Callable[[], Any]] = {}
    for k in (1, 3, 5, 7, 9):
        models[f"{k}-NN"] = partial(KNeighborsRegressor, n_neighbors=k, algorithm="brute")
    models["Linear Regression"] = linear_model.LinearRegression
    models["Linear Regression D=0.5"] = partial(_PolynomialActivationRegression, 0.5)
    models["Linear Regression D=0.25"] = partial(_PolynomialActivationRegression, 0.25)
    models["Decision Tree"] = tree.DecisionTreeRegressor
    for n in (25, 50, 100, 200):
        models[f"Gradient Boosting (N={n})"] = partial(
            ensemble.GradientBoostingRegressor, n_estimators=n
        )
    for n in (25, 50, 100, 200):
        models[f"AdaBoost (N={n})"] = partial(ensemble.AdaBoostRegressor, n_estimators=n)
    for kernel, label in (("rbf", "RBF"), ("poly", "Polynomial"), ("linear", "Linear")):
        models[f"SVR ({label} kernel)"] = partial(svm.SVR, kernel=kernel, epsilon=0.001, C=1e-1)
    for n in (25, 50, 100, 200):
        models[f"Random Forest (N={n})"] = partial(ensemble.RandomForestRegressor, n_estimators=n)
    return models


@dataclass(frozen=True)
class EvaluationRow:
    """One model at one number of epochs: the seed run with the median violations."""

    model: str
    epochs: int
    scores: RankingScores

    def to_dict(self) -> dict[str, Any]:
        """The row as flat JSON: model, epochs and every metric of :class:`RankingScores`."""
        return {"model": self.model, "epochs": self.epochs, **asdict(self.scores)}


def _paper_features(frame: pd.DataFrame, epochs: int) -> np.ndarray:
    # The paper's feature sets: NumParams + NumStages at 0 epochs, else all six scheme columns
    # and the raw curves; NumParams and NumMACs on a log scale.
    columns = (
        ["NumParams", "NumStages"] if epochs == 0 else [*SCHEME_COLUMNS, *curve_columns(epochs)]
    )
    values = frame[columns].astype("float64").copy()
    for column in ("NumParams", "NumMACs"):
        if column in values:
            values[column] = np.log(values[column])
    return values.to_numpy()


def _median_run(runs: list[tuple[int, np.ndarray]]) -> np.ndarray:
    # As the paper: sort the seed runs by violations and take the one at index n // 2.
    order = sorted(range(len(runs)), key=lambda i: runs[i][0])
    return runs[order[len(runs) // 2]][1]


def naap_predictors(architecture_model: str = "catboost") -> dict[str, dict[str, Any]]:
    """NAAPPredictor's rows of the table, by name: its two losses, with ``architecture_model``
    (named in the row where it is not the default)."""
    suffix = "" if architecture_model == "catboost" else f", {architecture_model.upper()}"
    return {
        f"NAAPPredictor ({loss}{suffix})": {"loss": loss, "architecture_model": architecture_model}
        for loss in ("RMSE", "PairLogit")
    }


def evaluate(
    frame: pd.DataFrame,
    *,
    epochs: Sequence[int] = (0, 3, 6, 9),
    seeds: Sequence[int] = PAPER_SEEDS,
    baselines: Sequence[str] | None = None,
    predictors: dict[str, dict[str, Any]] | None = None,
    predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] | None = None,
) -> Iterator[EvaluationRow]:
    """Run the paper's protocol on the official split, yielding one row per model and epochs.

    Models are fit on the ``IsTest == 0`` rows and scored on the ``IsTest == 1`` rows. For each
    model and epochs value, every seed is run and the run with the median number of violations
    is reported (the paper's rule). The paper's regressors use its features and a standard
    scaler; the NAAPPredictor variants use :func:`~optuna_naap.features.build_features`.

    Args:
        frame: The NAAP-440 rows (with ``Scheme`` for the predictor's structure features).
        epochs: Epochs values to evaluate.
        seeds: Seeds; the paper uses five.
        baselines: Names from :func:`paper_regressors` (default: all 24).
        predictors: Name -> NAAPPredictor keyword arguments (default: RMSE and PairLogit).
        predictions: If given, filled with (true, predicted) test accuracies of each
            (model, epochs).
    """
    from sklearn.preprocessing import StandardScaler

    from optuna_naap._predictor import NAAPPredictor

    if "IsTest" not in frame.columns or not frame["IsTest"].isin([0, 1]).all():
        raise ValueError("evaluation needs an IsTest column of 0 and 1 (the official split)")
    # As the paper, rows are sorted by MaxAccuracy first: k-NN breaks distance ties by row order.
    ordered = frame.sort_values("MaxAccuracy", kind="stable")
    train, test = ordered[ordered["IsTest"] == 0], ordered[ordered["IsTest"] == 1]
    if len(train) < 2 or len(test) < 2:
        raise ValueError(
            "evaluation needs at least 2 training and 2 test rows, "
            f"but got {len(train)} and {len(test)}"
        )
    have = available_epochs(frame.columns)
    for k in epochs:
        if not 0 <= k <= have:
            raise ValueError(f"epochs values must be between 0 and {have}, but got {k}")
    if not seeds:
        raise ValueError("evaluation needs at least one seed")
    regressors = paper_regressors()
    names = list(regressors) if baselines is None else list(baselines)
    unknown = [n for n in names if n not in regressors]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; known: {', '.join(regressors)}")
    if predictors is None:
        predictors = naap_predictors()
    truth = test["MaxAccuracy"].to_numpy(dtype="float64")

    def row(name: str, k: int, runs: list[tuple[int, np.ndarray]]) -> EvaluationRow:
        chosen = _median_run(runs)
        if predictions is not None:
            predictions[(name, k)] = (truth, chosen)
        return EvaluationRow(name, k, ranking_scores(truth, chosen))

    for k in epochs:
        x_train, x_test = _paper_features(train, k), _paper_features(test, k)
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        y_train = train["MaxAccuracy"].to_numpy(dtype="float64")
        for name in names:
            runs = []
            model = regressors[name]()
            for seed in seeds:
                # The paper seeds the global generators; its sklearn models draw from them.
                random.seed(seed)
                np.random.seed(seed)
                model.fit(x_train, y_train)
                predicted = np.asarray(model.predict(x_test), dtype="float64")
                runs.append((ranking_scores(truth, predicted).violations, predicted))
            yield row(name, k, runs)
        for name, options in predictors.items():
            runs = []
            for seed in seeds:
                predictor = NAAPPredictor(epochs=k, **{**options, "seed": seed}).fit(train)
                predicted = predictor.predict(test)
                runs.append((ranking_scores(truth, predicted).violations, predicted))
            yield row(name, k, runs)
