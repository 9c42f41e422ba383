from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from optuna_naap import (
    CIFAR10Objective,
    ImageData,
    Recipe,
    load_cifar10,
    record_scheme,
    synthetic_images,
    train_scheme,
)
from optuna_naap._objective import FAILURE_ATTR, epoch_order, resolve_device
from optuna_naap.data import ImageDataError
from optuna_naap.objective import SchemeNet

optuna.logging.set_verbosity(optuna.logging.WARNING)
SCHEME = [
    {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
    {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
    {"kernel_size": 3, "width": 24, "stride": 2, "residual": False},
]


@pytest.fixture(scope="module")
def small() -> ImageData:
    return synthetic_images(600, 200, seed=1)


# -- the reference-style loop: what the NAAP scripts do, written plainly ---------------------


class PerImage(Dataset[tuple[torch.Tensor, int]]):
    """A dataset applying torchvision's transforms image by image, as the NAAP scripts."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels
        self.transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), int(self.labels[i])


def reference_loop(scheme: Any, data: ImageData, recipe: Recipe) -> list[tuple[float, ...]]:
    torch.manual_seed(recipe.seed)
    net = SchemeNet(scheme, num_classes=data.num_classes)
    loader = DataLoader(
        PerImage(data.train_images, data.train_labels),
        batch_size=recipe.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(recipe.seed),
    )
    test_loader = DataLoader(PerImage(data.test_images, data.test_labels), batch_size=100)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        net.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    out = []
    for epoch in range(1, recipe.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr_at(epoch)
        net.train()
        losses = []
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        net.eval()
        correct = 0
        with torch.no_grad():
            for inputs, labels in test_loader:
                correct += int((net(inputs).argmax(1) == labels).sum())
        out.append((correct / len(data.test_images), np.mean(losses), np.median(losses)))
    return out


def test_epoch_order_is_the_dataloaders() -> None:
    loader = DataLoader(
        list(range(50)), batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(7)
    )
    ours = torch.Generator().manual_seed(7)
    for _ in range(3):
        (batch,) = list(loader)
        assert batch.tolist() == epoch_order(50, ours).tolist()


def test_faithful_to_the_reference_loop_in_fp32(small: ImageData) -> None:
    recipe = Recipe(epochs=4, batch_size=128)  # 600 images: 4 full batches and one of 88
    ours = train_scheme(SCHEME, small, recipe, "cpu")
    reference = reference_loop(SCHEME, small, recipe)
    assert [r.epoch for r in ours] == [1, 2, 3, 4]
    for result, (accuracy, loss_mean, loss_median) in zip(ours, reference, strict=True):
        assert result.accuracy == accuracy
        assert result.loss_mean == pytest.approx(loss_mean, rel=1e-5)
        assert result.loss_median == pytest.approx(loss_median, rel=1e-5)
    # And the synthetic data is learnable: well above chance (0.1) after 4 epochs.
    assert ours[-1].accuracy > 0.5


def test_on_epoch_can_stop_training(small: ImageData) -> None:
    seen: list[int] = []
    results = train_scheme(
        SCHEME,
        small,
        Recipe(epochs=5, batch_size=200),
        "cpu",
        on_epoch=lambda r: seen.append(r.epoch) or r.epoch == 2,
    )
    assert seen == [1, 2] and len(results) == 2


def test_objective_in_a_study(small: ImageData) -> None:
    objective = CIFAR10Objective(small, Recipe(epochs=3, batch_size=200), "cpu")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(objective, n_trials=2)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.value == max(trial.intermediate_values.values())
        assert sorted(trial.intermediate_values) == [1, 2, 3]
        assert sorted(trial.user_attrs["naap:losses"]) == ["1", "2", "3"]
        assert trial.user_attrs["naap:recipe"]["epochs"] == 3
        assert trial.user_attrs["naap:device"] == "cpu"
        assert "naap:scheme" in trial.user_attrs


def test_objective_trains_a_recorded_scheme_and_is_pruned(small: ImageData) -> None:
    class PruneAtTwo(optuna.pruners.BasePruner):
        def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return trial.last_step == 2

    objective = CIFAR10Objective(small, Recipe(epochs=4, batch_size=200), "cpu")
    study = optuna.create_study(direction="maximize", pruner=PruneAtTwo())
    trial = study.ask()
    record_scheme(trial, SCHEME)
    with pytest.raises(optuna.TrialPruned, match="epoch 2"):
        objective(trial)
    assert trial.params == {}  # the recorded scheme was trained, nothing sampled
    assert sorted(study.trials[0].intermediate_values) == [1, 2]


def test_non_finite_loss_fails_the_trial_and_the_study_goes_on(small: ImageData) -> None:
    objective = CIFAR10Objective(small, Recipe(epochs=3, batch_size=200, lr=1e12), "cpu")
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
    assert all("non-finite training loss" in t.user_attrs[FAILURE_ATTR] for t in study.trials)


# -- CIFAR-10 on disk -------------------------------------------------------------------------


def write_cifar10(root: Path, data: ImageData) -> None:
    """Write images in CIFAR-10's python format (5 training batches and a test batch)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def dump(name: str, images: np.ndarray, labels: np.ndarray) -> None:
        rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rows, "labels": labels.tolist(), "batch_label": name}, f)

    for i, part in enumerate(np.array_split(np.arange(len(data.train_images)), 5), start=1):
        dump(f"data_batch_{i}", data.train_images[part], data.train_labels[part])
    dump("test_batch", data.test_images, data.test_labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)


def test_load_cifar10_from_its_on_disk_format(small: ImageData, tmp_path: Path) -> None:
    write_cifar10(tmp_path, small)
    loaded = load_cifar10(tmp_path, verify=False)
    np.testing.assert_array_equal(loaded.train_images, small.train_images)
    np.testing.assert_array_equal(loaded.train_labels, small.train_labels)
    np.testing.assert_array_equal(loaded.test_images, small.test_images)
    assert loaded.num_classes == 10 and loaded.name == "cifar10"
    # Our files are not the real ones: the MD5 check says so, with the download hint.
    with pytest.raises(ImageDataError, match="missing or corrupt .MD5 check.*download=True"):
        load_cifar10(tmp_path)


def test_missing_and_corrupt_cifar10(small: ImageData, tmp_path: Path) -> None:
    with pytest.raises(ImageDataError, match="CIFAR-10 not found: .* does not exist; download"):
        load_cifar10(tmp_path / "nowhere")
    write_cifar10(tmp_path, small)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04 not a pickle")
    with pytest.raises(ImageDataError, match="data_batch_3 is not a CIFAR-10 batch file"):
        load_cifar10(tmp_path, verify=False)
    write_cifar10(tmp_path / "other", small)
    (tmp_path / "other" / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(ImageDataError, match="test_batch is missing"):
        load_cifar10(tmp_path / "other", verify=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_images": np.zeros((4, 32, 32, 3), dtype=np.float32)}, "must be uint8"),
        ({"train_labels": np.zeros(3, dtype=np.int64)}, "must be 4 integers"),
        ({"test_images": np.zeros((2, 16, 16, 3), dtype=np.uint8)}, "differ in shape"),
        ({"num_classes": 2}, "num_classes=2 but the labels go up to 4"),
    ],
)
def test_image_data_is_validated(change: dict[str, Any], message: str) -> None:
    parts: dict[str, Any] = {
        "train_images": np.zeros((4, 32, 32, 3), dtype=np.uint8),
        "train_labels": np.array([0, 1, 2, 4]),
        "test_images": np.zeros((2, 32, 32, 3), dtype=np.uint8),
        "test_labels": np.array([0, 1]),
    }
    with pytest.raises(ImageDataError, match=message):
        ImageData(**{**parts, **change})
    assert ImageData(**parts).num_classes == 5


def test_recipe() -> None:
    recipe = Recipe()
    assert [recipe.lr_at(e) for e in range(1, 8)] == pytest.approx(
        [0.1, 0.01, 0.001, 0.1, 0.01, 0.001, 0.1]
    )
    assert recipe.batches(50000) == 196  # 195 full batches and the last one of 80
    assert Recipe(drop_last=True).batches(50000) == 195
    assert recipe.is_reference and not Recipe(bf16=True).is_reference
    for kwargs, message in (
        ({"epochs": 0}, "epochs=0"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"bf16": "yes"}, "bf16 must be true or false"),
        ({"lr": float("inf")}, "lr must be > 0, but got lr=inf"),
        ({"weight_decay": float("nan")}, "weight_decay must be >= 0"),
        ({"epochs": True}, "epochs must be a positive integer"),
        ({"epochs": 12.0}, "epochs must be a positive integer"),
    ):
        with pytest.raises(ValueError, match=message):
            Recipe(**kwargs)
    # numpy scalars (settings read from a DataFrame) are the numbers they stand for.
    from_numpy = Recipe(epochs=np.int64(12), lr=np.float32(0.1), seed=np.int32(3))
    assert from_numpy == Recipe(epochs=12, lr=float(np.float32(0.1)), seed=3)
    assert type(from_numpy.epochs) is int and type(from_numpy.lr) is float
    assert json.dumps(from_numpy.to_json())  # JSON-ready, as the trial's naap:recipe


def test_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    # A device the machine lacks is refused at once, not at the first batch of a trial.
    missing = f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}"
    with pytest.raises(ValueError, match=f"device '{missing}' is not available here"):
        resolve_device(missing)


def test_out_of_memory_fails_the_trial(small: ImageData, monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here: the device's out-of-memory error is raised where CUDA would raise it.
    def exhausted(self: SchemeNet, x: torch.Tensor) -> torch.Tensor:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(SchemeNet, "forward", exhausted)
    objective = CIFAR10Objective(small, Recipe(epochs=2, batch_size=200), "cpu")
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
    assert study.trials[0].user_attrs[FAILURE_ATTR] == "out of memory on cpu at epoch 1"
