"""The suite of real objectives (the older name of part of :mod:`optuna_naap.benchmark`): Optuna's
own pruning examples run offline, NAAPPruner on your own objective."""

from __future__ import annotations

from optuna_naap.benchmark._suite import (
    SuiteResult,
    plot_suite,
    run_one,
    run_suite,
    suite_pruners,
    summarize_suite,
    totals,
)
from optuna_naap.benchmark._suite_objectives import OBJECTIVES, SuiteObjective

__all__ = [
    "OBJECTIVES",
    "SuiteObjective",
    "SuiteResult",
    "plot_suite",
    "run_one",
    "run_suite",
    "suite_pruners",
    "summarize_suite",
    "totals",
]
