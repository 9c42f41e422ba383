"""The zero-cost epsilon score (epsinas): two constant-weight forward passes, no training.

Every conv, linear and affine BatchNorm weight is set to one constant, every bias to 0; one
unlabelled batch goes forward with batch statistics; the outputs are min-max rescaled, zeros
count as missing; with two constants w1 and w2 the score is the mean absolute difference of the
two rescaled outputs divided by their mean. No labels, no gradients; the model is restored.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from optuna_naap._features import EPSILON_FEATURE
from optuna_naap._net import SchemeNet
from optuna_naap._scheme import SchemeLike

if TYPE_CHECKING:
    import pandas as pd

    from optuna_naap._images import ImageData

__all__ = [
    "DEFAULT_WEIGHTS",
    "add_epsilon",
    "choose_epsilon_weights",
    "epsilon_batch",
    "epsilon_score",
]

#: The default pair: what choose_epsilon_weights picked on 60 NAAP-440 training schemes with
#: the grey batch (docs/epsilon.md).
DEFAULT_WEIGHTS = (1e-6, 1e-5)


def epsilon_batch(data: ImageData | None = None, *, size: int = 64, seed: int = 0) -> torch.Tensor:
    """One unlabelled, normalised batch of ``size`` images: from ``data``, or grey-scale noise
    without (``seed`` chooses them).

    The grey-scale batch (one random level per image, the same on the three channels, plus
    mild noise) serves when no images are at hand; the score needs no labels.
    """
    generator = np.random.default_rng(seed)
    if data is not None:
        picks = generator.choice(len(data.train_images), size=min(size, len(data.train_images)))
        images = torch.from_numpy(data.train_images[picks]).permute(0, 3, 1, 2).float() / 255
    else:
        level = generator.uniform(0, 1, size=(size, 1, 32, 32))
        noise = generator.normal(0, 0.1, size=(size, 1, 32, 32))
        grey = np.clip(level + noise, 0, 1).repeat(3, axis=1)
        images = torch.from_numpy(grey).float()
    return (images - 0.5) / 0.5


def as_batch(images: ImageData | torch.Tensor | None) -> torch.Tensor:
    """A batch as given, or :func:`epsilon_batch` of image data (grey-scale for ``None``)."""
    return images if isinstance(images, torch.Tensor) else epsilon_batch(images)


def _constant_outputs(model: nn.Module, batch: torch.Tensor, weight: float) -> np.ndarray:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.fill_(weight)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
                module.weight.fill_(weight)
                module.bias.zero_()
        model.train()  # batch statistics
        out = model(batch).double().flatten()
    low, high = out.min(), out.max()
    rescaled = (out - low) / (high - low) if high > low else torch.full_like(out, math.nan)
    values = rescaled.cpu().numpy()
    values[values == 0] = np.nan  # zeros count as missing
    return values


def epsilon_score(
    scheme_or_model: SchemeLike | nn.Module,
    images: torch.Tensor,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> float:
    """The epsilon score of a scheme (or a model) on one unlabelled batch.

    Args:
        scheme_or_model: A scheme (a :class:`~optuna_naap.objective.SchemeNet` is built for
            it) or any torch module; a given module's state (weights, BatchNorm statistics,
            train/eval mode) is restored afterwards.
        images: A normalised batch, N x 3 x H x W (:func:`epsilon_batch`).
        weights: The two constant weights.

    Returns:
        The score, or NaN where it is undefined (constant or all-zero outputs).
    """
    if len(weights) != 2 or not all(isinstance(w, (int, float)) for w in weights):
        raise ValueError(f"weights must be two numbers, but got {weights=}")
    if weights[0] == weights[1]:
        raise ValueError(f"the two weights must differ, but got {weights=}")
    if isinstance(scheme_or_model, nn.Module):
        model, restore = scheme_or_model, copy.deepcopy(scheme_or_model.state_dict())
        training = scheme_or_model.training
    else:
        model, restore, training = SchemeNet(scheme_or_model), None, True
    try:
        model = model.to(images.device)
        first = _constant_outputs(model, images, float(weights[0]))
        second = _constant_outputs(model, images, float(weights[1]))
    finally:
        if restore is not None:
            model.load_state_dict(restore)
            model.train(training)
    if np.isnan(first).all() or np.isnan(second).all():
        return math.nan
    mean = np.nanmean(np.concatenate([first, second]))
    difference = np.nanmean(np.abs(first - second))
    if not np.isfinite(difference) or not mean > 0:
        return math.nan
    return float(difference / mean)


def choose_epsilon_weights(
    schemes: Sequence[SchemeLike],
    images: torch.Tensor,
    candidates: Sequence[float] = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
) -> tuple[tuple[float, float], int]:
    """The pair of ``candidates`` weights with the fewest undefined scores over ``schemes``
    on the batch ``images``.

    Returns the pair and its count of undefined (NaN) scores; ties go to the first pair in the
    candidates' order.
    """
    best: tuple[tuple[float, float], int] | None = None
    for pair in itertools.combinations(candidates, 2):
        undefined = sum(math.isnan(epsilon_score(s, images, pair)) for s in schemes)
        if best is None or undefined < best[1]:
            best = (pair, undefined)
    assert best is not None
    return best


def add_epsilon(
    frame: pd.DataFrame,
    images: ImageData | torch.Tensor | None = None,
    *,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> pd.DataFrame:
    """Return a copy of NAAP-440 rows ``frame`` with an ``Epsilon`` column, one score per
    ``Scheme`` (with the pair of ``weights``).

    For fitting a :class:`~optuna_naap.NAAPPredictor` with ``extra_features=("Epsilon",)``;
    ``images`` as :class:`~optuna_naap.ImageData` or a batch (default: the grey-scale batch).

    Example:
        .. code-block:: python

            from optuna_naap import NAAPPredictor, load_naap440
            from optuna_naap.epsilon import add_epsilon

            rows = add_epsilon(load_naap440())
            predictor = NAAPPredictor(0, extra_features=("Epsilon",)).fit(rows)
    """
    import json

    if "Scheme" not in frame.columns:
        raise ValueError(
            "the rows lack the Scheme column; load them with optuna_naap.load_naap440"
        )
    batch = as_batch(images)
    scores = [epsilon_score(json.loads(s), batch, weights) for s in frame["Scheme"]]
    out = frame.copy()
    out[EPSILON_FEATURE] = scores
    return out
