"""Multi-objective NAS: accuracy against exact costs (MACs, parameters, layers) or a measured
one (latency), and the Pareto rule NAAPPruner and SchemePrescreen apply there.

See docs/pareto.md.
"""

from __future__ import annotations

from optuna_naap._pareto import (
    ACCURACY,
    EXACT_COSTS,
    ParetoObjectives,
    ParetoReferences,
    dominating_trial,
    hypervolume,
    objective_values,
    pareto_mask,
    record_cost,
    scheme_costs,
    should_prune,
    trial_costs,
)

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
