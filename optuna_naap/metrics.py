"""Ranking and error metrics of predicted against true final accuracies (the paper's and more)."""

from __future__ import annotations

from optuna_naap._metrics import (
    RankingScores,
    kendall_tau,
    mean_absolute_error,
    monotonicity_score,
    num_violations,
    ranking_scores,
    spearman_rho,
    top_k_recall,
)

__all__ = [
    "RankingScores",
    "kendall_tau",
    "mean_absolute_error",
    "monotonicity_score",
    "num_violations",
    "ranking_scores",
    "spearman_rho",
    "top_k_recall",
]
