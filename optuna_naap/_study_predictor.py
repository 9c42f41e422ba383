"""StudyPredictor: learn a trial's final value from its params and curve prefix, in any study.

The generic, AIO-P-style side of NAAPPruner: no scheme features are needed, so it serves any
objective that reports intermediate values, with any step numbering. Features are the trial's
parameters (by their Optuna distribution: numbers as numbers, categorical choices of any type,
``None`` included, as CatBoost categories, absent conditional parameters as missing) and its
curve up to the decision step, read at points aligned to that step (so trials that report every
step, every fifth step or out of order give comparable rows). A fitted NAAPPredictor can be
added as a prior: its prediction becomes one more feature, which the study model learns to trust
as much as it deserves.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from optuna_naap._checks import check_int
from optuna_naap._predictor import scheme_row
from optuna_naap._trial import trial_curve, trial_scheme

if TYPE_CHECKING:
    import optuna
    from catboost import CatBoost

    from optuna_naap._predictor import NAAPPredictor

__all__ = ["CURVE_FEATURES", "StudyPredictor", "curve_features"]

_MISSING = "<missing>"
#: Points of the curve prefix read at 1/4, 2/4, 3/4 and 4/4 of the decision step.
_POINTS = 4
#: Names of the curve features, in order.
CURVE_FEATURES = (
    *(f"curve@{j}/{_POINTS}" for j in range(1, _POINTS + 1)),
    "curve_max",
    "curve_min",
    "curve_slope",
    "curve_reported",
)


def curve_features(intermediate_values: dict[int, float], step: int) -> list[float]:
    """The curve prefix of a trial at ``step`` as :data:`CURVE_FEATURES` (NaN where unknown).

    Only values at steps ``<= step`` count, non-finite ones as missing. ``curve@j/4`` is the
    value last reported at or before ``j/4`` of the way to ``step`` (steps may start at 0 or 1,
    come every n-th step or out of order); ``curve_slope`` is the change over the second half
    of the prefix, per step; ``curve_reported`` the share of the prefix's steps reported.
    """
    pairs = sorted(
        (s, v)
        for s, v in intermediate_values.items()
        if s <= step and v is not None and math.isfinite(v)
    )
    nan = math.nan
    if not pairs:
        return [nan] * len(CURVE_FEATURES)
    steps = [s for s, _ in pairs]
    values = [float(v) for _, v in pairs]

    def at(point: float) -> float:
        i = bisect.bisect_right(steps, point) - 1
        return values[i] if i >= 0 else nan

    points = [at(step * j / _POINTS) for j in range(1, _POINTS + 1)]
    half = at(step / 2)
    i_half = bisect.bisect_right(steps, step / 2) - 1
    slope = (
        (values[-1] - half) / (steps[-1] - steps[i_half])
        if i_half >= 0 and steps[-1] > steps[i_half]
        else nan
    )
    return [*points, max(values), min(values), slope, len(pairs) / (step + 1)]


def _category(value: Any) -> str:
    # The type keeps 1, "1", 1.0 and True apart; None is a category of its own.
    return _MISSING if value is _MISSING else f"{type(value).__name__}:{value}"


class StudyPredictor:
    """Predict a trial's final value from its parameters and intermediate values up to ``step``.

    Fit on a study's COMPLETE trials (their ``value`` is the target). The features are each
    parameter seen in the fit trials (a parameter whose distribution is categorical, whatever
    its choices' types, is a category; others are numbers, on a log scale where every fit
    trial's distribution has ``log=True``, listed in ``log_params_``; a parameter a trial lacks
    is missing), the curve prefix (:func:`curve_features`) and, with a ``prior`` (a fitted
    :class:`~optuna_naap.NAAPPredictor`), the prior's prediction for trials that recorded a NAAP
    scheme and its curve. Out-of-fold errors (true minus predicted) are kept in
    ``cv_residuals_``: they give the pruner its margin.

    Two models: ``"ridge"`` (the default: standardised features, categories one-hot, missing
    values imputed with an indicator, the penalty chosen by exact leave-one-out, whose errors
    are ``cv_residuals_``; fits in about a millisecond, so the pruner can refit after every
    completed trial) and ``"catboost"`` (an ensemble of CatBoost regressors fit on the folds of
    a cross-validation: their mean is the prediction, their spread its uncertainty; ~50 ms a
    model, for large studies with non-linear effects).

    Args:
        step: The decision step: intermediate values at steps ``<= step`` are used.
        prior: A fitted NAAPPredictor whose prediction is a feature, or ``None``.
        model: ``"ridge"`` or ``"catboost"``.
        iterations: Boosting iterations of each CatBoost model.
        learning_rate: Boosting learning rate.
        depth: Tree depth.
        folds: Folds of the CatBoost cross-validation (fewer when fit on fewer than 5 trials a
            fold).
        seed: Random seed.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import StudyPredictor

            def objective(trial):
                x = trial.suggest_float("x", -3, 3)
                for step in range(10):
                    trial.report(-(x**2) * (step + 1) / 10, step)
                return -(x**2)

            study = optuna.create_study(direction="maximize")
            study.optimize(objective, n_trials=30)
            done = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
            predictor = StudyPredictor(step=4).fit(done)
            predicted_finals = predictor.predict(done)
    """

    def __init__(
        self,
        step: int,
        *,
        prior: NAAPPredictor | None = None,
        model: str = "ridge",
        iterations: int = 150,
        learning_rate: float = 0.1,
        depth: int = 4,
        folds: int = 4,
        seed: int = 0,
    ) -> None:
        check_int("step", step, low=0)
        check_int("iterations", iterations, low=1)
        if not 0 < learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], but got {learning_rate=}")
        if not isinstance(depth, int) or not 1 <= depth <= 16:
            raise ValueError(f"depth must be an integer in [1, 16], but got {depth=}")
        check_int("folds", folds, low=2)
        if model not in ("ridge", "catboost"):
            raise ValueError(f"model must be 'ridge' or 'catboost', but got {model=}")
        self.step = step
        self.prior = prior
        self.model = model
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.folds = folds
        self.seed = seed

    # -- features ---------------------------------------------------------------------------

    def _prior_value(self, trial: optuna.trial.FrozenTrial) -> float:
        assert self.prior is not None
        if self.prior.epochs > self.step:
            return math.nan
        scheme = trial_scheme(trial)
        curve = trial_curve(trial, self.prior.epochs) if scheme is not None else None
        if scheme is None or curve is None:
            return math.nan
        row = scheme_row(self.prior, scheme, trial.user_attrs)
        if isinstance(row, str):
            return math.nan
        import pandas as pd

        return float(self.prior.predict(pd.DataFrame([{**row, **curve}]))[0])

    def _rows(self, trials: Sequence[optuna.trial.FrozenTrial]) -> list[list[Any]]:
        rows = []
        for trial in trials:
            row: list[Any] = []
            for name in self.numeric_params_:
                value = trial.params.get(name)
                number = float(value) if isinstance(value, (int, float)) else math.nan
                if name in self.log_params_:
                    number = math.log(number) if number > 0 else math.nan
                row.append(number)
            for name in self.categorical_params_:
                row.append(_category(trial.params.get(name, _MISSING)))
            row.extend(curve_features(trial.intermediate_values, self.step))
            if self.uses_prior_:
                row.append(self._prior_value(trial))
            rows.append(row)
        return rows

    @property
    def feature_names_(self) -> list[str]:
        """The columns of the model, in order."""
        return [
            *(f"param:{n}" for n in self.numeric_params_),
            *(f"param:{n}" for n in self.categorical_params_),
            *CURVE_FEATURES,
            *(["prior"] if self.uses_prior_ else []),
        ]

    def _model(self, seed: int) -> CatBoost:
        from catboost import CatBoost

        return CatBoost(
            {
                "loss_function": "RMSE",
                "iterations": self.iterations,
                "learning_rate": self.learning_rate,
                "depth": self.depth,
                "random_seed": seed,
                "thread_count": 1,  # tiny tables: threads cost more than they save
                "verbose": 0,
                "allow_writing_files": False,
            }
        )

    def _pool(self, rows: list[list[Any]], target: np.ndarray | None = None) -> Any:
        from catboost import Pool

        first = len(self.numeric_params_)
        cat = list(range(first, first + len(self.categorical_params_)))
        return Pool(rows, target, cat_features=cat or None)

    # -- fit and predict --------------------------------------------------------------------

    def fit(self, trials: Sequence[optuna.trial.FrozenTrial]) -> StudyPredictor:
        """Fit on completed trials (their ``value`` is the target); return self.

        Raises:
            ValueError: with fewer than 4 usable trials (a finite value and a finite
                intermediate value at a step <= step), or when CatBoost cannot fit them.
        """
        from optuna.distributions import CategoricalDistribution

        usable = [
            t
            for t in trials
            if t.values
            and math.isfinite(t.values[0])
            and any(
                s <= self.step and v is not None and math.isfinite(v)
                for s, v in t.intermediate_values.items()
            )
        ]
        if len(usable) < 4:
            raise ValueError(
                f"a StudyPredictor needs at least 4 completed trials with a finite value and a "
                f"finite intermediate value at a step <= {self.step}, but got {len(usable)}"
            )
        numeric: set[str] = set()
        categorical: set[str] = set()
        linear: set[str] = set()
        for trial in usable:
            for name, distribution in trial.distributions.items():
                is_category = isinstance(distribution, CategoricalDistribution)
                (categorical if is_category else numeric).add(name)
                if not is_category and not getattr(distribution, "log", False):
                    linear.add(name)
        self.categorical_params_ = sorted(categorical)
        self.numeric_params_ = sorted(numeric - categorical)
        # A learning rate drawn from 1e-5 to 1e-1 with log=True varies on its log scale: a
        # linear model on the raw values sees only the largest.
        self.log_params_ = sorted(numeric - categorical - linear)
        self.uses_prior_ = self.prior is not None
        rows = self._rows(usable)
        target = np.array([t.values[0] for t in usable], dtype="float64")
        self.n_train_trials_ = len(usable)
        self.train_values_ = target
        if self.model == "ridge":
            self.ridge_ = _Ridge.fit(
                rows, len(self.numeric_params_), len(self.categorical_params_), target
            )
            self.cv_residuals_ = self.ridge_.loo_residuals
            return self
        from catboost import CatBoostError  # here: the ridge model needs no CatBoost

        n_folds = max(2, min(self.folds, len(usable) // 5))
        out_of_fold = np.empty(len(usable))
        order = np.random.default_rng(self.seed).permutation(len(usable))
        self.models_: list[CatBoost] = []
        try:
            for k in range(n_folds):
                held = order[k::n_folds]
                fit_rows = np.setdiff1d(order, held)
                model = self._model(self.seed + k)
                model.fit(self._pool([rows[i] for i in fit_rows], target[fit_rows]))
                out_of_fold[held] = model.predict(self._pool([rows[i] for i in held]))
                self.models_.append(model)
        except CatBoostError as exc:
            raise ValueError(
                f"CatBoost cannot fit these {len(usable)} trials "
                f"({str(exc).rsplit(': ', 1)[-1]}); wait for more, or more varied, trials"
            ) from exc
        self.cv_residuals_ = target - out_of_fold
        return self

    def predict_with_uncertainty(
        self, trials: Sequence[optuna.trial.FrozenTrial]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The predicted final value of each of ``trials`` and the spread of the fold models."""
        if not hasattr(self, "cv_residuals_"):
            raise RuntimeError("this StudyPredictor is not fitted yet: call fit(trials) first")
        if not trials:
            return np.empty(0), np.empty(0)
        if self.model == "ridge":
            mean = self.ridge_.predict(self._rows(trials))
            spread = float(np.sqrt(np.mean(self.cv_residuals_**2)))
            return mean, np.full(len(mean), spread)
        pool = self._pool(self._rows(trials))
        each = np.array([m.predict(pool) for m in self.models_], dtype="float64")
        return each.mean(axis=0), each.std(axis=0)

    def predict(self, trials: Sequence[optuna.trial.FrozenTrial]) -> np.ndarray:
        """Predict the final value of each of ``trials`` from what it has reported up to
        ``step``."""
        return self.predict_with_uncertainty(trials)[0]


class _Ridge:
    """Ridge regression on one-hot categories and imputed numbers, with exact leave-one-out."""

    _ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)
    fill: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    flagged: np.ndarray
    levels: list[list[str]]
    offset: float
    alpha: float
    loo_residuals: np.ndarray
    coef: np.ndarray

    def __init__(self, n_numeric: int, n_categorical: int) -> None:
        self.n_numeric, self.n_categorical = n_numeric, n_categorical

    def _design(self, rows: list[list[Any]]) -> np.ndarray:
        k = self.n_numeric
        numbers = np.array(
            [[v for j, v in enumerate(r) if not k <= j < k + self.n_categorical] for r in rows],
            dtype="float64",
        ).reshape(len(rows), -1)
        missing = np.isnan(numbers)
        numbers = np.where(missing, self.fill, numbers)
        parts = [(numbers - self.center) / self.scale, missing[:, self.flagged].astype(float)]
        for j, levels in enumerate(self.levels):
            column = [r[k + j] for r in rows]
            parts.append(np.array([[c == level for level in levels] for c in column], dtype=float))
        return np.hstack([p.reshape(len(rows), -1) for p in parts])

    @classmethod
    def fit(
        cls, rows: list[list[Any]], n_numeric: int, n_categorical: int, target: np.ndarray
    ) -> _Ridge:
        self = cls(n_numeric, n_categorical)
        k = n_numeric
        numbers = np.array(
            [[v for j, v in enumerate(r) if not k <= j < k + n_categorical] for r in rows],
            dtype="float64",
        ).reshape(len(rows), -1)
        missing = np.isnan(numbers)
        with warnings.catch_warnings():  # an all-missing column: "mean of empty slice"
            warnings.simplefilter("ignore", RuntimeWarning)
            fill = np.nanmean(numbers, axis=0)
        self.fill = np.where(np.isnan(fill), 0.0, fill)
        filled = np.where(missing, self.fill, numbers)
        self.center = filled.mean(axis=0)
        scale = filled.std(axis=0)
        # A constant column's std is rounding (2e-16 for a conditional parameter one trial
        # sampled): dividing by it sent a new value's prediction to 1e13.
        self.scale = np.where(scale > 1e-9 * np.maximum(np.abs(self.center), 1.0), scale, 1.0)
        self.flagged = missing.any(axis=0) & ~missing.all(axis=0)
        self.levels = [sorted({r[k + j] for r in rows}) for j in range(n_categorical)]
        x = self._design(rows)
        self.offset = float(target.mean())
        y = target - self.offset
        # Leave-one-out errors of ridge in closed form: e_i / (1 - h_ii), for each penalty.
        u, sv, _ = np.linalg.svd(x, full_matrices=False)
        best: tuple[float, float, np.ndarray] | None = None
        for alpha in self._ALPHAS:
            shrink = sv**2 / (sv**2 + alpha)
            fitted = u @ (shrink * (u.T @ y))
            leverage = (u**2) @ shrink + 1.0 / len(y)  # the intercept's share too
            loo = (y - fitted) / np.clip(1.0 - leverage, 1e-6, None)
            score = float(np.mean(loo**2))
            if best is None or score < best[0]:
                best = (score, alpha, loo)
        assert best is not None
        _, self.alpha, self.loo_residuals = best
        gram = x.T @ x + self.alpha * np.eye(x.shape[1])
        self.coef = np.linalg.solve(gram, x.T @ y)
        return self

    def predict(self, rows: list[list[Any]]) -> np.ndarray:
        return self._design(rows) @ self.coef + self.offset
