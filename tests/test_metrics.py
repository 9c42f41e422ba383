from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from optuna_naap.metrics import (
    kendall_tau,
    mean_absolute_error,
    monotonicity_score,
    num_violations,
    ranking_scores,
    spearman_rho,
    top_k_recall,
)


def _paper_violations(truth: np.ndarray, predicted: np.ndarray) -> int:
    # The paper's loop: rows sorted by truth, then count inversions of the predicted order.
    order = np.argsort(truth, kind="stable")
    predicted = predicted[order]
    sorting = sorted(range(len(predicted)), key=lambda x: predicted[x])
    return sum(1 for i, s in enumerate(sorting) for j in range(i) if sorting[j] > s)


def test_hand_computed_cases() -> None:
    assert num_violations([1, 2, 3, 4], [1, 2, 3, 4]) == (0, 6)
    assert num_violations([1, 2, 3, 4], [4, 3, 2, 1]) == (6, 6)
    assert num_violations([1, 2, 3], [1, 3, 2]) == (1, 3)
    assert monotonicity_score([1, 2, 3], [1, 3, 2]) == pytest.approx(2 / 3)
    # Ties in the prediction are not violations.
    assert num_violations([1, 2, 3], [5, 5, 5]) == (0, 3)
    assert mean_absolute_error([0.5, 0.6], [0.55, 0.5]) == pytest.approx(0.075)
    assert top_k_recall([0.1, 0.9, 0.5, 0.7], [0.2, 0.8, 0.9, 0.1], 2) == 0.5
    assert top_k_recall([0.1, 0.9, 0.5, 0.7], [0.1, 0.9, 0.5, 0.7], 3) == 1.0
    assert monotonicity_score([1.0], [2.0]) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_against_scipy_and_the_papers_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.permutation(40) / 100 + 0.5  # distinct, as the NAAP-440 test rows
    predicted = truth + rng.normal(0, 0.1, 40)
    violations, pairs = num_violations(truth, predicted)
    assert pairs == 780
    assert violations == _paper_violations(truth, predicted)
    assert kendall_tau(truth, predicted) == pytest.approx(kendalltau(truth, predicted).statistic)
    assert spearman_rho(truth, predicted) == pytest.approx(spearmanr(truth, predicted).statistic)
    # Without ties, Kendall's tau is (concordant - discordant) / pairs.
    assert kendall_tau(truth, predicted) == pytest.approx((pairs - 2 * violations) / pairs)
    scores = ranking_scores(truth, predicted)
    assert scores.violations == violations
    assert scores.monotonicity == pytest.approx(1 - violations / 780)


@pytest.mark.parametrize(
    ("truth", "predicted", "message"),
    [
        ([1, 2], [1], "differ in length"),
        ([], [], "at least one value"),
        ([1, float("nan")], [1, 2], "finite"),
    ],
)
def test_bad_inputs(truth: list[float], predicted: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        num_violations(truth, predicted)


def test_top_k_bounds() -> None:
    with pytest.raises(ValueError, match="k=0"):
        top_k_recall([1, 2], [1, 2], 0)
    with pytest.raises(ValueError, match="k=3"):
        top_k_recall([1, 2], [1, 2], 3)
