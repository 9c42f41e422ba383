"""A component of NAAPPredictor: CatBoost models on one feature set (the architecture alone, or
the architecture and a curve prefix), calibrated to accuracies, and their JSON form."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optuna_naap._forest import Forest, UnsupportedModel

if TYPE_CHECKING:
    import pandas as pd
    from catboost import CatBoost

__all__ = ["Component", "feature_matrix"]

#: Virtual ensembles per CatBoost model for the predicted spread.
VIRTUAL_ENSEMBLES = 10
#: Fewer rows than this are "a few": CatBoost gets one thread for them (a thread pool costs
#: more), and a component asked often evaluates its trees with numpy (the same numbers, without
#: CatBoost's per-call overhead); batches go to CatBoost, which is faster on many rows.
_FEW_ROWS = 64
#: Reading a model's trees costs about as much as 100-200 CatBoost calls, so it is done at the
#: component's 20th small call: a pruner's predictor gets there, a cross-validation's does not.
_FOREST_AFTER_CALLS = 20


class Component:
    """CatBoost models on one feature set, calibrated to accuracies."""

    def __init__(
        self,
        epochs: int,
        models: list[CatBoost],
        feature_names: list[str],
        calibration: tuple[float, float],
    ) -> None:
        self.epochs = epochs
        self.models = models
        self.feature_names = feature_names
        self.calibration = calibration
        self._forests: list[Forest] | None = None
        self._small_calls = 0

    def _small_forests(self, rows: int) -> list[Forest] | None:
        """The models' trees for numpy when ``rows`` is a few rows of a component that keeps
        being asked (a pruner's); None where CatBoost answers (batches, a model asked a few
        times, or trees the numpy evaluator does not reproduce)."""
        if rows >= _FEW_ROWS:
            return None
        if self._forests is None:
            self._small_calls += 1
            if self._small_calls < _FOREST_AFTER_CALLS:
                return None
            try:
                self._forests = [Forest.from_catboost(m) for m in self.models]
            except UnsupportedModel:
                self._forests = []
        return self._forests or None

    @classmethod
    def fit(
        cls,
        epochs: int,
        features: pd.DataFrame,
        columns: list[str],
        target: np.ndarray,
        *,
        n_models: int,
        loss: str,
        max_pairs: int,
        seed: int,
        settings: dict[str, Any],
    ) -> Component:
        """Fit ``n_models`` CatBoost models (seeds ``seed`` ..) with the boosting ``settings``
        on ``columns`` of ``features``; a PairLogit ``loss`` is calibrated to accuracies by a
        linear fit on the fit rows."""
        from catboost import CatBoost, CatBoostError, Pool

        x = features.loc[:, columns]
        group = np.zeros(len(x), dtype=np.int64) if loss == "PairLogit" else None
        pool = Pool(x, target, group_id=group)
        function = f"PairLogit:max_pairs={max_pairs}" if loss == "PairLogit" else "RMSE"
        models = []
        for i in range(n_models):
            model = CatBoost(
                {
                    "loss_function": function,
                    **settings,
                    "random_seed": seed + i,
                    "verbose": 0,
                    "allow_writing_files": False,
                }
            )
            try:
                model.fit(pool)
            except CatBoostError as exc:
                raise ValueError(
                    f"CatBoost cannot fit these {len(x)} rows ({str(exc).rsplit(': ', 1)[-1]}); "
                    "fit on more, or more varied, schemes"
                ) from exc
            models.append(model)
        component = cls(epochs, models, columns, (1.0, 0.0))
        if loss == "PairLogit":
            slope, intercept = np.polyfit(component.predict(component.matrix(features)), target, 1)
            component.calibration = (float(slope), float(intercept))
        return component

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        return feature_matrix(features, self.feature_names)

    def predict(self, x: np.ndarray) -> np.ndarray:
        slope, intercept = self.calibration
        forests = self._small_forests(len(x))
        raw = [f.predict(x) for f in forests] if forests is not None else self._catboost_raw(x)
        return slope * np.mean(raw, axis=0) + intercept

    def predict_with_members(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and the predictions of every virtual ensemble of every model (rows x
        members), from one pass over the trees where numpy evaluates them."""
        slope, intercept = self.calibration
        forests = self._small_forests(len(x))
        if forests is not None:
            both = [f.predict_with_virtual(x, VIRTUAL_ENSEMBLES) for f in forests]
            raw, virtual = [p for p, _ in both], [v for _, v in both]
        else:
            raw, virtual = self._catboost_raw(x), self._catboost_virtual(x)
        return (
            slope * np.mean(raw, axis=0) + intercept,
            slope * np.concatenate(virtual, axis=1) + intercept,
        )

    def _catboost_raw(self, x: np.ndarray) -> list[np.ndarray]:
        threads = _threads(len(x))
        return [m.predict(x, thread_count=threads) for m in self.models]

    def _catboost_virtual(self, x: np.ndarray) -> list[np.ndarray]:
        threads = _threads(len(x))
        return [
            np.asarray(
                m.virtual_ensembles_predict(
                    x,
                    prediction_type="VirtEnsembles",
                    virtual_ensembles_count=VIRTUAL_ENSEMBLES,
                    thread_count=threads,
                )
            )[:, :, 0]
            for m in self.models
        ]

    def to_json(self) -> dict[str, Any]:
        encoded = []
        with tempfile.TemporaryDirectory() as tmpdir:
            for i, model in enumerate(self.models):
                # CatBoost's public API writes its binary format to files only.
                model_path = Path(tmpdir) / f"model{i}.cbm"
                model.save_model(str(model_path), format="cbm")
                encoded.append(base64.b64encode(model_path.read_bytes()).decode("ascii"))
        return {
            "epochs": self.epochs,
            "feature_names": self.feature_names,
            "calibration": list(self.calibration),
            "models": encoded,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Component:
        from catboost import CatBoost

        models = []
        for encoded in data["models"]:
            model = CatBoost()
            model.load_model(blob=base64.b64decode(encoded, validate=True))
            models.append(model)
        slope, intercept = data["calibration"]
        return cls(
            int(data["epochs"]),
            models,
            [str(n) for n in data["feature_names"]],
            (float(slope), float(intercept)),
        )


def feature_matrix(features: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The columns ``names`` of ``features`` as a float matrix.

    CatBoost builds a Pool from a DataFrame column by column, which costs more than the
    prediction itself for the pruner's single row; a matrix is cheap.
    """
    import pandas as pd

    columns = features.columns.get_indexer(pd.Index(names))
    if (columns < 0).any():
        missing = [n for n, i in zip(names, columns, strict=True) if i < 0]
        raise ValueError(f"the features lack the columns {', '.join(missing)}")
    return np.ascontiguousarray(features.to_numpy(dtype="float64")[:, columns])


def _threads(rows: int) -> int:
    """CatBoost's threads for ``rows`` rows: one for a few (a thread pool costs more)."""
    return 1 if rows < _FEW_ROWS else -1
