"""Ranking and error metrics of the NAAP paper and of NAS predictor papers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

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


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} and {p.size}")
    if t.size == 0:
        raise ValueError("metrics need at least one value, but got none")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("metrics need finite values, but got NaN or infinity")
    return t, p


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error of the predictions ``y_pred`` against the true values ``y_true``."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def num_violations(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[int, int]:
    """Return the NAAP paper's violations and the number of pairs, ``n(n-1)/2``.

    A violation is a pair ordered one way by the truth ``y_true`` and the other way by the
    prediction ``y_pred``.
    Pairs tied in the truth or in the prediction are not violations (the paper's NAAP-440 test
    rows have no tied truths).

    Example:
        .. code-block:: python

            from optuna_naap.metrics import num_violations

            assert num_violations([0.1, 0.2, 0.3], [0.1, 0.3, 0.2]) == (1, 3)
    """
    t, p = _pair(y_true, y_pred)
    dt = np.sign(t[:, None] - t[None, :])
    dp = np.sign(p[:, None] - p[None, :])
    violations = int(np.count_nonzero(np.triu(dt * dp < 0, k=1)))
    return violations, t.size * (t.size - 1) // 2


def monotonicity_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The NAAP paper's monotonicity score of ``y_pred`` against ``y_true``:
    ``1 - violations / (n(n-1)/2)`` (1.0 for n < 2)."""
    violations, pairs = num_violations(y_true, y_pred)
    return 1.0 - violations / pairs if pairs else 1.0


def kendall_tau(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Kendall's tau-b of ``y_pred`` against ``y_true`` (as :func:`scipy.stats.kendalltau`)."""
    from scipy.stats import kendalltau

    t, p = _pair(y_true, y_pred)
    return float(kendalltau(t, p).statistic)


def spearman_rho(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Spearman's rank correlation of ``y_pred`` against ``y_true`` (as
    :func:`scipy.stats.spearmanr`)."""
    from scipy.stats import spearmanr

    t, p = _pair(y_true, y_pred)
    return float(spearmanr(t, p).statistic)


def top_k_recall(y_true: ArrayLike, y_pred: ArrayLike, k: int) -> float:
    """Share of the ``k`` truly best rows (by ``y_true``) that are among the ``k`` best
    predicted rows (by ``y_pred``).

    Ties are broken by row order (first row first), in both rankings.
    """
    t, p = _pair(y_true, y_pred)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= t.size:
        raise ValueError(f"k must be between 1 and the number of rows ({t.size}), but got {k=}")
    best_true = set(np.argsort(-t, kind="stable")[:k].tolist())
    best_pred = set(np.argsort(-p, kind="stable")[:k].tolist())
    return len(best_true & best_pred) / k


@dataclass(frozen=True)
class RankingScores:
    """All metrics of one prediction, as reported by ``optuna-naap evaluate``.

    Attributes:
        mae: Mean absolute error.
        violations: The NAAP paper's violations (pairs ranked the wrong way).
        max_violations: The number of pairs, ``n(n-1)/2``.
        monotonicity: ``1 - violations / max_violations``.
        kendall: Kendall's tau-b.
        spearman: Spearman's rank correlation.
    """

    mae: float
    violations: int
    max_violations: int
    monotonicity: float
    kendall: float
    spearman: float


def ranking_scores(y_true: ArrayLike, y_pred: ArrayLike) -> RankingScores:
    """Compute every metric of :class:`RankingScores` of ``y_pred`` against ``y_true`` at
    once."""
    violations, pairs = num_violations(y_true, y_pred)
    return RankingScores(
        mae=mean_absolute_error(y_true, y_pred),
        violations=violations,
        max_violations=pairs,
        monotonicity=1.0 - violations / pairs if pairs else 1.0,
        kendall=kendall_tau(y_true, y_pred),
        spearman=spearman_rho(y_true, y_pred),
    )
