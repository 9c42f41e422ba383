"""The NAAP training recipe (no torch import: a plain, validated description)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from optuna_naap._checks import check_int

__all__ = ["NAAP_SEED", "Recipe"]

#: The seed of the NAAP-440 reference runs.
NAAP_SEED = 20220819


@dataclass(frozen=True)
class Recipe:
    """How a scheme is trained: the NAAP-440 recipe by default.

    SGD with learning rate 0.1, momentum 0.9 and weight decay 1e-4; batches of 256 with the
    last, partial batch kept (50000 images: 195 full batches and one of 80); 90 epochs; the
    learning rate multiplied by 0.1 after every epoch and reset every 3 epochs (0.1, 0.01,
    0.001, 0.1, ...); no augmentation; images normalised with mean 0.5 and std 0.5; seed
    20220819. The reference script built its network *before* seeding, so its initialisation
    was not reproducible; here the seed is set before the network is built.

    The fast options are off by default, because they change the numbers: ``bf16`` (autocast
    to bfloat16 on CUDA), ``channels_last`` (memory format) and ``compile`` (torch.compile).

    Args:
        epochs: Epochs of training.
        batch_size: Images per SGD step.
        lr: Learning rate at the start of each cycle.
        momentum: SGD momentum.
        weight_decay: SGD weight decay.
        lr_gamma: Factor applied to the learning rate after each epoch of a cycle.
        restart_every: Epochs per learning-rate cycle (the rate resets to ``lr``).
        seed: Seed of the initialisation and of the batch order.
        drop_last: Whether the last, partial batch is dropped (NAAP keeps it).
        eval_batch_size: Images per forward pass when evaluating (does not change results).
        bf16: Autocast to bfloat16 on CUDA.
        channels_last: Use the channels-last memory format.
        compile: Compile the network with torch.compile.

    Example:
        .. code-block:: python

            from optuna_naap import Recipe

            recipe = Recipe()
            assert [round(recipe.lr_at(e), 9) for e in (1, 2, 3, 4)] == [0.1, 0.01, 0.001, 0.1]
    """

    epochs: int = 90
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr_gamma: float = 0.1
    restart_every: int = 3
    seed: int = NAAP_SEED
    drop_last: bool = False
    eval_batch_size: int = 1000
    bf16: bool = False
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        import numbers

        # numpy and pandas scalars (schemes and settings often come from a DataFrame) are
        # taken as the Python numbers they stand for, so the recipe's JSON is the same.
        for name in ("epochs", "batch_size", "restart_every", "eval_batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
                object.__setattr__(self, name, int(value))
        for name in ("lr", "momentum", "weight_decay", "lr_gamma"):
            value = getattr(self, name)
            if isinstance(value, numbers.Real) and not isinstance(value, (bool, int, float)):
                object.__setattr__(self, name, float(value))
        for name in ("epochs", "batch_size", "restart_every", "eval_batch_size"):
            check_int(name, getattr(self, name), low=1)
        check_int("seed", self.seed)
        for name, low, high in (
            ("lr", 0.0, None),
            ("momentum", None, 1.0),
            ("weight_decay", None, None),
            ("lr_gamma", 0.0, None),
        ):
            value = getattr(self, name)
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value >= 0
            )
            if ok and low is not None:
                ok = value > low
            if ok and high is not None:
                ok = value < high
            if not ok:
                bounds = {
                    "lr": "> 0",
                    "momentum": "in [0, 1)",
                    "weight_decay": ">= 0",
                    "lr_gamma": "> 0",
                }[name]
                raise ValueError(f"{name} must be {bounds}, but got {name}={value!r}")
        for name in ("drop_last", "bf16", "channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, but got {getattr(self, name)!r}")

    def lr_at(self, epoch: int) -> float:
        """The learning rate of a 1-based epoch."""
        return float(self.lr * self.lr_gamma ** ((epoch - 1) % self.restart_every))

    def batches(self, n_images: int) -> int:
        """SGD steps per epoch over ``n_images`` images."""
        full, rest = divmod(n_images, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    @property
    def is_reference(self) -> bool:
        """Whether no fast option is on (the numbers follow the reference loop)."""
        return not (self.bf16 or self.channels_last or self.compile)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
