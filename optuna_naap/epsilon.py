"""The zero-cost epsilon score (epsinas): measured, it does not help on NAAP-440, so it is off by
default (docs/epsilon.md). Importing this module loads torch."""

from __future__ import annotations

from optuna_naap._epsilon import add_epsilon, choose_epsilon_weights, epsilon_batch, epsilon_score

__all__ = ["add_epsilon", "choose_epsilon_weights", "epsilon_batch", "epsilon_score"]
