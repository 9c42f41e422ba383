"""AutoSpace-style refinement of the scheme space, and the fitness it ranks options by."""

from __future__ import annotations

from optuna_naap._refine import OptionFitness, SpaceRefiner, option_fitness, trial_fitness

__all__ = ["OptionFitness", "SpaceRefiner", "option_fitness", "trial_fitness"]
