"""Judging a scheme by its predicted final accuracy: the bar of the known finals, the margin of
a predictor's errors, and the two judgements (top of the known finals; the Pareto front at the
scheme's costs) that the NAAP-440 rule and the pre-screen share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import TrialState

from optuna_naap._checks import check_int
from optuna_naap._pareto import ParetoObjectives, ParetoReferences, judge_pareto, trial_costs
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._record import keep_rule

if TYPE_CHECKING:
    import optuna

__all__ = [
    "bar_name",
    "check_bar_options",
    "judge_scheme_pareto",
    "judge_scheme_row",
    "known_finals_bar",
    "margin_quantile",
    "predict_row",
]


def check_bar_options(
    *, top_k: int, top_fraction: float | None, n_startup_trials: int, confidence: float
) -> None:
    """Validate the options of :func:`known_finals_bar` and of the margin's quantile."""
    check_int("top_k", top_k, low=1)
    if top_fraction is not None and not (
        isinstance(top_fraction, (int, float)) and 0 < top_fraction < 1
    ):
        raise ValueError(f"top_fraction must be in (0, 1) or None, but got {top_fraction=}")
    check_int("n_startup_trials", n_startup_trials, low=0)
    if not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise ValueError(f"confidence must be in [0, 1], but got {confidence=}")


def bar_name(top_k: int, top_fraction: float | None) -> str:
    """How decisions name the bar: ``top-20`` or ``top-5%``."""
    return f"top-{100 * top_fraction:g}%" if top_fraction is not None else f"top-{top_k}"


def margin_quantile(residuals: np.ndarray, confidence: float) -> float:
    """The ``confidence`` quantile of out-of-fold errors (0 without any, or at confidence 0)."""
    if not len(residuals) or confidence == 0:
        return 0.0
    return float(np.quantile(residuals, confidence))


def known_finals_bar(
    done: Sequence[optuna.trial.FrozenTrial],
    sign: float,
    *,
    references: np.ndarray,
    top_k: int,
    top_fraction: float | None,
    n_startup_trials: int,
) -> tuple[float, int, str]:
    """The bar a trial must be able to reach (``sign`` -1 for a minimizing study), given the
    study's COMPLETE trials ``done`` and other known finals; the count of known finals; and,
    while there is no bar yet, why (the bar is then NaN)."""
    # ``values`` rather than ``value``: the property's checks cost more than the rest here.
    finals = np.array([t.values[0] for t in done if t.values], dtype="float64")
    finals = finals[np.isfinite(finals)]
    known = sign * np.concatenate([references, finals])
    if len(done) < n_startup_trials:
        return (
            math.nan,
            len(known),
            f"startup: {len(done)} of n_startup_trials={n_startup_trials} trials completed",
        )
    if top_fraction is not None:
        needed = math.ceil(1 / top_fraction)
        if len(known) < needed:
            return (
                math.nan,
                len(known),
                f"startup: {len(known)} known finals, {needed} needed for "
                f"top_fraction={top_fraction:g}",
            )
        return sign * float(np.quantile(known, 1 - top_fraction)), len(known), ""
    if len(known) < top_k:
        return math.nan, len(known), f"startup: {len(known)} known finals, top_k={top_k} needed"
    kth = len(known) - top_k  # the top_k-th best, counting from the best
    return sign * float(np.partition(known, kth)[kth]), len(known), ""


def predict_row(predictor: NAAPPredictor, row: dict[str, Any]) -> tuple[float, float]:
    """The predicted final accuracy of one predictor row, and its spread."""
    import pandas as pd  # lazy, as everywhere in the package: it costs ~0.3 s to import

    mean, std = predictor.predict_with_uncertainty(pd.DataFrame([row]))
    return float(mean[0]), float(std[0])


def judge_scheme_row(
    decision: dict[str, Any],
    study: optuna.study.Study,
    predictor: NAAPPredictor,
    row: dict[str, Any],
    *,
    margin: float,
    uncertainty: float,
    references: np.ndarray,
    top_k: int,
    top_fraction: float | None,
    n_startup_trials: int,
    prefix: str = "",
) -> None:
    """Judge a scheme's predictor row against the known finals of a maximizing ``study``: the
    NAAP-440 decision that the pruner and the pre-screen share. Fills ``decision``."""
    predicted, spread = predict_row(predictor, row)
    margin = margin + uncertainty * spread
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    threshold, known, waiting = known_finals_bar(
        done,
        1.0,
        references=references,
        top_k=top_k,
        top_fraction=top_fraction,
        n_startup_trials=n_startup_trials,
    )
    decision.update(predicted=predicted, std=spread, margin=margin, known_finals=known)
    if math.isnan(threshold):
        decision["reason"] = waiting
        return
    keep_rule(
        decision,
        predicted=predicted,
        margin=margin,
        threshold=threshold,
        maximize=True,
        bar=bar_name(top_k, top_fraction),
        known=known,
        prefix=prefix,
    )


def judge_scheme_pareto(
    decision: dict[str, Any],
    study: optuna.study.Study,
    trial: optuna.trial.FrozenTrial | optuna.trial.Trial,
    predictor: NAAPPredictor,
    row: dict[str, Any],
    objectives: ParetoObjectives,
    *,
    margin: float,
    uncertainty: float,
    references: ParetoReferences | None,
    prefix: str,
    scheme: list[dict[str, Any]] | None = None,
) -> None:
    """Judge a scheme's predictor row against the Pareto front of a multi-objective ``study``
    at the trial's own costs (from ``scheme``, default the one it recorded): the rule the
    pruner and the pre-screen share. Fills ``decision``."""
    costs = trial_costs(trial, objectives, scheme)
    if isinstance(costs, str):
        decision["reason"] = costs
        return
    predicted, spread = predict_row(predictor, row)
    judge_pareto(
        decision,
        study,
        objectives,
        costs,
        predicted=predicted,
        std=spread,
        margin=margin + uncertainty * spread,
        references=references,
        prefix=prefix,
    )
