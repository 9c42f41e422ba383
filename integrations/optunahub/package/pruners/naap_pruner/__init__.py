"""NAAPPruner for OptunaHub: the pruner ships on PyPI as ``optuna-naap`` (with its NAAP-440
predictors and their fitting code); this package re-exports it for ``optunahub.load_module``."""

from optuna_naap import NAAPPredictor, NAAPPruner, SchemeRule, StudyLearner, StudyPredictor

__all__ = ["NAAPPredictor", "NAAPPruner", "SchemeRule", "StudyLearner", "StudyPredictor"]
