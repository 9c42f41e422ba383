"""How far the opt-in fast options move the objective's numbers, and what they save.

Run: ``python benchmarks/fast_options.py [--images 10000] [--epochs 6] [--device D]``.
Trains the median NAAP-440 scheme (by MACs) on noisy synthetic images with the reference
recipe, then with each fast option on its own, and prints each epoch's largest difference from
the reference in test accuracy and in the batch-loss mean, with the seconds per epoch. bf16
autocast applies on CUDA only and is skipped elsewhere.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path

from optuna_naap import Recipe, load_naap440, synthetic_images, train_scheme
from optuna_naap._objective import resolve_device

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    device = resolve_device(args.device)
    frame = load_naap440(args.naap440).sort_values("NumMACs").reset_index(drop=True)
    scheme = json.loads(frame.iloc[len(frame) // 2]["Scheme"])
    data = synthetic_images(args.images, args.images // 5, noise=150.0, seed=0)
    base = Recipe(epochs=args.epochs)
    reference = train_scheme(scheme, data, base, device)
    print(f"device {device}; median scheme; {args.images} images; {args.epochs} epochs")
    print(
        f"reference fp32: {statistics.median(r.seconds for r in reference[1:]):.2f} s/epoch, "
        f"final accuracy {reference[-1].accuracy:.4f}"
    )
    options = ["channels_last", "compile"] + (["bf16"] if device.type == "cuda" else [])
    for option in options:
        recipe = dataclasses.replace(base, **{option: True})
        fast = train_scheme(scheme, data, recipe, device)
        d_acc = max(abs(a.accuracy - b.accuracy) for a, b in zip(fast, reference, strict=True))
        d_loss = max(abs(a.loss_mean - b.loss_mean) for a, b in zip(fast, reference, strict=True))
        print(
            f"{option}: {statistics.median(r.seconds for r in fast[1:]):.2f} s/epoch "
            f"(first epoch {fast[0].seconds:.1f} s), largest difference per epoch: accuracy "
            f"{d_acc:.4f}, loss mean {d_loss:.5f}; final accuracy {fast[-1].accuracy:.4f}"
        )


if __name__ == "__main__":
    main()
