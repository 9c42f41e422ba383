"""optuna-naap: predict a network's final accuracy from its architecture and first epochs.

The top level holds what users reach for (about 25 names); the rest lives in public submodules:
``optuna_naap.scheme``, ``.features``, ``.record``, ``.data``, ``.metrics``, ``.objective``,
``.pareto``, ``.refine``, ``.epsilon``, ``.benchmark``, ``.objective_suite`` and
``.integrations``. Heavy dependencies (torch, catboost) are imported only when the names that
need them are used, so ``import optuna_naap`` stays fast.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from optuna_naap._data import NAAPDataError, load_naap440
from optuna_naap._features import scheme_features
from optuna_naap._images import ImageData, load_cifar10, synthetic_images
from optuna_naap._nsga import PruningAwareNSGAIISampler
from optuna_naap._predictor import NAAPPredictor, PredictorFileError
from optuna_naap._recipe import Recipe
from optuna_naap._record import DECISION_ATTR
from optuna_naap._refine import SpaceRefiner
from optuna_naap._sampler import NAAPSampler
from optuna_naap._scheme import validate_scheme
from optuna_naap._space import SchemeSpace
from optuna_naap._task import record_task
from optuna_naap._trial import (
    record_scheme,
    report_epoch,
    scheme_params,
    suggest_scheme,
    trial_scheme,
)

if TYPE_CHECKING:
    from optuna_naap._learner import StudyLearner
    from optuna_naap._objective import CIFAR10Objective, train_scheme
    from optuna_naap._prescreen import SchemePrescreen
    from optuna_naap._pruner import NAAPPruner
    from optuna_naap._rule import LEAN_BAR, WIDE_BAR, SchemeRule
    from optuna_naap._should_prune import should_prune
    from optuna_naap._study_predictor import StudyPredictor

__version__ = "0.1.0"

__all__ = [
    "DECISION_ATTR",
    "CIFAR10Objective",
    "ImageData",
    "LEAN_BAR",
    "NAAPDataError",
    "NAAPPredictor",
    "NAAPPruner",
    "NAAPSampler",
    "PredictorFileError",
    "PruningAwareNSGAIISampler",
    "Recipe",
    "SchemePrescreen",
    "SchemeRule",
    "SchemeSpace",
    "SpaceRefiner",
    "StudyLearner",
    "StudyPredictor",
    "WIDE_BAR",
    "load_cifar10",
    "load_naap440",
    "record_task",
    "record_scheme",
    "report_epoch",
    "scheme_features",
    "scheme_params",
    "should_prune",
    "suggest_scheme",
    "synthetic_images",
    "train_scheme",
    "trial_scheme",
    "validate_scheme",
]

_LAZY = {
    "CIFAR10Objective": "optuna_naap._objective",
    "train_scheme": "optuna_naap._objective",
    "NAAPPruner": "optuna_naap._pruner",
    "should_prune": "optuna_naap._should_prune",
    "SchemeRule": "optuna_naap._rule",
    "LEAN_BAR": "optuna_naap._rule",
    "WIDE_BAR": "optuna_naap._rule",
    "StudyLearner": "optuna_naap._learner",
    "StudyPredictor": "optuna_naap._study_predictor",
    "SchemePrescreen": "optuna_naap._prescreen",
}

#: Names that were top-level before 0.2: where they live now (they go from the top in 0.3).
_MOVED = {
    **{
        name: ("optuna_naap.record", name)
        for name in ("CURVE_ATTR", "SCHEME_ATTR", "screen_scheme", "trial_curve")
    },
    **{
        name: ("optuna_naap.features", name)
        for name in (
            "CURVE_METRICS",
            "EPSILON_FEATURE",
            "SCHEME_COLUMNS",
            "SCHEME_COLUMNS_V2",
            "build_features",
            "curve_columns",
            "scheme_descriptors",
        )
    },
    **{
        name: ("optuna_naap.data", name)
        for name in (
            "ImageDataError",
            "attach_schemes",
            "default_cache_dir",
            "fetch_naap440",
            "frame_to_study",
            "read_naap_csv",
            "study_to_frame",
            "validate_frame",
            "write_naap_csv",
        )
    },
    **{
        name: ("optuna_naap.metrics", name)
        for name in (
            "RankingScores",
            "kendall_tau",
            "mean_absolute_error",
            "monotonicity_score",
            "num_violations",
            "ranking_scores",
            "spearman_rho",
            "top_k_recall",
        )
    },
    **{
        name: ("optuna_naap.epsilon", name)
        for name in ("add_epsilon", "choose_epsilon_weights", "epsilon_batch", "epsilon_score")
    },
    **{name: ("optuna_naap.scheme", name) for name in ("Block", "PositionChoices", "Scheme")},
    **{name: ("optuna_naap.refine", name) for name in ("OptionFitness", "option_fitness")},
    "trial_fitness": ("optuna_naap.refine", "trial_fitness"),
    "SchemeNet": ("optuna_naap.objective", "SchemeNet"),
    "EpochResult": ("optuna_naap.objective", "EpochResult"),
    # Renamed: the old names said less than the new ones.
    "TrainingFailed": ("optuna_naap.objective", "TrainingError"),
    "as_scheme": ("optuna_naap.scheme", "validate_scheme"),
    "scheme_to_json": ("optuna_naap.scheme", "scheme_to_dicts"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MOVED:
        module, new = _MOVED[name]
        warnings.warn(
            f"optuna_naap.{name} is deprecated and goes in 0.3: use {module}.{new}",
            FutureWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), new)
    raise AttributeError(f"module 'optuna_naap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
