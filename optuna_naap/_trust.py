"""How far a study's early steps can be trusted: measured on its own completed trials.

A pruner that prunes on step ``s`` bets that a trial's value there ranks its final. Whether it
does is a property of the objective (a warm-up learning rate that dips, boosting that reports
another metric than it returns, noisy or crossing curves), which the study's completed trials
show. :func:`floor_trust` measures, at each step, the rank correlation of the trials' best value
so far with their finals (normal scores; a one-sided lower confidence bound, so that few trials
mean little trust) and turns it into the chance the floor rule prunes a trial that would have
ended among the study's best (a Gaussian copula: the weakest of the top ``max(top_k, 10%)``
against the rule's percentile bar). The floor prunes from the first step after which every
step's risk is within the budget; before it, the bottom quarter from the first step after
which the risk of pruning that share is (a lower bar at the same correlation risks less).

Completed trials under a pruner are its survivors: truncation lowers their rank correlation,
so the measure errs towards not pruning. Plain numpy over a trials x steps matrix, built once
per completed-trial count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import optuna

    from optuna_naap._study_predictor import StudyPredictor

__all__ = [
    "FloorTrust",
    "checkpoint_steps",
    "floor_trust",
    "judged_trust",
    "learnt_rule_trust",
    "learnt_trusted",
    "overruled_by_step",
    "rank_trust",
    "replay_learnt_rule",
    "step_risk",
    "untrusted_reason",
]

#: Share of the completed trials (at least ``top_k`` of them) that count as the study's best.
TOP_SHARE = 0.1
#: Completed trials before the floor's trusted warm-up is measured; before, it is at least
#: ``DEFAULT_WARMUP`` of training (the conservative warm-up of a study without evidence).
TRUST_MIN_TRIALS = 10
DEFAULT_WARMUP = 0.2
#: How the learnt rule's trust is judged at a checkpoint: ``"rank"``, the risk of its
#: out-of-fold ranking (:func:`rank_trust`, the pruned share as the bar); ``"replay"``, the
#: ``top_k`` best it would have pruned out of fold; ``None``: not judged (the margin alone).
LEARNT_GATE: str | None = "rank"
#: The pruned share (percent, in maximize terms) of a lenient floor before the floor's own
#: trusted warm-up: the bottom quarter is pruned from the first step after which the risk of
#: pruning it stays within the budget (``None``: no lenient floor).
EARLY_SHARE: float | None = 25.0
#: One-sided normal quantile of the correlation's lower confidence bound (80%).
BOUND_Z = 0.8416
_NORMAL = NormalDist()


@dataclass(frozen=True)
class FloorTrust:
    """What the study's own completed trials say about the floor rule's steps.

    Attributes:
        warmup: The first step the floor rule may prune at (``None``: at no step).
        measured: Whether ``warmup`` was measured (enough completed trials) rather than the
            conservative default.
        n_trials: Completed trials it was measured on.
        rho: Per step, the lower bound of the rank correlation of best-so-far and final.
        risk: Per step, the chance that a trial ending among the study's best is pruned there.
        early_share: The lenient floor's pruned share (percent), where it has a warm-up.
        early_warmup: The first step the lenient floor prunes at, before ``warmup`` (``None``:
            none).
        early_risk: Per step, the chance that the lenient floor prunes a trial ending among
            the study's best.
    """

    warmup: int | None
    measured: bool
    n_trials: int
    rho: dict[int, float]
    risk: dict[int, float]
    early_share: float | None = None
    early_warmup: int | None = None
    early_risk: dict[int, float] | None = None

    def record(self, step: int) -> dict[str, Any]:
        """The trust of ``step`` as a decision record keeps it (JSON)."""
        record = {
            "warmup": self.warmup,
            "measured": self.measured,
            "trials": self.n_trials,
            "rho_low": round(self.rho.get(step, math.nan), 4),
            "risk": round(self.risk.get(step, math.nan), 4),
        }
        if self.early_warmup is not None and self.early_risk is not None:
            record.update(
                early_share=self.early_share,
                early_warmup=self.early_warmup,
                early_risk=round(self.early_risk.get(step, math.nan), 4),
            )
        return record


def checkpoint_steps(
    done: Sequence[optuna.trial.FrozenTrial], fractions: Sequence[float]
) -> list[int]:
    """The steps at which the learnt rule decides: for each fraction, the first step the
    completed trials ``done`` reported that lies at least that far into their training.

    Training's length is the median last step of ``done``; steps may start at 0 or 1 (a first
    step of 1 is read as epochs counted from 1) and come at any interval. Steps at or past the
    end are dropped (nothing is left to save there).
    """
    last = [t.last_step for t in done if t.last_step is not None]
    if not last:
        return []
    steps = sorted({s for t in done for s in t.intermediate_values})
    start = 1 if steps[0] == 1 else 0  # epochs counted from 1, else steps from 0
    end = float(np.median(last))
    found = []
    for fraction in fractions:
        target = start + fraction * (end + 1 - start) - 1
        i = int(np.searchsorted(steps, target - 1e-9))
        if i < len(steps) and steps[i] < end:
            found.append(int(steps[i]))
    return sorted(set(found))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1 along the first axis of ``x`` (trials x columns), ties given their average
    rank, as ``scipy.stats.rankdata``; a column holding a NaN is all NaN (its
    ``nan_policy="propagate"``)."""
    n = len(x)
    order = np.argsort(x, axis=0, kind="stable")
    ordered = np.take_along_axis(x, order, axis=0)
    position = np.arange(n)[:, None]
    starts = np.ones(x.shape, dtype=bool)  # where a run of equal values begins
    starts[1:] = ordered[1:] != ordered[:-1]
    ends = np.ones(x.shape, dtype=bool)  # where it ends
    ends[:-1] = starts[1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[::-1], axis=0)[::-1]
    ranks = np.empty(x.shape)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=0)
    ranks[:, np.isnan(x).any(axis=0)] = np.nan
    return ranks


def _normal_scores(x: np.ndarray) -> np.ndarray:
    """Van der Waerden scores of ``x`` along its first axis (average ranks for ties).

    Plain numpy and :class:`statistics.NormalDist` (no scipy: importing ``scipy.stats`` cost
    the first decision of a process 0.6-1.9 s)."""
    x = np.asarray(x, dtype="float64")
    flat = x.ndim == 1
    ranks = _average_ranks(x[:, None] if flat else x)
    scores = np.full(ranks.shape, np.nan)
    finite = ~np.isnan(ranks)
    # ranks are halves between 1 and n: one inverse-CDF call per distinct rank
    distinct, where = np.unique(ranks[finite], return_inverse=True)
    table = np.array([_NORMAL.inv_cdf(r / (len(x) + 1)) for r in distinct], dtype="float64")
    scores[finite] = table[where.reshape(-1)]
    return scores[:, 0] if flat else scores


def _lower_rho(scores: np.ndarray, finals: np.ndarray) -> np.ndarray:
    """Per column of ``scores`` (trials x columns), the ``BOUND_Z`` lower confidence bound of
    its normal-score correlation with ``finals`` (Fisher's z; at least 4 trials)."""
    m = len(finals)
    a, b = _normal_scores(scores), _normal_scores(finals)
    a = a - a.mean(axis=0)
    b = b - b.mean()
    spread = a.std(axis=0) * b.std()
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(spread > 0, (a * b[:, None]).mean(axis=0) / spread, 0.0)
    z = np.arctanh(np.clip(rho, -0.9999, 0.9999)) - BOUND_Z / math.sqrt(m - 3)
    return np.asarray(np.tanh(z))


def _n_best(n: int, top_k: int) -> int:
    """How many of ``n`` completed trials count as the study's best: the ``TOP_SHARE`` of
    them, at least ``top_k``, and not all of them."""
    return min(n - 1, max(top_k, math.ceil(TOP_SHARE * n)))


def step_risk(rho: float, *, n: int, n_best: int, percentile: float) -> float:
    """The chance that the weakest of the ``n_best`` best of ``n`` trials is below the
    ``percentile`` bar at a step whose values correlate with the finals by ``rho``."""
    if rho >= 1 or percentile <= 0:
        return 0.0
    if percentile >= 100:
        return 1.0
    top = _NORMAL.inv_cdf(1 - n_best / (n + 1))
    bar = _NORMAL.inv_cdf(percentile / 100)
    return _NORMAL.cdf((bar - max(rho, -0.999) * top) / math.sqrt(1 - max(rho, -0.999) ** 2))


def rank_trust(
    scores: np.ndarray, finals: np.ndarray, *, top_k: int, percentile: float
) -> tuple[float, float]:
    """The lower bound of the rank correlation of ``scores`` with ``finals`` (larger is better
    in both) and the chance that a rule pruning below the ``percentile`` bar of ``scores``
    prunes a trial ending among the best (:func:`step_risk`)."""
    m = len(scores)
    if m < 4:
        return math.nan, 1.0
    low = float(_lower_rho(np.asarray(scores, dtype="float64")[:, None], finals)[0])
    n_best = _n_best(m, top_k)
    return low, step_risk(low, n=m, n_best=n_best, percentile=percentile)


def floor_trust(
    done: Sequence[optuna.trial.FrozenTrial],
    *,
    percentile: float,
    top_k: int,
    maximize: bool,
    risk: float,
    min_trials: int,
    default_warmup: int | None,
) -> FloorTrust:
    """Measure at each step whether the floor rule can be trusted there, on the completed
    trials ``done``, and the warm-up that follows.

    ``percentile`` is the rule's, in maximize terms (50: the median; a trial below the bar is
    pruned). A step is trusted when :func:`step_risk` of the lower confidence bound of its
    rank correlation is at most ``risk``; the warm-up is the first step from which every step
    is trusted. With fewer than ``min_trials`` usable trials, the warm-up is at least
    ``default_warmup`` (``None``: no floor before then).

    Measured, a lenient floor may start earlier: pruning the :data:`EARLY_SHARE` worst (the
    bottom quarter) risks less than pruning below the median at the same correlation, so its
    own warm-up (``early_warmup``, from its risks ``early_risk``) can come first. The median
    takes over at ``warmup``.
    """
    usable = [t for t in done if t.values and math.isfinite(t.values[0]) and t.intermediate_values]
    n = len(usable)
    if n < 4:
        return FloorTrust(None, False, n, {}, {})
    steps = sorted({s for t in usable for s in t.intermediate_values})
    column = {s: j for j, s in enumerate(steps)}
    values = np.full((n, len(steps)), np.nan)
    for i, t in enumerate(usable):
        for s, v in t.intermediate_values.items():
            if v is not None and v == v:
                values[i, column[s]] = v
    sign = 1.0 if maximize else -1.0
    finals = sign * np.array([t.values[0] for t in usable], dtype="float64")
    # Best value so far at each step (a missing step keeps the best before it).
    best_so_far = np.maximum.accumulate(np.where(np.isnan(values), -np.inf, sign * values), axis=1)
    rhos: dict[int, float] = {}
    risks: dict[int, float] = {}
    present = ~np.isnan(values) & np.isfinite(best_so_far)
    full = present.all(axis=0)
    # Steps every trial reported (the common case): all their correlations in one pass.
    low_full = _lower_rho(best_so_far[:, full], finals) if full.any() else np.empty(0)
    full_low = dict(zip(np.asarray(steps)[full].tolist(), low_full.tolist(), strict=True))
    n_best = _n_best(n, top_k)
    counts: dict[int, int] = {}
    for j, step in enumerate(steps):
        if step in full_low:
            rhos[step], counts[step] = full_low[step], n
            risks[step] = step_risk(rhos[step], n=n, n_best=n_best, percentile=percentile)
        else:
            rows = np.flatnonzero(present[:, j])
            counts[step] = len(rows)
            rhos[step], risks[step] = rank_trust(
                best_so_far[rows, j], finals[rows], top_k=top_k, percentile=percentile
            )
    warmup = _first_trusted(steps, risks, risk)
    measured = n >= min_trials
    if not measured:
        warmup = None if default_warmup is None or warmup is None else max(warmup, default_warmup)
    early_share = EARLY_SHARE
    if not measured or early_share is None or not 0 < early_share < percentile:
        return FloorTrust(warmup, measured, n, rhos, risks)
    early = {
        step: step_risk(rhos[step], n=m, n_best=_n_best(m, top_k), percentile=early_share)
        if (m := counts[step]) >= 4 and rhos[step] == rhos[step]
        else 1.0
        for step in steps
    }
    early_warmup = _first_trusted(steps, early, risk)
    if early_warmup is None or (warmup is not None and early_warmup >= warmup):
        return FloorTrust(warmup, measured, n, rhos, risks)
    return FloorTrust(warmup, measured, n, rhos, risks, early_share, early_warmup, early)


def _first_trusted(steps: list[int], risks: dict[int, float], risk: float) -> int | None:
    """The first of ``steps`` from which every step's risk is within ``risk``."""
    first: int | None = None
    for step in reversed(steps):
        if risks[step] > risk:
            break
        first = step
    return first


def learnt_trusted(trust: dict[str, Any], *, risk: float, top_k: int) -> bool:
    """Whether the learnt rule's trust at a checkpoint, judged for one trial
    (:func:`judged_trust`), is within ``risk``, as :data:`LEARNT_GATE` judges it: the
    ``"rank"`` gate asks for out-of-fold predictions that rank the finals (a positive lower
    bound of their correlation) and judges the risk at the share pruning that trial prunes."""
    if LEARNT_GATE == "rank":
        return bool(trust["rho_low"] > 0 and trust["trial_risk"] <= risk)
    if LEARNT_GATE == "replay":
        return int(trust.get("top_k_lost", 0)) <= math.floor(risk * top_k + 1e-9)
    return True


def judged_trust(
    trust: dict[str, Any],
    model: StudyPredictor,
    predicted: float,
    *,
    top_k: int,
    maximize: bool,
) -> dict[str, Any]:
    """``trust``, the learnt rule's replay at a checkpoint, for one judged trial: where its
    ``predicted`` final ranks among the model's out-of-fold predictions of the completed
    trials (``trial_share``: the share of them predicted worse, plus one, over their count
    plus one), and the chance that a rule pruning at least that share prunes a trial ending
    among the best (``trial_risk``, :func:`step_risk`).

    The replay alone judges the rule at the share it pruned among the completed trials; a
    model fit on a few of them can prune none of those yet prune the trial at hand (a model
    whose predictions rank the finals backwards passed that way)."""
    sign = 1.0 if maximize else -1.0
    oof = sign * (model.train_values_ - model.cv_residuals_)
    share = (float(np.sum(oof < sign * predicted)) + 1) / (len(oof) + 1)
    n = int(trust["trials"])
    rho = float(trust.get("rho_low", math.nan))
    n_best = _n_best(n, top_k)
    at = 100 * max(float(trust.get("pruned_share", 0.0)), share)
    risk = step_risk(rho, n=n, n_best=n_best, percentile=at) if rho == rho else 1.0
    return {**trust, "trial_share": round(share, 4), "trial_risk": round(risk, 4)}


def untrusted_reason(
    trust: dict[str, Any], checkpoint: int, *, risk: float, top_k: int
) -> str | None:
    """Why the learnt rule keeps a trial at ``checkpoint``, where its ``trust`` (judged for
    that trial, :func:`judged_trust`) is not within ``risk`` (``None`` when it is)."""
    if learnt_trusted(trust, risk=risk, top_k=top_k):
        return None
    head = f"at step {checkpoint}: kept, the learnt rule is not trusted here yet: "
    if LEARNT_GATE == "rank" and not trust["rho_low"] > 0:
        return head + (
            f"out of fold, its predictions of {trust['trials']} completed trials do not rank "
            f"their finals (rank correlation {trust['rho_low']:.2f} at the 80% lower bound)"
        )
    if LEARNT_GATE == "rank":
        return head + (
            f"replayed on its out-of-fold predictions of {trust['trials']} completed trials, "
            f"pruning this one prunes {max(trust['pruned_share'], trust['trial_share']):.0%} "
            f"of them, and a trial ending among their best with chance "
            f"{trust['trial_risk']:.1%} (risk={risk:g})"
        )
    return head + (
        f"replayed on its out-of-fold predictions of {trust['trials']} completed trials it "
        f"would prune {trust['pruned_share']:.0%} of them, {trust['top_k_lost']} of their "
        f"{top_k} best (risk={risk:g})"
    )


def learnt_rule_trust(
    model: StudyPredictor, *, margin: float, top_k: int, maximize: bool
) -> dict[str, Any]:
    """The learnt rule replayed on a fitted ``model``'s out-of-fold predictions of the trials
    it was fit on: see :func:`replay_learnt_rule`."""
    predicted = model.train_values_ - model.cv_residuals_
    replay = replay_learnt_rule(
        predicted, model.train_values_, margin=margin, top_k=top_k, maximize=maximize
    )
    return {"trials": model.n_train_trials_, **replay}


def replay_learnt_rule(
    predicted: np.ndarray,
    finals: np.ndarray,
    *,
    margin: float,
    top_k: int,
    maximize: bool,
) -> dict[str, Any]:
    """The learnt rule replayed on out-of-fold ``predicted`` finals: the share of the
    completed trials it would have pruned (each against the ``top_k``-th best of the others'
    ``finals``, with ``margin``), how many of the ``top_k`` best among them, and the risk that
    it prunes a trial ending among the best (:func:`rank_trust`, the pruned share as the
    bar)."""
    sign = 1.0 if maximize else -1.0
    signed, reach = sign * finals, sign * predicted + margin
    n = len(finals)
    if n <= top_k:
        return {"pruned_share": 0.0, "top_k_lost": 0, "rho_low": math.nan, "risk": 0.0}
    order = np.argsort(-signed, kind="stable")
    bar = np.full(n, signed[order[top_k - 1]])
    bar[order[:top_k]] = signed[order[top_k]]  # the others' top_k-th best
    pruned = reach < bar
    share = float(pruned.mean())
    rho, risk = rank_trust(sign * predicted, signed, top_k=top_k, percentile=100 * share)
    return {
        "pruned_share": round(share, 4),
        "top_k_lost": int(pruned[order[:top_k]].sum()),
        "rho_low": round(rho, 4),
        "risk": round(risk if share > 0 else 0.0, 4),
    }


def overruled_by_step(
    decision: dict[str, Any],
    trial: optuna.trial.FrozenTrial,
    checkpoint: int,
    done: Sequence[optuna.trial.FrozenTrial],
    *,
    top_k: int,
    sign: float,
) -> None:
    """Keep a trial the learnt rule would prune when its best value so far is among the
    ``top_k`` best of the completed trials' values at ``checkpoint``: a model fit on few
    trials extrapolates (a curve better than any it saw, predicted to end badly), and a
    pruned trial never completes to correct it."""
    at_step = sorted(
        (
            sign * v
            for t in done
            if (v := t.intermediate_values.get(checkpoint)) is not None and v == v
        ),
        reverse=True,
    )
    values = [sign * v for s, v in trial.intermediate_values.items() if s <= checkpoint and v == v]
    if not values or len(at_step) < top_k or max(values) < at_step[top_k - 1]:
        return
    decision["verdict"] = "kept"
    decision["reason"] = (
        f"{decision['reason']}; kept: its best value so far {sign * max(values):.4f} is among "
        f"the top-{top_k} of {len(at_step)} completed trials at step {checkpoint}, which the "
        "learnt rule does not overrule"
    )
