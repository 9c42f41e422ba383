"""optuna-naap: predict a network's final accuracy from its architecture and first epochs.

Heavy dependencies (torch, catboost) are imported only when the names that need them are used,
so ``import optuna_naap`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optuna_naap._data import (
    NAAPDataError,
    attach_schemes,
    default_cache_dir,
    fetch_naap440,
    load_naap440,
    read_naap_csv,
    validate_frame,
)
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
from optuna_naap._images import ImageData, ImageDataError, load_cifar10, synthetic_images
from optuna_naap._metrics import (
    RankingScores,
    kendall_tau,
    mean_absolute_error,
    monotonicity_score,
    num_violations,
    ranking_scores,
    spearman_rho,
    top_k_recall,
)
from optuna_naap._predictor import NAAPPredictor, PredictorFileError
from optuna_naap._recipe import Recipe
from optuna_naap._record import DECISION_ATTR
from optuna_naap._refine import OptionFitness, SpaceRefiner, option_fitness, trial_fitness
from optuna_naap._sampler import NAAPSampler
from optuna_naap._scheme import Block, Scheme, as_scheme, scheme_to_json, validate_scheme
from optuna_naap._space import PositionChoices, SchemeSpace
from optuna_naap._study_io import frame_to_study, study_to_frame, write_naap_csv
from optuna_naap._trial import (
    CURVE_ATTR,
    SCHEME_ATTR,
    record_scheme,
    report_epoch,
    scheme_params,
    screen_scheme,
    suggest_scheme,
    trial_curve,
    trial_scheme,
)

if TYPE_CHECKING:
    from optuna_naap._epsilon import (
        add_epsilon,
        choose_epsilon_weights,
        epsilon_batch,
        epsilon_score,
    )
    from optuna_naap._learner import StudyLearner
    from optuna_naap._net import SchemeNet
    from optuna_naap._objective import CIFAR10Objective, EpochResult, TrainingFailed, train_scheme
    from optuna_naap._prescreen import SchemePrescreen
    from optuna_naap._pruner import NAAPPruner
    from optuna_naap._study_predictor import StudyPredictor

__version__ = "0.1.0"

__all__ = [
    "CURVE_ATTR",
    "CURVE_METRICS",
    "DECISION_ATTR",
    "EPSILON_FEATURE",
    "SCHEME_ATTR",
    "SCHEME_COLUMNS",
    "SCHEME_COLUMNS_V2",
    "Block",
    "CIFAR10Objective",
    "EpochResult",
    "ImageData",
    "ImageDataError",
    "NAAPDataError",
    "NAAPPredictor",
    "NAAPPruner",
    "NAAPSampler",
    "OptionFitness",
    "PositionChoices",
    "PredictorFileError",
    "RankingScores",
    "Recipe",
    "Scheme",
    "SchemeNet",
    "SchemePrescreen",
    "SchemeSpace",
    "SpaceRefiner",
    "StudyLearner",
    "StudyPredictor",
    "TrainingFailed",
    "add_epsilon",
    "as_scheme",
    "attach_schemes",
    "build_features",
    "choose_epsilon_weights",
    "curve_columns",
    "default_cache_dir",
    "epsilon_batch",
    "epsilon_score",
    "fetch_naap440",
    "frame_to_study",
    "kendall_tau",
    "load_cifar10",
    "load_naap440",
    "mean_absolute_error",
    "monotonicity_score",
    "num_violations",
    "option_fitness",
    "ranking_scores",
    "read_naap_csv",
    "record_scheme",
    "report_epoch",
    "scheme_descriptors",
    "scheme_features",
    "scheme_params",
    "scheme_to_json",
    "screen_scheme",
    "spearman_rho",
    "study_to_frame",
    "suggest_scheme",
    "synthetic_images",
    "train_scheme",
    "top_k_recall",
    "trial_curve",
    "trial_fitness",
    "trial_scheme",
    "validate_frame",
    "validate_scheme",
    "write_naap_csv",
]

_LAZY = {
    "SchemeNet": "optuna_naap._net",
    "CIFAR10Objective": "optuna_naap._objective",
    "EpochResult": "optuna_naap._objective",
    "TrainingFailed": "optuna_naap._objective",
    "train_scheme": "optuna_naap._objective",
    "NAAPPruner": "optuna_naap._pruner",
    "StudyLearner": "optuna_naap._learner",
    "StudyPredictor": "optuna_naap._study_predictor",
    "SchemePrescreen": "optuna_naap._prescreen",
    "add_epsilon": "optuna_naap._epsilon",
    "choose_epsilon_weights": "optuna_naap._epsilon",
    "epsilon_batch": "optuna_naap._epsilon",
    "epsilon_score": "optuna_naap._epsilon",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optuna_naap' has no attribute {name!r}")
