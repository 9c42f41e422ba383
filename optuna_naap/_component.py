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

__all__ = ["Component"]

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

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The component's columns as a float matrix.

        CatBoost builds a Pool from a DataFrame column by column, which costs more than the
        prediction itself for the pruner's single row; a matrix is cheap.
        """
        import pandas as pd

        columns = features.columns.get_indexer(pd.Index(self.feature_names))
        if (columns < 0).any():
            missing = [n for n, i in zip(self.feature_names, columns, strict=True) if i < 0]
            raise ValueError(f"the features lack the columns {', '.join(missing)}")
        return np.ascontiguousarray(features.to_numpy(dtype="float64")[:, columns])

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


def _threads(rows: int) -> int:
    """CatBoost's threads for ``rows`` rows: one for a few (a thread pool costs more)."""
    return 1 if rows < _FEW_ROWS else -1
