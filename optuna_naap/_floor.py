"""The floor rule of StudyLearner: Optuna's PercentilePruner rule (MedianPruner's at 50),
from the step the study's own trials say it can be trusted at (:mod:`optuna_naap._trust`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from optuna_naap._record import new_decision
from optuna_naap._trust import TRUST_MIN_TRIALS, FloorTrust

if TYPE_CHECKING:
    import optuna

__all__ = ["floor_decision"]


def floor_decision(
    trial: optuna.trial.FrozenTrial,
    step: int,
    done: Sequence[optuna.trial.FrozenTrial],
    *,
    maximize: bool,
    percentile: float,
    trust: Callable[[], FloorTrust] | None,
) -> dict[str, Any] | None:
    """Judge ``trial`` at ``step`` against the completed trials ``done``: prune (a decision)
    when its best value so far is worse than the ``percentile`` bar of their values at the step
    (50: the median; 25 prunes more, 75 less), else ``None``. ``trust`` gives the measured
    trust; before its warm-up nothing is pruned (``None``: from the first step), except by the
    lenient floor from its own warm-up (the worst ``early_share`` percent, a
    ``"bottom-25% rule"`` record). A trial that reported no number at all is pruned, as
    MedianPruner does.

    Plain Python on purpose: it runs at every report, where numpy's call overhead would cost
    more than the arithmetic (the trust is recomputed only as trials complete).
    """
    name = "median" if percentile == 50 else f"{percentile:g}th percentile"
    rule = f"{name} rule"
    values = [v for v in trial.intermediate_values.values() if v == v]  # NaN != NaN
    if not values:
        decision = new_decision(step, rule, trial=trial)
        decision.update(verdict="pruned", reason=f"no number reported up to step {step}")
        return decision
    measured = None
    if trust is not None:
        measured = trust()
        if measured.warmup is None or step < measured.warmup:
            if measured.early_warmup is None or step < measured.early_warmup:
                return None
            # Before the floor is trusted, a lenient one whose own risk is: the worst share.
            assert measured.early_share is not None
            percentile = 100 - measured.early_share  # in this function's (Optuna's) terms
            rule = f"bottom-{measured.early_share:g}% rule"
            name = f"worst-{measured.early_share:g}% bar"
    best = max(values) if maximize else min(values)
    others = []
    for t in done:
        value = t.intermediate_values.get(step)
        if value is not None and value == value:
            others.append(value)
    if not others:
        return None  # no evidence at this step
    bar = _percentile(sorted(others), 100 - percentile if maximize else percentile)
    if not ((best < bar) if maximize else (best > bar)):
        return None
    decision = new_decision(step, rule, trial=trial)
    if measured is not None:
        decision["trust"] = measured.record(step)
    decision.update(
        threshold=bar,
        verdict="pruned",
        reason=(
            f"{rule}: best value so far {best:.4f} is "
            f"{'below' if maximize else 'above'} the {name} {bar:.4f} of "
            f"{len(others)} completed trials at step {step}"
            + (_trusted_from(measured, step) if measured is not None else "")
        ),
    )
    return decision


def _trusted_from(trust: FloorTrust, step: int) -> str:
    """How a floor decision's record explains its warm-up."""
    if not trust.measured:
        return (
            f" (pruning from step {trust.warmup}: a conservative warm-up until "
            f"{TRUST_MIN_TRIALS} trials have completed, {trust.n_trials} so far)"
        )
    if trust.early_risk is not None and (trust.warmup is None or step < trust.warmup):
        return (
            f" (before the floor's trusted warm-up, the worst {trust.early_share:g}% are pruned "
            f"from step {trust.early_warmup}: on {trust.n_trials} completed trials, a trial "
            f"ending among their best is pruned at step {step} with chance "
            f"{trust.early_risk.get(step, math.nan):.1%})"
        )
    return (
        f" (trusted from step {trust.warmup}: on {trust.n_trials} completed trials, a trial "
        f"ending among their best is pruned at step {step} with chance "
        f"{trust.risk.get(step, math.nan):.1%})"
    )


def _percentile(ordered: list[float], q: float) -> float:
    """numpy's default (linear) percentile of sorted finite-or-infinite values."""
    position = q / 100 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    if ordered[low] == ordered[high]:
        return ordered[low]
    if math.isinf(ordered[low]) or math.isinf(ordered[high]):
        return math.nan  # as numpy: no bar, no pruning
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
