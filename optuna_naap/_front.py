"""The Pareto front of a multi-objective NAS study: which points are on it, the hypervolume they
dominate, and what a plot of a study's front shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import TrialState

from optuna_naap._optuna import compute_hypervolume
from optuna_naap._pareto import ParetoObjectives, trial_costs
from optuna_naap._record import bound_decision

if TYPE_CHECKING:
    import optuna

__all__ = ["front_points", "hypervolume", "pareto_mask"]


def pareto_mask(accuracy: Sequence[float], costs: Sequence[Sequence[float]]) -> list[bool]:
    """Whether each point (accuracy maximised, costs minimised) is on the Pareto front: no
    other point is at least as accurate and at most as costly, and better in one of them.
    Equal points are all on the front."""
    points = [
        (float(a), tuple(float(c) for c in cs)) for a, cs in zip(accuracy, costs, strict=True)
    ]
    mask = []
    for a, cs in points:
        dominated = any(
            b >= a
            and all(d <= c for d, c in zip(ds, cs, strict=True))
            and (b > a or any(d < c for d, c in zip(ds, cs, strict=True)))
            for b, ds in points
        )
        mask.append(not dominated)
    return mask


def hypervolume(
    accuracy: Sequence[float],
    costs: Sequence[Sequence[float]],
    *,
    reference: tuple[float, Sequence[float]],
) -> float:
    """The hypervolume the points dominate up to ``reference`` (worst accuracy, worst costs).

    Points no better than the reference in every objective add nothing.
    """
    worst_accuracy, worst_costs = reference
    losses = np.array(
        [[-a, *cs] for a, cs in zip(accuracy, costs, strict=True)], dtype="float64"
    ).reshape(-1, 1 + len(worst_costs))
    ref = np.array([-worst_accuracy, *worst_costs], dtype="float64")
    losses = losses[(losses < ref).all(axis=1)]
    if not len(losses):
        return 0.0
    if losses.shape[1] == 2:
        # Sweep by the first loss: each front point adds its slab up to the last best second.
        order = np.lexsort((losses[:, 1], losses[:, 0]))
        volume, best_second = 0.0, ref[1]
        for x, y in losses[order]:
            if y < best_second:
                volume += (ref[0] - x) * (best_second - y)
                best_second = y
        return float(volume)
    return compute_hypervolume(losses, ref)


def front_points(study: optuna.study.Study, objectives: ParetoObjectives) -> dict[str, list[Any]]:
    """What a Pareto plot of a multi-objective NAS study shows, per trial: the completed
    trials (accuracy, costs, number, on the study's front or not) and the pruned ones at their
    last predicted accuracy (costs from their decision, or their scheme)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    finished = [
        (t.number, *objectives.split(t.values))
        for t in done
        if t.values and len(t.values) == len(objectives.names)
    ]
    mask = pareto_mask([f[1] for f in finished], [f[2] for f in finished]) if finished else []
    pruned = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)):
        decision = bound_decision(t) or {}
        predicted = decision.get("predicted")
        costs = decision.get("costs") or trial_costs(t, objectives)
        if isinstance(predicted, (int, float)) and not isinstance(costs, str):
            pruned.append(
                (t.number, float(predicted), tuple(costs), int(decision.get("epoch", 0)))
            )
    return {
        "complete": [(n, a, c, bool(m)) for (n, a, c), m in zip(finished, mask, strict=True)],
        "pruned": pruned,
    }
