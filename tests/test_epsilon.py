from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from optuna_naap import synthetic_images
from optuna_naap._epsilon import choose_epsilon_weights, epsilon_batch, epsilon_score
from optuna_naap.objective import SchemeNet

SCHEMES = [
    [{"kernel_size": 3, "width": 12, "stride": 2, "residual": False}],
    [
        {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
        {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
        {"kernel_size": 1, "width": 32, "stride": 2, "residual": False},
    ],
]


def test_score_is_a_deterministic_finite_number() -> None:
    batch = epsilon_batch(size=16)
    scores = [epsilon_score(s, batch, (1e-6, 1e-5)) for s in SCHEMES]
    assert all(math.isfinite(s) and s >= 0 for s in scores)
    assert scores == [epsilon_score(s, batch, (1e-6, 1e-5)) for s in SCHEMES]
    assert scores[0] != scores[1]  # it tells schemes apart


def test_a_given_model_is_restored() -> None:
    torch.manual_seed(0)
    model = SchemeNet(SCHEMES[1]).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    score = epsilon_score(model, epsilon_batch(size=8), (1e-6, 1e-5))
    assert math.isfinite(score)
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_batches_from_images_or_grey_noise() -> None:
    grey = epsilon_batch(size=4)
    assert grey.shape == (4, 3, 32, 32) and torch.equal(grey[:, 0], grey[:, 1])
    assert grey.min() >= -1 and grey.max() <= 1
    images = epsilon_batch(synthetic_images(20, 4), size=8)
    assert images.shape == (8, 3, 32, 32) and not torch.equal(images[:, 0], images[:, 1])


def test_weights_are_chosen_by_fewest_undefined_scores() -> None:
    batch = epsilon_batch(size=8)
    pair, undefined = choose_epsilon_weights(SCHEMES, batch, candidates=(0.0, 1e-6, 1e-5))
    # Weight 0 makes every output equal: undefined. The only pair without it wins.
    assert pair == (1e-6, 1e-5) and undefined == 0
    assert math.isnan(epsilon_score(SCHEMES[0], batch, (0.0, 1e-5)))


@pytest.mark.parametrize("weights", [(1.0,), (1e-5, 1e-5)])
def test_bad_weights(weights: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="weights"):
        epsilon_score(SCHEMES[0], epsilon_batch(size=2), weights)


def test_scores_are_reproducible_over_many_schemes() -> None:
    from optuna_naap import SchemeSpace

    schemes = SchemeSpace().enumerate()[::40]
    batch = epsilon_batch(size=16)
    scores = np.array([epsilon_score(s, batch) for s in schemes])
    assert np.isfinite(scores).all() and len(set(np.round(scores, 9))) > len(schemes) // 2
