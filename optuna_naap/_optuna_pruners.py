"""Optuna's own pruners by name, with their defaults or with the usual settings for a budget:
the one table the command line and both benchmarks choose from."""

from __future__ import annotations

from collections.abc import Callable

from optuna import pruners as p
from optuna.pruners import BasePruner

from optuna_naap._optuna import quietly

__all__ = ["optuna_pruners"]


def optuna_pruners(
    *, warmup: int | None = None, max_resource: int | None = None
) -> dict[str, Callable[[], BasePruner]]:
    """Optuna's pruners by name: with Optuna's defaults (``warmup=None``, the objectives suite),
    or with the usual settings for a budget of ``max_resource`` steps and a warm-up of
    ``warmup`` steps (the replay: 10% of training)."""
    if warmup is None:
        return {
            "nop": p.NopPruner,
            "median": p.MedianPruner,
            "percentile25": lambda: p.PercentilePruner(25.0),
            "percentile75": lambda: p.PercentilePruner(75.0),
            "successive-halving": p.SuccessiveHalvingPruner,
            "hyperband": p.HyperbandPruner,
            "wilcoxon": lambda: quietly(p.WilcoxonPruner),
            "patient-median": lambda: quietly(p.PatientPruner, p.MedianPruner(), patience=3),
        }
    return {
        "nop": p.NopPruner,
        "median": lambda: p.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup),
        "percentile75": lambda: p.PercentilePruner(75.0, n_warmup_steps=warmup),
        "successive-halving": lambda: p.SuccessiveHalvingPruner(
            min_resource=warmup, reduction_factor=4
        ),
        "hyperband": lambda: p.HyperbandPruner(
            min_resource=warmup, max_resource=max_resource or "auto", reduction_factor=3
        ),
        "wilcoxon": lambda: quietly(p.WilcoxonPruner, p_threshold=0.1, n_startup_steps=warmup),
        "patient-median": lambda: quietly(
            p.PatientPruner, p.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup), patience=3
        ),
    }
