"""NAS on CIFAR-10 with NAAPSampler and NAAPPruner, in a SQLite study you can resume.

Run: ``python samples/nas_cifar10.py --naap440 naap440v2.csv [--download] [--trials 20]``, or
``--synthetic --fast`` for a minute-long run without CIFAR-10 (synthetic images, 3 epochs).
The same as ``optuna-naap search``, written out with the Python API.
"""

from __future__ import annotations

import argparse
import json

import optuna

from optuna_naap import (
    DECISION_ATTR,
    LEAN_BAR,
    CIFAR10Objective,
    NAAPPruner,
    NAAPSampler,
    Recipe,
    load_cifar10,
    load_naap440,
    synthetic_images,
)
from optuna_naap.record import SCHEME_ATTR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", help="a NAAP-440 CSV (default: the packaged copy)")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--synthetic", action="store_true", help="synthetic images, no CIFAR-10")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--storage", default="sqlite:///nas-sample.db")
    parser.add_argument("--fast", action="store_true", help="3 epochs, 3 trials, small predictors")
    args = parser.parse_args()

    epochs = 3 if args.fast else 90
    trials = 3 if args.fast else args.trials
    data = (
        synthetic_images(1024, 256)
        if args.synthetic
        else load_cifar10(args.data_root, download=args.download)
    )
    frame = load_naap440(args.naap440)
    predictor_options = {"iterations": 100, "n_models": 1} if args.fast else None
    pruner = NAAPPruner.from_frame(
        frame,
        max_epochs=epochs,
        # Synthetic images are not CIFAR-10: NAAP-440's finals are no bar for them, and a
        # study of a few trials needs a bar of a few; on CIFAR-10, the default top-10 bar.
        use_reference=not args.synthetic,
        top_k=2 if args.synthetic else LEAN_BAR["top_k"],
        predictor_options=predictor_options,
    )
    study = optuna.create_study(
        storage=args.storage,
        study_name="nas-sample",
        direction="maximize",
        sampler=NAAPSampler(seed=0),
        pruner=pruner,
        load_if_exists=True,
    )
    study.optimize(CIFAR10Objective(data, Recipe(epochs=epochs)), n_trials=trials)
    best = study.best_trial
    print(f"best trial {best.number}: accuracy {best.value:.4f}")
    print(f"scheme: {json.dumps(best.user_attrs[SCHEME_ATTR])}")
    for trial in study.trials[-trials:]:
        decision = trial.user_attrs.get(DECISION_ATTR, {})
        print(f"trial {trial.number}: {trial.state.name.lower()} - {decision.get('reason', '')}")


if __name__ == "__main__":
    main()
