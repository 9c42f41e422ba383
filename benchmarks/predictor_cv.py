"""Choose NAAPPredictor settings by 10-fold cross-validation on the 400 NAAP-440 training rows.

The 40 test rows (IsTest=1) are never read here. Each fold holds out 40 rows, so violations are
out of 780 pairs as in the paper's protocol (but the folds are not the official test split, so
the figures are not comparable to the test table). Usage:

    python benchmarks/predictor_cv.py [PATH/naap440v2.csv] [--epochs 0,3,6,9] [--loss RMSE]
        [--n-models 5] [--iterations 500] [--learning-rate 0.05] [--depth 6] [--repeats 1]
        [--architecture-weight auto|W] [--architecture-model catboost|gp] [--raw-curves]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sklearn.model_selection import KFold

from optuna_naap import NAAPPredictor, load_naap440
from optuna_naap.metrics import kendall_tau, mean_absolute_error, num_violations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=None, help="default: the packaged rows")
    parser.add_argument("--epochs", default="0,3,6,9")
    parser.add_argument("--loss", default="RMSE")
    parser.add_argument("--n-models", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--architecture-weight", default="auto")
    parser.add_argument("--architecture-model", default="catboost", choices=("catboost", "gp"))
    parser.add_argument("--raw-curves", action="store_true")
    parser.add_argument("--no-schemes", action="store_true", help="CSV columns only")
    args = parser.parse_args()

    frame = load_naap440(args.csv, schemes=not args.no_schemes)
    train = frame[frame.IsTest == 0].reset_index(drop=True)  # the test rows stay unseen
    table = Table(title=f"10-fold CV on the 400 training rows: {vars(args)}")
    for column in (
        "epochs",
        "violations / 780 (mean)",
        "MAE (mean)",
        "Kendall tau (mean)",
        "architecture weights",
        "seconds",
    ):
        table.add_column(column, justify="right")
    for k in [int(x) for x in args.epochs.split(",")]:
        start = time.perf_counter()
        violations, maes, taus, weights = [], [], [], []
        folds = [
            split
            for repeat in range(args.repeats)
            for split in KFold(10, shuffle=True, random_state=repeat).split(train)
        ]
        for fit_rows, held_rows in track(folds, description=f"{k} epochs", transient=True):
            fit, held = train.iloc[fit_rows], train.iloc[held_rows]
            predictor = NAAPPredictor(
                epochs=k,
                loss=args.loss,
                architecture_model=args.architecture_model,
                n_models=args.n_models,
                iterations=args.iterations,
                learning_rate=args.learning_rate,
                depth=args.depth,
                architecture_weight=(
                    "auto"
                    if args.architecture_weight == "auto"
                    else float(args.architecture_weight)
                ),
                raw_curves=args.raw_curves,
            ).fit(fit)
            weights.append(predictor.architecture_weight_)
            predicted = predictor.predict(held)
            violations.append(num_violations(held.MaxAccuracy, predicted)[0])
            maes.append(mean_absolute_error(held.MaxAccuracy, predicted))
            taus.append(kendall_tau(held.MaxAccuracy, predicted))
        table.add_row(
            str(k),
            f"{np.mean(violations):.1f}",
            f"{np.mean(maes):.4f}",
            f"{np.mean(taus):.3f}",
            " ".join(f"{w:g}" for w in weights),
            f"{time.perf_counter() - start:.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
