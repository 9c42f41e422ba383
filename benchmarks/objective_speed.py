"""Seconds per epoch of the objective's training loop against a reference-style loop.

Run: ``python benchmarks/objective_speed.py [--images 50000] [--epochs 1] [--device cpu]
[--schemes median,small,large]``. Both loops train the same scheme on the same images
(synthetic, CIFAR-10's size by default) with the NAAP recipe and evaluate on the test images
every epoch. The reference-style loop is what the NAAP scripts do: a shuffling DataLoader with
one worker over a dataset that turns each image into a PIL image and applies torchvision's
ToTensor and Normalize, batch by batch to the device. The objective keeps the images as uint8
tensors on the device and normalises whole batches there. Each figure is the median over the
timed epochs, after one untimed warm-up epoch for each loop.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from optuna_naap import Recipe, load_naap440, synthetic_images, train_scheme
from optuna_naap._objective import resolve_device
from optuna_naap.objective import SchemeNet

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


class CIFARStyle(Dataset[tuple[torch.Tensor, int]]):
    """torchvision's CIFAR10.__getitem__: a PIL image per item, then the transforms."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels
        self.transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def reference_epochs(scheme: list, data, recipe: Recipe, device: torch.device) -> list[float]:  # type: ignore[type-arg, no-untyped-def]
    torch.manual_seed(recipe.seed)
    net = SchemeNet(scheme, num_classes=data.num_classes).to(device)
    train = DataLoader(
        CIFARStyle(data.train_images, data.train_labels),
        batch_size=recipe.batch_size,
        shuffle=True,
        num_workers=1,
    )
    test = DataLoader(CIFARStyle(data.test_images, data.test_labels), batch_size=1000)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        net.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    seconds = []
    for epoch in range(1, recipe.epochs + 1):
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr_at(epoch)
        net.train()
        losses = []
        for inputs, labels in train:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        net.eval()
        correct = 0
        with torch.no_grad():
            for inputs, labels in test:
                outputs = net(inputs.to(device))
                correct += int((outputs.argmax(1) == labels.to(device)).sum())
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=50000)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per loop")
    parser.add_argument("--device", default=None)
    parser.add_argument("--schemes", default="median")
    args = parser.parse_args()

    device = resolve_device(args.device)
    frame = load_naap440(args.naap440).sort_values("NumMACs").reset_index(drop=True)
    picks = {"small": 0, "median": len(frame) // 2, "large": len(frame) - 1}
    data = synthetic_images(args.images, args.test_images, seed=0)
    recipe = Recipe(epochs=args.epochs + 1)
    print(
        f"device {device} ({torch.get_num_threads()} threads), {args.images} training and "
        f"{args.test_images} test images, batch {recipe.batch_size}, median of {args.epochs} "
        "epoch(s) after one warm-up epoch"
    )
    import json

    for name in args.schemes.split(","):
        row = frame.iloc[picks[name]]
        scheme = json.loads(row["Scheme"])
        ours = [r.seconds for r in train_scheme(scheme, data, recipe, device)][1:]
        reference = reference_epochs(scheme, data, recipe, device)[1:]
        a, b = statistics.median(ours), statistics.median(reference)
        print(
            f"{name} scheme (ModelId {int(row.ModelId)}, {int(row.NumMACs):,} MACs, "
            f"{len(scheme)} blocks): objective {a:.2f} s/epoch, reference-style loop "
            f"{b:.2f} s/epoch, speed-up {b / a:.2f}x"
        )


if __name__ == "__main__":
    main()
