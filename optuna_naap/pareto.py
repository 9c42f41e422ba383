"""Multi-objective NAS: accuracy against exact costs (MACs, parameters, layers) or a measured
one (latency), and the Pareto rule NAAPPruner and SchemePrescreen apply there.

See docs/pareto.md.
"""

from __future__ import annotations

from optuna_naap._front import hypervolume, pareto_mask
from optuna_naap._pareto import (
    ACCURACY,
    EXACT_COSTS,
    ParetoObjectives,
    ParetoReferences,
    dominating_trial,
    objective_values,
    record_cost,
    scheme_costs,
    trial_costs,
)
from optuna_naap._should_prune import should_prune

__all__ = [
    "ACCURACY",
    "EXACT_COSTS",
    "ParetoObjectives",
    "ParetoReferences",
    "dominating_trial",
    "objective_values",
    "pareto_mask",
    "hypervolume",
    "record_cost",
    "scheme_costs",
    "should_prune",
    "trial_costs",
]
