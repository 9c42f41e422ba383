"""StudyPredictor: learn a trial's final value from its params and curve prefix, in any study.

The generic, AIO-P-style side of NAAPPruner: no scheme features are needed, so it serves any
objective that reports intermediate values. Features are the trial's parameters (CatBoost takes
categorical ones natively) and its intermediate values up to the decision step; a pretrained
NAAPPredictor can be added as a prior (its prediction becomes one more feature, which the study
model learns to trust as much as it deserves).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import optuna
    from catboost import CatBoost

    from optuna_naap._predictor import NAAPPredictor

__all__ = ["StudyPredictor"]

_MISSING = "<missing>"
_INNER_FOLDS = 5


def _curve_value(trial: optuna.trial.FrozenTrial, step: int) -> float:
    value = trial.intermediate_values.get(step)
    return float(value) if value is not None and math.isfinite(value) else math.nan


class StudyPredictor:
    """Predict a trial's final value from its parameters and intermediate values up to ``step``.

    Fit on a study's COMPLETE trials (their ``value`` is the target). The features are each
    parameter seen in the fit trials (numbers as they are, anything else as a CatBoost
    categorical; a parameter a trial lacks is missing) and the intermediate values at every
    step up to ``step`` that the fit trials reported, plus the best of them so far. With a
    ``prior`` (a fitted :class:`~optuna_naap.NAAPPredictor`), trials that recorded a NAAP scheme
    and its curve get the prior's prediction as one more feature. Out-of-fold errors of an inner
    5-fold cross-validation are kept in ``cv_residuals_`` (from 10 trials on).

    Args:
        step: The decision step: intermediate values at steps ``<= step`` are used.
        prior: A fitted NAAPPredictor whose prediction is a feature, or ``None``.
        iterations: Boosting iterations.
        learning_rate: Boosting learning rate.
        depth: Tree depth.
        seed: Random seed.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import StudyPredictor

            def objective(trial):
                x = trial.suggest_float("x", -3, 3)
                for step in range(1, 11):
                    trial.report(-(x**2) * step / 10, step)
                return -(x**2)

            study = optuna.create_study(direction="maximize")
            study.optimize(objective, n_trials=30)
            done = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
            predictor = StudyPredictor(step=5).fit(done)
            predicted_finals = predictor.predict(done)
    """

    def __init__(
        self,
        step: int,
        *,
        prior: NAAPPredictor | None = None,
        iterations: int = 300,
        learning_rate: float = 0.08,
        depth: int = 4,
        seed: int = 0,
    ) -> None:
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError(f"step must be a non-negative integer, but got {step=}")
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be a positive integer, but got {iterations=}")
        if not 0 < learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], but got {learning_rate=}")
        if not isinstance(depth, int) or not 1 <= depth <= 16:
            raise ValueError(f"depth must be an integer in [1, 16], but got {depth=}")
        self.step = step
        self.prior = prior
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.seed = seed

    # -- features ---------------------------------------------------------------------------

    def _prior_values(self, trials: Sequence[optuna.trial.FrozenTrial]) -> np.ndarray:
        from optuna_naap._features import scheme_features
        from optuna_naap._trial import trial_curve, trial_scheme

        assert self.prior is not None
        out = np.full(len(trials), np.nan)
        rows, where = [], []
        for i, trial in enumerate(trials):
            scheme = trial_scheme(trial)
            curve = trial_curve(trial, self.prior.epochs) if scheme is not None else None
            if scheme is None or curve is None:
                continue
            row: dict[str, Any] = dict(scheme_features(scheme))
            if self.prior.uses_schemes_:
                import json

                row["Scheme"] = json.dumps(scheme)
            rows.append({**row, **curve})
            where.append(i)
        if rows:
            import pandas as pd

            out[where] = self.prior.predict(pd.DataFrame(rows))
        return out

    def _table(self, trials: Sequence[optuna.trial.FrozenTrial]) -> Any:
        import pandas as pd

        columns: dict[str, Any] = {}
        for name in self.numeric_params_:
            columns[f"param:{name}"] = [
                float(t.params[name]) if name in t.params else math.nan for t in trials
            ]
        for name in self.categorical_params_:
            columns[f"param:{name}"] = [
                str(t.params[name]) if name in t.params else _MISSING for t in trials
            ]
        curve = np.array(
            [[_curve_value(t, s) for s in self.steps_] for t in trials], dtype="float64"
        ).reshape(len(trials), len(self.steps_))
        for j, s in enumerate(self.steps_):
            columns[f"step:{s}"] = curve[:, j]
        if self.steps_:
            best = np.where(np.isnan(curve), -np.inf, curve).max(axis=1)
            best[np.isinf(best)] = np.nan  # nothing reported yet
            columns["best_so_far"] = best
        if self.uses_prior_:
            columns["prior"] = self._prior_values(trials)
        return pd.DataFrame(columns)

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

    def _pool(self, table: Any, target: np.ndarray | None = None) -> Any:
        from catboost import Pool

        cat = [f"param:{n}" for n in self.categorical_params_]
        return Pool(table, target, cat_features=cat or None)

    # -- fit and predict --------------------------------------------------------------------

    def fit(self, trials: Sequence[optuna.trial.FrozenTrial]) -> StudyPredictor:
        """Fit on completed trials (their ``value`` is the target); return self.

        Raises:
            ValueError: with fewer than 2 usable trials (finite value, a reported step <= step).
        """
        from catboost import CatBoostError

        usable = [
            t
            for t in trials
            if t.value is not None
            and math.isfinite(t.value)
            and any(s <= self.step for s in t.intermediate_values)
        ]
        if len(usable) < 2:
            raise ValueError(
                f"a StudyPredictor needs at least 2 completed trials with a finite value and a "
                f"step <= {self.step}, but got {len(usable)}"
            )
        numeric: set[str] = set()
        categorical: set[str] = set()
        for trial in usable:
            for name, value in trial.params.items():
                is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
                (numeric if is_number else categorical).add(name)
        self.categorical_params_ = sorted(categorical)
        self.numeric_params_ = sorted(numeric - categorical)
        self.steps_ = sorted({s for t in usable for s in t.intermediate_values if s <= self.step})
        self.uses_prior_ = self.prior is not None
        table = self._table(usable)
        target = np.array([t.value for t in usable], dtype="float64")
        try:
            self.model_ = self._model(self.seed)
            self.model_.fit(self._pool(table, target))
            self.cv_residuals_ = np.empty(0)
            if len(usable) >= 2 * _INNER_FOLDS:
                from sklearn.model_selection import KFold

                out_of_fold = np.empty(len(usable))
                folds = KFold(_INNER_FOLDS, shuffle=True, random_state=self.seed)
                for fit_rows, held_rows in folds.split(table):
                    model = self._model(self.seed)
                    model.fit(self._pool(table.iloc[fit_rows], target[fit_rows]))
                    out_of_fold[held_rows] = model.predict(self._pool(table.iloc[held_rows]))
                self.cv_residuals_ = target - out_of_fold
        except CatBoostError as exc:
            raise ValueError(
                f"CatBoost cannot fit these {len(usable)} trials "
                f"({str(exc).rsplit(': ', 1)[-1]}); wait for more, or more varied, trials"
            ) from exc
        self.n_train_trials_ = len(usable)
        return self

    def predict(self, trials: Sequence[optuna.trial.FrozenTrial]) -> np.ndarray:
        """Predict the final value of each trial from what it has reported so far."""
        if not hasattr(self, "model_"):
            raise RuntimeError("this StudyPredictor is not fitted yet: call fit(trials) first")
        if not trials:
            return np.empty(0)
        return np.asarray(self.model_.predict(self._pool(self._table(trials))), dtype="float64")
