"""Training a scheme with the NAAP recipe: the Optuna objective, the network and the training loop.
Importing this module loads torch."""

from __future__ import annotations

from optuna_naap._net import SchemeNet
from optuna_naap._objective import (
    CIFAR10Objective,
    EpochResult,
    TrainingError,
    resolve_device,
    train_scheme,
)
from optuna_naap._recipe import Recipe

__all__ = [
    "CIFAR10Objective",
    "EpochResult",
    "Recipe",
    "SchemeNet",
    "TrainingError",
    "resolve_device",
    "train_scheme",
]
