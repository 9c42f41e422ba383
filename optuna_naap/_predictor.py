"""NAAPPredictor: CatBoost on scheme features and the first k epochs of the curve."""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optuna_naap._features import (
    SCHEME_COLUMNS,
    SCHEME_COLUMNS_V2,
    available_epochs,
    build_features,
)

if TYPE_CHECKING:
    import pandas as pd
    from catboost import CatBoost

__all__ = ["NAAPPredictor", "PredictorFileError"]

_FORMAT = "optuna-naap/predictor"
_FORMAT_VERSION = 1
_LOSSES = ("RMSE", "PairLogit")


class PredictorFileError(ValueError):
    """A predictor file that is not one, is corrupt, or is of an unknown format version."""


class NAAPPredictor:
    """Predict a scheme's final accuracy (``MaxAccuracy``) from its features and first epochs.

    A CatBoost model on :func:`~optuna_naap.build_features`: the scheme columns (log params and
    MACs, depth, stages, widths, skips, partial-receptive-field layers), the scheme's structure
    when rows carry a ``Scheme`` column (receptive field, final resolution, per-position options),
    and the loss mean, loss median and accuracy of the first ``epochs`` epochs with a few
    summaries. ``loss="PairLogit"`` learns the ranking from pairs of schemes, the ReNAS idea;
    its scores are mapped to accuracies by a linear fit on the training rows, which keeps the
    ranking. Several models (``n_models``) with different seeds are averaged.

    Args:
        epochs: Epochs of the curve used (0 = architecture only).
        loss: ``"RMSE"`` (regression) or ``"PairLogit"`` (pairwise ranking).
        iterations: Boosting iterations per model.
        learning_rate: Boosting learning rate.
        depth: Tree depth.
        l2_leaf_reg: L2 regularisation of leaf values.
        n_models: Models averaged, seeds ``seed`` .. ``seed + n_models - 1``.
        seed: Base random seed.
        thread_count: CatBoost threads (-1: all cores).

    Example:
        .. code-block:: python

            from optuna_naap import NAAPPredictor, load_naap440

            frame = load_naap440("naap440v2.csv")
            predictor = NAAPPredictor(epochs=9).fit(frame[frame.IsTest == 0])
            predicted = predictor.predict(frame[frame.IsTest == 1])
    """

    def __init__(
        self,
        epochs: int = 9,
        *,
        loss: str = "RMSE",
        iterations: int = 500,
        learning_rate: float = 0.05,
        depth: int = 6,
        l2_leaf_reg: float = 3.0,
        n_models: int = 1,
        seed: int = 0,
        thread_count: int = -1,
    ) -> None:
        self.epochs = epochs
        self.loss = loss
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.n_models = n_models
        self.seed = seed
        self.thread_count = thread_count
        self._validate_params()

    def _validate_params(self) -> None:
        def positive_int(name: str, value: Any, low: int = 1) -> None:
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, but got {name}={value!r}")

        positive_int("epochs", self.epochs, 0)
        positive_int("iterations", self.iterations)
        positive_int("depth", self.depth)
        positive_int("n_models", self.n_models)
        if self.depth > 16:
            raise ValueError(f"depth must be at most 16 (CatBoost), but got depth={self.depth}")
        if self.loss not in _LOSSES:
            raise ValueError(
                f"loss must be one of {', '.join(_LOSSES)}, but got loss={self.loss!r}"
            )
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
        """Return the constructor's parameters."""
        return {
            "epochs": self.epochs,
            "loss": self.loss,
            "iterations": self.iterations,
            "learning_rate": self.learning_rate,
            "depth": self.depth,
            "l2_leaf_reg": self.l2_leaf_reg,
            "n_models": self.n_models,
            "seed": self.seed,
            "thread_count": self.thread_count,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"NAAPPredictor({args})"

    # -- features ---------------------------------------------------------------------------

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.uses_schemes_ and "Scheme" not in frame.columns:
            raise ValueError(
                "this predictor was fit on rows with a Scheme column; "
                "give the rows their schemes (attach_schemes or load_naap440)"
            )
        features = build_features(
            frame,
            self.epochs,
            scheme_columns=self.scheme_columns_,
            positions=self.positions_ if self.uses_schemes_ else None,
        )
        return features.loc[:, self.feature_names_]

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise RuntimeError("this NAAPPredictor is not fitted yet: call fit(frame) first")

    # -- fit and predict --------------------------------------------------------------------

    def _catboost_params(self, seed: int) -> dict[str, Any]:
        return {
            "loss_function": self.loss,
            "iterations": self.iterations,
            "learning_rate": self.learning_rate,
            "depth": self.depth,
            "l2_leaf_reg": self.l2_leaf_reg,
            "random_seed": seed,
            "thread_count": self.thread_count,
            "verbose": 0,
            "allow_writing_files": False,
        }

    def fit(self, frame: pd.DataFrame) -> NAAPPredictor:
        """Fit on rows in the NAAP-440 layout (``MaxAccuracy`` is the target); return self."""
        from catboost import CatBoost, Pool

        self._validate_params()
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
        self.scheme_columns_ = list(SCHEME_COLUMNS_V2 if v2 else SCHEME_COLUMNS)
        self.uses_schemes_ = "Scheme" in frame.columns
        features = build_features(frame, self.epochs, scheme_columns=self.scheme_columns_)
        self.positions_ = sum(1 for c in features.columns if c.startswith("Width"))
        self.feature_names_ = list(features.columns)

        group = np.zeros(len(frame), dtype=np.int64) if self.loss == "PairLogit" else None
        pool = Pool(features, target, group_id=group)
        self.models_: list[CatBoost] = []
        for i in range(self.n_models):
            model = CatBoost(self._catboost_params(self.seed + i))
            model.fit(pool)
            self.models_.append(model)
        self.calibration_ = (1.0, 0.0)
        if self.loss == "PairLogit":
            scores = self._raw(features)
            slope, intercept = np.polyfit(scores, target, 1)
            self.calibration_ = (float(slope), float(intercept))
        self.n_train_rows_ = len(frame)
        return self

    def _raw(self, features: pd.DataFrame) -> np.ndarray:
        return np.mean([m.predict(features) for m in self.models_], axis=0)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predict ``MaxAccuracy`` for rows in the NAAP-440 layout (target column not needed)."""
        self._check_fitted()
        slope, intercept = self.calibration_
        return slope * self._raw(self._features(frame)) + intercept

    def predict_with_uncertainty(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Return the predicted accuracies and a standard deviation for each row.

        The spread combines CatBoost's virtual ensembles (10 truncations of each model's
        boosting sequence) and, with ``n_models > 1``, the disagreement between the models. It
        measures how unsure the predictor is about a row (knowledge uncertainty), not the noise
        of ``MaxAccuracy`` itself.
        """
        self._check_fitted()
        features = self._features(frame)
        slope, intercept = self.calibration_
        members = []
        for model in self.models_:
            virtual = model.virtual_ensembles_predict(
                features, prediction_type="VirtEnsembles", virtual_ensembles_count=10
            )
            members.append(np.asarray(virtual)[:, :, 0])
        stacked = slope * np.concatenate(members, axis=1) + intercept
        return self.predict(frame), stacked.std(axis=1)

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted predictor to one self-describing JSON file (no pickle)."""
        import catboost

        self._check_fitted()
        models = []
        with tempfile.TemporaryDirectory() as tmpdir:
            for i, model in enumerate(self.models_):
                model_path = Path(tmpdir) / f"model{i}.cbm"
                model.save_model(str(model_path), format="cbm")
                models.append(base64.b64encode(model_path.read_bytes()).decode("ascii"))
        document = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self.get_params(),
            "scheme_columns": self.scheme_columns_,
            "uses_schemes": self.uses_schemes_,
            "positions": self.positions_,
            "feature_names": self.feature_names_,
            "calibration": list(self.calibration_),
            "n_train_rows": self.n_train_rows_,
            "catboost_version": catboost.__version__,
            "models": models,
        }
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(document))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NAAPPredictor:
        """Read a predictor written by :meth:`save`.

        Raises:
            PredictorFileError: a missing, foreign, corrupt or newer-format file.
        """
        from catboost import CatBoost, CatBoostError

        path = Path(path)
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise PredictorFileError(f"no predictor file at {path}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PredictorFileError(
                f"{path} is not a predictor file (not readable JSON)"
            ) from exc
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise PredictorFileError(f"{path} is not an optuna-naap predictor file")
        version = document.get("format_version")
        if version != _FORMAT_VERSION:
            raise PredictorFileError(
                f"{path} has predictor format version {version!r}; this optuna-naap reads "
                f"version {_FORMAT_VERSION}: upgrade optuna-naap or refit the predictor"
            )
        try:
            predictor = cls(**document["params"])
            predictor.scheme_columns_ = list(document["scheme_columns"])
            predictor.uses_schemes_ = bool(document["uses_schemes"])
            predictor.positions_ = int(document["positions"])
            predictor.feature_names_ = list(document["feature_names"])
            slope, intercept = document["calibration"]
            predictor.calibration_ = (float(slope), float(intercept))
            predictor.n_train_rows_ = int(document["n_train_rows"])
            predictor.models_ = []
            for encoded in document["models"]:
                model = CatBoost()
                model.load_model(blob=base64.b64decode(encoded, validate=True))
                predictor.models_.append(model)
        except (KeyError, TypeError, ValueError, binascii.Error, CatBoostError) as exc:
            raise PredictorFileError(f"{path} is a corrupt predictor file ({exc})") from exc
        if len(predictor.models_) != predictor.n_models:
            raise PredictorFileError(
                f"{path} is a corrupt predictor file: it holds {len(predictor.models_)} models "
                f"for n_models={predictor.n_models}"
            )
        return predictor
