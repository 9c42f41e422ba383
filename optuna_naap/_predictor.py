"""NAAPPredictor: CatBoost on scheme features and the first k epochs of the curve."""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optuna_naap._checks import check_int
from optuna_naap._component import VIRTUAL_ENSEMBLES, Component
from optuna_naap._features import (
    SCHEME_COLUMNS,
    SCHEME_COLUMNS_V2,
    available_epochs,
    build_features,
    scheme_features,
)
from optuna_naap._gp import GPComponent
from optuna_naap._metrics import kendall_tau, mean_absolute_error
from optuna_naap._predictor_file import (
    PredictorFileError,
    learnt_state,
    read_predictor_file,
    restore_learnt_state,
    write_predictor_file,
)
from optuna_naap._study_io import study_to_frame

if TYPE_CHECKING:
    import optuna
    import pandas as pd

__all__ = ["NAAPPredictor", "PredictorFileError", "scheme_row"]

_LOSSES = ("RMSE", "PairLogit")
_ARCHITECTURE_MODELS = ("catboost", "gp")
#: Architecture weights tried by ``architecture_weight="auto"``.
_WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
_INNER_FOLDS = 5


class NAAPPredictor:
    """Predict a scheme's final accuracy (``MaxAccuracy``) from its features and first epochs.

    Two CatBoost components, blended: an *architecture* model on the scheme alone (the CSV's
    scheme columns with log params and MACs, plus, when rows carry a ``Scheme`` column, the
    receptive field, final resolution and per-position options), and a *curve* model on the
    scheme plus summaries of the first ``epochs`` epochs
    (:func:`~optuna_naap.features.build_features`).
    The blend weight is chosen on the fit rows by an inner 5-fold cross-validation
    (``architecture_weight="auto"``; 0.5 with fewer than 10 rows), so a space where early
    curves say more than the architecture gets more of the curve. ``loss="PairLogit"`` learns
    the ranking from pairs of schemes, the ReNAS idea; its scores are mapped to accuracies by a
    linear fit on the fit rows, which keeps the ranking. ``n_models`` models with different
    seeds are averaged per component. ``architecture_model="gp"`` makes the architecture model
    a Gaussian process (a Matern kernel with one length scale per feature), which ranks
    NAAP-440's held-out schemes better in cross-validation, at about twice the fit time.

    The same inner cross-validation (one model per component and fold, run for a fixed weight
    too) leaves the out-of-fold errors in ``cv_residuals_`` (true minus predicted, one per fit
    row; empty with fewer than 10 rows): :class:`~optuna_naap.NAAPPruner` reads how far above
    its prediction a scheme can plausibly end from them.

    Args:
        epochs: Epochs of the curve used (0 = architecture only).
        loss: ``"RMSE"`` (regression) or ``"PairLogit"`` (pairwise ranking) for the CatBoost
            components.
        architecture_model: ``"catboost"`` (``n_models`` CatBoost models) or ``"gp"`` (one
            Gaussian process whatever the loss; its fit time grows as the cube of the rows).
        architecture_weight: Weight of the architecture model in ``[0, 1]``, or ``"auto"``.
        cycle: Epochs per learning-rate cycle of the recipe (3 for NAAP).
        raw_curves: Whether the curve model also sees every epoch's raw values.
        iterations: Boosting iterations per model.
        learning_rate: Boosting learning rate.
        depth: Tree depth.
        l2_leaf_reg: L2 regularisation of leaf values.
        n_models: Models averaged per component, seeds ``seed`` .. ``seed + n_models - 1``.
        max_pairs: Pairs sampled per fit with ``loss="PairLogit"`` (all pairs are slow: 9 s
            against 1.3 s for 5000 pairs of the 400 NAAP-440 training rows).
        seed: Base random seed.
        thread_count: CatBoost threads (-1: all cores).
        extra_features: Further numeric columns of the rows used as scheme features (for
            example a zero-cost ``Epsilon`` score); the rows to predict need them too.

    Example:
        .. code-block:: python

            from optuna_naap import NAAPPredictor, load_naap440

            frame = load_naap440()
            predictor = NAAPPredictor(epochs=9).fit(frame[frame.IsTest == 0])
            predicted = predictor.predict(frame[frame.IsTest == 1])
    """

    def __init__(
        self,
        epochs: int = 9,
        *,
        loss: str = "RMSE",
        architecture_model: str = "catboost",
        architecture_weight: float | str = "auto",
        cycle: int = 3,
        raw_curves: bool = False,
        iterations: int = 500,
        learning_rate: float = 0.05,
        depth: int = 6,
        l2_leaf_reg: float = 3.0,
        n_models: int = 5,
        max_pairs: int = 5000,
        seed: int = 0,
        thread_count: int = -1,
        extra_features: tuple[str, ...] = (),
    ) -> None:
        self.epochs = epochs
        self.loss = loss
        self.architecture_model = architecture_model
        self.architecture_weight = architecture_weight
        self.cycle = cycle
        self.raw_curves = raw_curves
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.n_models = n_models
        self.max_pairs = max_pairs
        self.seed = seed
        self.thread_count = thread_count
        self.extra_features = tuple(extra_features)
        self._validate_params()

    def _validate_params(self) -> None:
        for name, low in (
            ("epochs", 0),
            ("cycle", 1),
            ("iterations", 1),
            ("depth", 1),
            ("n_models", 1),
            ("max_pairs", 1),
        ):
            check_int(name, getattr(self, name), low=low)
        if self.depth > 16:
            raise ValueError(f"depth must be at most 16 (CatBoost), but got depth={self.depth}")
        if self.loss not in _LOSSES:
            raise ValueError(
                f"loss must be one of {', '.join(_LOSSES)}, but got loss={self.loss!r}"
            )
        if self.architecture_model not in _ARCHITECTURE_MODELS:
            raise ValueError(
                f"architecture_model must be one of {', '.join(_ARCHITECTURE_MODELS)}, "
                f"but got architecture_model={self.architecture_model!r}"
            )
        weight = self.architecture_weight
        if weight != "auto" and not (
            isinstance(weight, (int, float)) and not isinstance(weight, bool) and 0 <= weight <= 1
        ):
            raise ValueError(f"architecture_weight must be 'auto' or in [0, 1], but got {weight=}")
        if not all(isinstance(c, str) for c in self.extra_features):
            raise ValueError(
                f"extra_features must be column names, but got {self.extra_features=}"
            )
        if not isinstance(self.raw_curves, bool):
            raise ValueError(f"raw_curves must be true or false, but got {self.raw_curves=}")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate <= 1):
            raise ValueError(
                f"learning_rate must be in (0, 1], but got learning_rate={self.learning_rate!r}"
            )
        if not (isinstance(self.l2_leaf_reg, (int, float)) and self.l2_leaf_reg >= 0):
            raise ValueError(f"l2_leaf_reg must be >= 0, but got l2_leaf_reg={self.l2_leaf_reg!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, but got seed={self.seed!r}")
        if not isinstance(self.thread_count, int) or self.thread_count == 0:
            raise ValueError(
                f"thread_count must be -1 or positive, but got thread_count={self.thread_count!r}"
            )

    def get_params(self) -> dict[str, Any]:
        """Return the constructor's parameters (as scikit-learn's, from its signature)."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {
            n: list(self.extra_features) if n == "extra_features" else getattr(self, n)
            for n in names
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"NAAPPredictor({args})"

    # -- features ---------------------------------------------------------------------------

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One feature table for every component (each selects its own columns)."""
        if self.uses_schemes_ and "Scheme" not in frame.columns:
            raise ValueError(
                "this predictor was fit on rows with a Scheme column; "
                "give the rows their schemes (attach_schemes or load_naap440)"
            )
        return build_features(
            frame,
            self.epochs,
            scheme_columns=self.scheme_columns_,
            positions=self.positions_ if self.uses_schemes_ else None,
            cycle=self.cycle,
            raw_curves=self.raw_curves,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("this NAAPPredictor is not fitted yet: call fit(frame) first")

    # -- fit and predict --------------------------------------------------------------------

    def _fit_component(
        self,
        epochs: int,
        features: pd.DataFrame,
        target: np.ndarray,
        n_models: int,
        start: GPComponent | None = None,
    ) -> Component | GPComponent:
        columns = list(self.architecture_features_ if epochs == 0 else features.columns)
        if epochs == 0 and self.architecture_model == "gp":
            return GPComponent.fit(
                0,
                features,
                columns,
                target,
                n_members=self.n_models * VIRTUAL_ENSEMBLES,
                seed=self.seed,
                start=None if start is None else start.regressor.kernel_,
            )
        return Component.fit(
            epochs,
            features,
            columns,
            target,
            n_models=n_models,
            loss=self.loss,
            max_pairs=self.max_pairs,
            seed=self.seed,
            settings={
                "iterations": self.iterations,
                "learning_rate": self.learning_rate,
                "depth": self.depth,
                "l2_leaf_reg": self.l2_leaf_reg,
                "thread_count": self.thread_count,
            },
        )

    def _cross_validate(
        self,
        features: pd.DataFrame,
        target: np.ndarray,
        weights: tuple[float, ...],
        start: GPComponent | None,
    ) -> tuple[float, np.ndarray]:
        """Inner K-fold CV with one model per component: the architecture weight with the best
        mean Kendall tau (among equals, the lowest MAE) and its out-of-fold predictions. A GP
        architecture model is refit in each fold, its search starting from ``start``'s."""
        from sklearn.model_selection import KFold

        folds = min(_INNER_FOLDS, len(target))
        scores: dict[float, list[tuple[float, float]]] = {w: [] for w in weights}
        out_of_fold = {w: np.empty(len(target)) for w in weights}
        for fit_rows, held_rows in KFold(folds, shuffle=True, random_state=self.seed).split(
            features
        ):
            fit_x, held_x = features.iloc[fit_rows], features.iloc[held_rows]
            predictions = {}
            for epochs, used in ((0, max(weights) > 0), (self.epochs, min(weights) < 1)):
                if used:
                    model = self._fit_component(epochs, fit_x, target[fit_rows], 1, start)
                    predictions[epochs] = model.predict(model.matrix(held_x))
            held = target[held_rows]
            for w in weights:
                blended = w * predictions.get(0, 0.0) + (1 - w) * predictions.get(self.epochs, 0.0)
                out_of_fold[w][held_rows] = blended
                tau = kendall_tau(held, blended) if len(held) > 1 else 0.0
                scores[w].append((tau, mean_absolute_error(held, blended)))
        chosen = max(
            weights,
            key=lambda w: (
                round(float(np.nanmean([s[0] for s in scores[w]])), 6),
                -float(np.mean([s[1] for s in scores[w]])),
            ),
        )
        return chosen, out_of_fold[chosen]

    def fit(self, data: pd.DataFrame | optuna.study.Study) -> NAAPPredictor:
        """Fit on rows in the NAAP-440 layout (``MaxAccuracy`` is the target); return self.

        A study is accepted too: its COMPLETE trials with a recorded scheme and curve, as
        :func:`~optuna_naap.data.study_to_frame` gives them.
        """
        self._validate_params()
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            frame = data
        else:
            frame = study_to_frame(data, epochs=self.epochs or None)
        if "MaxAccuracy" not in frame.columns:
            raise ValueError("fitting needs a MaxAccuracy column (the target)")
        if len(frame) < 2:
            raise ValueError(f"fitting needs at least 2 rows, but got {len(frame)}")
        target = frame["MaxAccuracy"].to_numpy(dtype="float64")
        if not np.isfinite(target).all():
            raise ValueError("MaxAccuracy has missing or non-finite values")
        have = available_epochs(frame.columns)
        if self.epochs > have:
            raise ValueError(
                f"epochs={self.epochs} needs e1..e{self.epochs} curve columns, "
                f"but the data has {have} epochs"
            )
        v2 = all(c in frame.columns for c in SCHEME_COLUMNS_V2)
        missing = [c for c in self.extra_features if c not in frame.columns]
        if missing:
            raise ValueError(f"extra_features {', '.join(missing)} are not columns of the rows")
        self.scheme_columns_ = list(SCHEME_COLUMNS_V2 if v2 else SCHEME_COLUMNS)
        self.scheme_columns_ += list(self.extra_features)
        self.uses_schemes_ = "Scheme" in frame.columns
        features = build_features(
            frame,
            self.epochs,
            scheme_columns=self.scheme_columns_,
            cycle=self.cycle,
            raw_curves=self.raw_curves,
        )
        self.positions_ = sum(1 for c in features.columns if c.startswith("Width"))
        self.architecture_features_ = list(
            build_features(
                frame.iloc[:1],
                0,
                scheme_columns=self.scheme_columns_,
                positions=self.positions_ or None,
            ).columns
        )

        if self.epochs == 0:
            weights: tuple[float, ...] = (1.0,)
        elif self.architecture_weight == "auto":
            weights = _WEIGHT_GRID
        else:
            weights = (float(self.architecture_weight),)
        # A GP architecture model is fit first: the inner folds start from its kernel.
        architecture = (
            self._fit_component(0, features, target, self.n_models)
            if self.architecture_model == "gp" and max(weights) > 0
            else None
        )
        if len(frame) < 2 * _INNER_FOLDS:
            # Too few rows to cross-validate the blend or to measure the errors.
            self.architecture_weight_ = 0.5 if len(weights) > 1 else weights[0]
            self.cv_residuals_ = np.empty(0)
        else:
            self.architecture_weight_, out_of_fold = self._cross_validate(
                features,
                target,
                weights,
                architecture if isinstance(architecture, GPComponent) else None,
            )
            self.cv_residuals_ = target - out_of_fold
        self.components_: list[Component | GPComponent] = []
        if self.architecture_weight_ > 0:
            self.components_.append(
                architecture or self._fit_component(0, features, target, self.n_models)
            )
        if self.architecture_weight_ < 1:
            self.components_.append(
                self._fit_component(self.epochs, features, target, self.n_models)
            )
        self.n_train_rows_ = len(frame)
        return self

    def _weights(self) -> list[float]:
        return [
            self.architecture_weight_ if c.epochs == 0 else 1.0 - self.architecture_weight_
            for c in self.components_
        ]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predict ``MaxAccuracy`` for the rows of ``frame``, in the NAAP-440 layout (target
        column not needed)."""
        self._check_fitted()
        features = self._features(frame)
        return self._blend(lambda c: c.predict(c.matrix(features)))

    def predict_with_uncertainty(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Return the predicted accuracies and a standard deviation for each row of ``frame``.

        The spread is that of the blended members: CatBoost's virtual ensembles (10 truncations
        of each model's boosting sequence) of each of the ``n_models`` models. It measures how
        unsure the predictor is about a row (knowledge uncertainty), not the noise of
        ``MaxAccuracy`` itself.
        """
        self._check_fitted()
        features = self._features(frame)  # built once for both
        both = {id(c): c.predict_with_members(c.matrix(features)) for c in self.components_}
        members = self._blend(lambda c: both[id(c)][1])
        return self._blend(lambda c: both[id(c)][0]), members.std(axis=1)

    def _blend(self, per_component: Callable[[Component | GPComponent], np.ndarray]) -> np.ndarray:
        weighted = zip(self._weights(), self.components_, strict=True)
        return np.sum([w * per_component(c) for w, c in weighted], axis=0)

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted predictor to ``path``: one self-describing JSON file (no pickle)."""
        self._check_fitted()
        write_predictor_file(path, learnt_state(self))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NAAPPredictor:
        """Read a predictor that :meth:`save` wrote to ``path``.

        Raises:
            PredictorFileError: a missing, foreign, corrupt or newer-format file.
        """
        path = Path(path)
        document = read_predictor_file(path)
        try:
            predictor = cls(**document["params"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PredictorFileError(f"{path} is a corrupt predictor file ({exc})") from exc
        restore_learnt_state(predictor, document, path)
        return predictor


def scheme_row(
    predictor: NAAPPredictor, scheme: list[dict[str, Any]], user_attrs: Mapping[str, Any]
) -> dict[str, Any] | str:
    """A trial's scheme columns for ``predictor`` (no curve), or why there are none.

    Extra features (a zero-cost score, ...) come from the trial's user attributes.
    """
    row: dict[str, Any] = dict(scheme_features(scheme))
    for name in predictor.extra_features:
        value = user_attrs.get(name)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"the predictor needs the user attribute {name!r} (a number)"
        row[name] = float(value)
    if predictor.uses_schemes_:
        row["Scheme"] = json.dumps(scheme)
    return row
