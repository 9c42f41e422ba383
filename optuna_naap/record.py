"""The trial record: recording a scheme and its epochs, reading them back, and every ``naap:``
attribute key (see docs/concepts.md for the table of attributes)."""

from __future__ import annotations

from optuna_naap._record import (
    BUILD_ATTR,
    CURVE_ATTR,
    DECISION_ATTR,
    DEVICE_ATTR,
    EXHAUSTED_ATTR,
    FAILURE_ATTR,
    FLAT_DECISION_KEYS,
    IS_TEST_ATTR,
    MODEL_ID_ATTR,
    NOTED_ATTR,
    PLANNED_ATTR,
    PREDICTED_ATTR,
    QUEUED_ATTR,
    RECIPE_ATTR,
    REFINED_SPACE_ATTR,
    SCHEME_ATTR,
    SPACE_ATTR,
    bound_decision,
)
from optuna_naap._trial import (
    record_scheme,
    report_epoch,
    scheme_params,
    screen_scheme,
    suggest_scheme,
    trial_curve,
    trial_scheme,
)

__all__ = [
    "BUILD_ATTR",
    "CURVE_ATTR",
    "DECISION_ATTR",
    "DEVICE_ATTR",
    "EXHAUSTED_ATTR",
    "FAILURE_ATTR",
    "FLAT_DECISION_KEYS",
    "IS_TEST_ATTR",
    "MODEL_ID_ATTR",
    "NOTED_ATTR",
    "PLANNED_ATTR",
    "PREDICTED_ATTR",
    "QUEUED_ATTR",
    "RECIPE_ATTR",
    "REFINED_SPACE_ATTR",
    "SCHEME_ATTR",
    "SPACE_ATTR",
    "bound_decision",
    "record_scheme",
    "report_epoch",
    "scheme_params",
    "screen_scheme",
    "suggest_scheme",
    "trial_curve",
    "trial_scheme",
]
