"""Training a scheme with a recipe, and the Optuna objective built on it (imports torch)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import torch
import torch.nn.functional as F

from optuna_naap._images import ImageData
from optuna_naap._net import SchemeNet
from optuna_naap._pareto import objective_values
from optuna_naap._recipe import Recipe
from optuna_naap._record import DATA_ATTR, DEVICE_ATTR, FAILURE_ATTR, RECIPE_ATTR
from optuna_naap._scheme import SchemeLike, scheme_to_dicts
from optuna_naap._should_prune import should_prune
from optuna_naap._space import SchemeSpace
from optuna_naap._trial import is_multi_objective, report_epoch, suggest_scheme, trial_scheme

__all__ = [
    "FAILURE_ATTR",
    "CIFAR10Objective",
    "EpochResult",
    "TrainingError",
    "resolve_device",
    "train_scheme",
]


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, out of memory); the message says why."""


@dataclass(frozen=True)
class EpochResult:
    """One epoch: test accuracy, the batch losses' mean and median, and the seconds it took.

    Attributes:
        epoch: The epoch, 1-based.
        accuracy: Test-set accuracy after the epoch (a fraction).
        loss_mean: Mean of the epoch's batch losses.
        loss_median: Median of the epoch's batch losses.
        seconds: Wall time of the epoch's training and evaluation.
    """

    epoch: int
    accuracy: float
    loss_mean: float
    loss_median: float
    seconds: float


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else cuda if available, else mps if available, else cpu.

    Raises:
        ValueError: for an unknown device, or one this machine does not have (checked here,
            before any study starts, not at the first batch).
    """
    if device is not None:
        try:
            chosen = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"unknown device {device!r} ({exc}); use cpu, cuda, cuda:1, mps"
            ) from exc
        if chosen.type == "cuda":
            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if (chosen.index or 0) >= count:
                raise ValueError(
                    f"device {device!r} is not available here (torch sees {count} CUDA "
                    "device(s)); use --device cpu, or leave --device out to pick the best one"
                )
        if chosen.type == "mps":
            mps = getattr(torch.backends, "mps", None)
            if mps is None or not mps.is_available():
                raise ValueError(
                    f"device {device!r} is not available here; use --device cpu, or leave "
                    "--device out to pick the best one"
                )
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class _DeviceImages:
    """Images as uint8 NCHW tensors on the device, labels as int64 tensors."""

    def __init__(self, data: ImageData, device: torch.device, channels_last: bool) -> None:
        def images(array: np.ndarray) -> torch.Tensor:
            tensor = torch.from_numpy(array).permute(0, 3, 1, 2).contiguous().to(device)
            return (
                tensor.contiguous(memory_format=torch.channels_last) if channels_last else tensor
            )

        self.train_x = images(data.train_images)
        self.train_y = torch.from_numpy(data.train_labels).to(device)
        self.test_x = images(data.test_images)
        self.test_y = torch.from_numpy(data.test_labels).to(device)


def _normalise(batch: torch.Tensor) -> torch.Tensor:
    # Exactly torchvision's ToTensor (divide by 255) then Normalize(0.5, 0.5), on the device.
    return batch.float().div(255).sub(0.5).div(0.5)


def epoch_order(n_images: int, generator: torch.Generator) -> torch.Tensor:
    """The image order of one epoch, as a shuffling DataLoader draws it from ``generator``.

    Per epoch, a DataLoader draws a base seed from its generator when the epoch's iterator is
    created; its RandomSampler then draws the permutation it yields, and one more (of which it
    yields nothing) when it runs out. The same three draws here give the same order.
    """
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    order = torch.randperm(n_images, generator=generator)
    torch.randperm(n_images, generator=generator)
    return order


# One dataset on the device at a time; the entry keeps its ImageData alive, so that an id()
# is never reused for other images while it is cached.
_DEVICE_CACHE: dict[tuple[int, str, bool], tuple[ImageData, _DeviceImages]] = {}


def _on_device(data: ImageData, device: torch.device, channels_last: bool) -> _DeviceImages:
    key = (id(data), str(device), channels_last)
    cached = _DEVICE_CACHE.get(key)
    if cached is None or cached[0] is not data:
        _DEVICE_CACHE.clear()
        cached = _DEVICE_CACHE[key] = (data, _DeviceImages(data, device, channels_last))
    return cached[1]


def train_scheme(
    scheme: SchemeLike,
    data: ImageData,
    recipe: Recipe = Recipe(),  # noqa: B008 - frozen dataclass
    device: str | torch.device | None = None,
    *,
    on_epoch: Callable[[EpochResult], bool | None] | None = None,
) -> list[EpochResult]:
    """Train ``scheme`` on ``data`` with ``recipe``, evaluating on the test images every epoch.

    The images stay on the device as uint8 and are normalised per batch there; the batch order
    is that of a shuffling DataLoader seeded with ``recipe.seed``; batch losses are gathered on
    the device and read once per epoch. ``on_epoch`` is called after each epoch; returning True
    stops training (a pruned trial).

    Raises:
        TrainingError: a non-finite epoch loss, or the device ran out of memory.
    """
    device = resolve_device(device)
    torch.manual_seed(recipe.seed)  # before building the network: a reproducible init
    net = SchemeNet(scheme_to_dicts(scheme), num_classes=data.num_classes).to(device)
    if recipe.channels_last:
        net = net.to(memory_format=torch.channels_last)
    model: Callable[[torch.Tensor], torch.Tensor] = net
    if recipe.compile:
        model = torch.compile(net)
    optimizer = torch.optim.SGD(
        net.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    images = _on_device(data, device, recipe.channels_last)
    n_train, batch = len(images.train_x), recipe.batch_size
    steps = recipe.batches(n_train)
    order_generator = torch.Generator().manual_seed(recipe.seed)
    autocast = recipe.bf16 and device.type == "cuda"
    results: list[EpochResult] = []
    for epoch in range(1, recipe.epochs + 1):
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr_at(epoch)
        net.train()
        order = epoch_order(n_train, order_generator).to(device)
        losses = torch.empty(steps, device=device)
        try:
            for step in range(steps):
                index = order[step * batch : (step + 1) * batch]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                    loss = F.cross_entropy(
                        model(_normalise(images.train_x[index])), images.train_y[index]
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses[step] = loss.detach()
            accuracy = _evaluate(model, net, images, recipe, autocast, device)
        except torch.cuda.OutOfMemoryError as exc:
            raise TrainingError(f"out of memory on {device} at epoch {epoch}") from exc
        batch_losses = losses.double().cpu().numpy()
        if not np.isfinite(batch_losses).all():
            raise TrainingError(f"non-finite training loss at epoch {epoch}")
        result = EpochResult(
            epoch,
            accuracy,
            float(np.mean(batch_losses)),
            float(np.median(batch_losses)),
            time.perf_counter() - started,
        )
        results.append(result)
        if on_epoch is not None and on_epoch(result):
            break
    return results


def _evaluate(
    model: Callable[[torch.Tensor], torch.Tensor],
    net: torch.nn.Module,
    images: _DeviceImages,
    recipe: Recipe,
    autocast: bool,
    device: torch.device,
) -> float:
    net.eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        for start in range(0, len(images.test_x), recipe.eval_batch_size):
            x = images.test_x[start : start + recipe.eval_batch_size]
            y = images.test_y[start : start + recipe.eval_batch_size]
            correct += (model(_normalise(x)).argmax(dim=1) == y).sum()
    return int(correct.item()) / len(images.test_x)


class CIFAR10Objective:
    """An Optuna objective: sample a scheme, train it with the recipe, report every epoch.

    Each call samples a valid scheme with :func:`~optuna_naap.suggest_scheme` (or uses the one
    already recorded on the trial, for enqueued or replayed schemes), trains it with
    :func:`train_scheme`, and after each epoch calls :func:`~optuna_naap.report_epoch` with the
    test accuracy and the batch losses' mean and median, then asks
    :func:`~optuna_naap.should_prune`. It returns the best accuracy over the epochs (the
    NAAP-440 CSV's ``MaxAccuracy``, a maximum over test-set evaluations); in a multi-objective
    study (objectives named with ``study.set_metric_names``, see :mod:`optuna_naap.pareto`),
    that accuracy and the scheme's exact costs, in the study's order. A non-finite loss or
    running out of device memory fails the trial (the objective returns NaN) with the reason in
    the ``naap:failure`` user attribute, and the study goes on.

    Args:
        data: The images (:func:`~optuna_naap.load_cifar10`, :class:`~optuna_naap.ImageData`,
            :func:`~optuna_naap.synthetic_images`).
        recipe: The training recipe (the NAAP recipe by default).
        device: Where to train (default: cuda, else mps, else cpu).
        space: The scheme space sampled from (default: the NAAP-440 space).
        on_epoch: Called with the trial and each epoch's result after it is reported (for
            progress displays).

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import CIFAR10Objective, Recipe, synthetic_images

            objective = CIFAR10Objective(synthetic_images(512, 128), Recipe(epochs=2))
            optuna.create_study(direction="maximize").optimize(objective, n_trials=2)
    """

    def __init__(
        self,
        data: ImageData,
        recipe: Recipe = Recipe(),  # noqa: B008 - frozen dataclass
        device: str | torch.device | None = None,
        *,
        space: SchemeSpace | None = None,
        on_epoch: Callable[[optuna.trial.Trial, EpochResult], None] | None = None,
    ) -> None:
        if not isinstance(data, ImageData):
            raise TypeError(f"data must be an ImageData, but got {type(data).__name__}")
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, but got {type(recipe).__name__}")
        self.data = data
        self.recipe = recipe
        self.device = resolve_device(device)
        self.space = space or SchemeSpace()
        self.on_epoch = on_epoch

    def __call__(self, trial: optuna.trial.Trial) -> float | tuple[float, ...]:
        scheme = trial_scheme(trial) or suggest_scheme(trial, self.space)  # type: ignore[arg-type]
        trial.set_user_attr(RECIPE_ATTR, self.recipe.to_json())
        trial.set_user_attr(DEVICE_ATTR, str(self.device))
        trial.set_user_attr(DATA_ATTR, self.data.name)  # NAAP-440's rule needs its own task
        pruned: list[int] = []

        def on_epoch(result: EpochResult) -> bool:
            report_epoch(
                trial,
                result.epoch,
                accuracy=result.accuracy,
                loss_mean=result.loss_mean,
                loss_median=result.loss_median,
            )
            if self.on_epoch is not None:
                self.on_epoch(trial, result)
            if should_prune(trial):  # trial.should_prune() refuses multi-objective studies
                pruned.append(result.epoch)
                return True
            return False

        try:
            results = train_scheme(scheme, self.data, self.recipe, self.device, on_epoch=on_epoch)
        except TrainingError as exc:
            trial.set_user_attr(FAILURE_ATTR, str(exc))
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            return math.nan  # Optuna marks the trial FAIL and the study goes on
        if pruned:
            raise optuna.TrialPruned(f"pruned at epoch {pruned[0]}")
        accuracy = max(r.accuracy for r in results)
        if is_multi_objective(trial):
            return objective_values(trial, accuracy)
        return accuracy
