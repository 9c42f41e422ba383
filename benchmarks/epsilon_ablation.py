"""Does the zero-cost epsilon score help? Rank correlations and the 0-epoch predictor, with and
without it.

Run: ``python benchmarks/epsilon_ablation.py [--naap440 PATH] [--images CIFAR10_DIR]``. Epsilon
is computed for the 440 schemes on the grey-scale synthetic batch, or on 64 CIFAR-10 training
images with ``--images`` (no labels are used). Then NAAPPredictor(0) with and
without an ``Epsilon`` feature: 10-fold cross-validation on the 400 training rows (folds of 40,
violations of 780 pairs), and one evaluation on the official test split.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr
from sklearn.model_selection import KFold

from optuna_naap import NAAPPredictor, load_cifar10, load_naap440
from optuna_naap._epsilon import DEFAULT_WEIGHTS
from optuna_naap.epsilon import epsilon_batch, epsilon_score
from optuna_naap.metrics import num_violations

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=Path, help="a CIFAR-10 folder (torchvision layout)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    frame = load_naap440(args.naap440)
    batch = epsilon_batch(load_cifar10(args.images) if args.images else None, size=64)
    started = time.perf_counter()
    frame["Epsilon"] = [epsilon_score(json.loads(s), batch, DEFAULT_WEIGHTS) for s in frame.Scheme]
    per_scheme = (time.perf_counter() - started) / len(frame)
    source = "CIFAR-10 batch" if args.images else "grey batch"
    print(f"epsilon {DEFAULT_WEIGHTS}, {source} of 64: {1000 * per_scheme:.1f} ms per scheme")
    truth = frame.MaxAccuracy.to_numpy()
    for name, values in (("epsilon", frame.Epsilon), ("log NumParams", np.log(frame.NumParams))):
        rho, tau = spearmanr(values, truth)[0], kendalltau(values, truth)[0]
        print(f"{name:>14} vs MaxAccuracy (440 schemes): Spearman {rho:.3f}, Kendall {tau:.3f}")

    train = frame[frame.IsTest == 0].reset_index(drop=True)
    test = frame[frame.IsTest == 1]
    variants = {"without": (), "with epsilon": ("Epsilon",)}
    cv: dict[str, list[int]] = {name: [] for name in variants}
    for fit_rows, held_rows in KFold(10, shuffle=True, random_state=0).split(train):
        held = train.iloc[held_rows]
        for name, extra in variants.items():
            predictor = NAAPPredictor(0, extra_features=extra).fit(train.iloc[fit_rows])
            cv[name].append(num_violations(held.MaxAccuracy, predictor.predict(held))[0])
    for name, violations in cv.items():
        print(f"NAAPPredictor(0) {name:>12}: CV mean violations {np.mean(violations):.1f} / 780")
    for name, extra in variants.items():
        predictor = NAAPPredictor(0, extra_features=extra).fit(train)
        violations = num_violations(test.MaxAccuracy, predictor.predict(test))[0]
        print(f"NAAPPredictor(0) {name:>12}: official test split {violations} / 780 violations")


if __name__ == "__main__":
    main()
