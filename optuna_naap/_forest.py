"""CatBoost's oblivious trees evaluated with numpy.

The pruner predicts one row per decision with 5 + 5 CatBoost models, and again for their
virtual ensembles: 20 calls into CatBoost, each with a fixed overhead (0.15-0.4 ms on the 2-core
development machine, about 1 ms on a slower one) that dwarfs the arithmetic of one row. A
:class:`Forest` holds a model's trees as arrays and gives the same numbers in a few
microseconds: CatBoost compares a feature, cast to float32, with a float32 border
(``value > border``), reads a leaf per tree and adds ``scale * sum + bias``; a virtual ensemble
is the model truncated to its first ``n`` trees, for ``count`` values of ``n`` evenly spread
over the second half of the trees.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from catboost import CatBoost

__all__ = ["Forest", "UnsupportedModel"]


class UnsupportedModel(ValueError):
    """A CatBoost model this evaluator does not reproduce (not symmetric trees of float
    features with one output): the caller keeps asking CatBoost."""


class Forest:
    """The trees of one CatBoost model, evaluated with numpy.

    Args:
        features: Feature index of each split, trees x depth.
        borders: Border of each split (float32), trees x depth; ``+inf`` pads shallower trees.
        leaves: Leaf values, trees x 2**depth.
        nan_true: For each feature, whether a missing value goes to the ``value > border``
            side (CatBoost's ``nan_mode="Max"``).
        scale: CatBoost's scale of the sum of leaves.
        bias: CatBoost's bias.
    """

    def __init__(
        self,
        features: np.ndarray,
        borders: np.ndarray,
        leaves: np.ndarray,
        nan_true: np.ndarray,
        scale: float,
        bias: float,
    ) -> None:
        self.features = features
        self.borders = borders
        self.leaves = leaves
        self.nan_true = nan_true
        self.scale = scale
        self.bias = bias
        self._powers = 1 << np.arange(features.shape[1], dtype=np.int64)
        self._trees = np.arange(len(features))

    @classmethod
    def from_catboost(cls, model: CatBoost) -> Forest:
        """Read a fitted model's trees (through CatBoost's JSON export).

        Raises:
            UnsupportedModel: trees of another shape, categorical splits or several outputs.
        """
        with tempfile.TemporaryDirectory() as tmpdir:
            path = Path(tmpdir) / "model.json"
            model.save_model(str(path), format="json")  # CatBoost writes its JSON to files only
            document = json.loads(path.read_text())
        return cls.from_json(document)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Forest:
        """Build from CatBoost's JSON model format."""
        trees = document.get("oblivious_trees")
        if not trees:
            raise UnsupportedModel("not a model of symmetric (oblivious) trees")
        info = document.get("features_info", {})
        floats = info.get("float_features", [])
        if set(info) - {"float_features"}:
            raise UnsupportedModel("the model has features other than numbers")
        flat = {f["feature_index"]: f["flat_feature_index"] for f in floats}
        nan_true = np.zeros(max(flat.values(), default=-1) + 1, dtype=bool)
        for f in floats:
            nan_true[f["flat_feature_index"]] = f.get("nan_value_treatment") == "AsTrue"
        depth = max(len(t["splits"]) for t in trees)
        features = np.zeros((len(trees), depth), dtype=np.int64)
        borders = np.full((len(trees), depth), np.inf, dtype=np.float32)
        leaves = np.zeros((len(trees), 1 << depth))
        for i, tree in enumerate(trees):
            splits = tree["splits"]
            if any(s.get("split_type") != "FloatFeature" for s in splits):
                raise UnsupportedModel("the model splits on something other than a number")
            if len(tree["leaf_values"]) != 1 << len(splits):
                raise UnsupportedModel("the model has more than one output")
            for d, split in enumerate(splits):
                features[i, d] = flat[split["float_feature_index"]]
                borders[i, d] = split["border"]
            # A padded level's border is +inf: its bit is 0, so the leaf index stays in range.
            leaves[i, : len(tree["leaf_values"])] = tree["leaf_values"]
        scale, bias = document.get("scale_and_bias", [1.0, [0.0]])
        if isinstance(bias, list):
            if len(bias) != 1:
                raise UnsupportedModel("the model has more than one output")
            bias = bias[0]
        return cls(features, borders, leaves, nan_true, float(scale), float(bias))

    def tree_values(self, x: np.ndarray) -> np.ndarray:
        """Each tree's leaf value for each row of ``x``: rows x trees."""
        values = np.asarray(x, dtype=np.float32)
        if values.ndim != 2 or values.shape[1] < len(self.nan_true):
            raise ValueError(
                f"the forest needs a matrix of at least {len(self.nan_true)} feature columns, "
                f"but got shape {values.shape}"
            )
        missing = np.isnan(values[:, : len(self.nan_true)])
        if missing.any():
            # CatBoost sends a missing value to one side of every border of its feature.
            fill = np.where(self.nan_true, np.inf, -np.inf).astype(np.float32)
            values = values.copy()
            values[:, : len(fill)] = np.where(missing, fill, values[:, : len(fill)])
        bits = values[:, self.features] > self.borders  # rows x trees x depth
        return self.leaves[self._trees, bits.astype(np.int64) @ self._powers]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """CatBoost's ``predict`` (raw values) for the rows of ``x``."""
        return self._summed(self.tree_values(x))

    def virtual_ensembles(self, x: np.ndarray, count: int) -> np.ndarray:
        """CatBoost's ``virtual_ensembles_predict(prediction_type="VirtEnsembles")``: rows x
        ``count`` predictions of the model truncated to its last ``count`` evenly spaced tree
        counts of the second half."""
        return self._truncated(self.tree_values(x), count)

    def predict_with_virtual(self, x: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`virtual_ensembles` from one pass over the trees."""
        values = self.tree_values(x)
        return self._summed(values), self._truncated(values, count)

    def _summed(self, values: np.ndarray) -> np.ndarray:
        return self.scale * values.sum(axis=1) + self.bias

    def _truncated(self, values: np.ndarray, count: int) -> np.ndarray:
        n_trees = len(self.features)
        step = (n_trees // 2) // count
        if step == 0:
            raise ValueError(
                f"{count} virtual ensembles need at least {2 * count} trees, "
                f"but the model has {n_trees}"
            )
        ends = n_trees - step * np.arange(count - 1, -1, -1)
        return self.scale * np.cumsum(values, axis=1)[:, ends - 1] + self.bias
