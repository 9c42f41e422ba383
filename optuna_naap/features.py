"""A scheme's features (NumParams, NumMACs, depth, stages, widths, ...) and the CSV columns."""

from __future__ import annotations

from optuna_naap._features import (
    CURVE_METRICS,
    EPSILON_FEATURE,
    SCHEME_COLUMNS,
    SCHEME_COLUMNS_V2,
    build_features,
    curve_columns,
    scheme_descriptors,
    scheme_features,
)

__all__ = [
    "CURVE_METRICS",
    "EPSILON_FEATURE",
    "SCHEME_COLUMNS",
    "SCHEME_COLUMNS_V2",
    "build_features",
    "curve_columns",
    "scheme_descriptors",
    "scheme_features",
]
