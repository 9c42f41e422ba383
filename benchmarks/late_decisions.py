"""Do later decisions (epochs 18, 30, 45, 60 of 90) bring NAAPPruner closer to the oracle?

Run: ``python benchmarks/late_decisions.py [--naap440 PATH] [--seeds 3] [--objectives NAMES]``.
The replay protocol of ``optuna-naap benchmark`` on NAAP-440's TRAINING rows only (IsTest=0;
2 folds of 200, predictors fit on the other fold, Random and TPE), for the default decision
epochs (1 and 9) and for sets with later decisions, single objective (the defaults, whose bar
is ``LEAN_BAR``, and ``WIDE_BAR``) and, with ``--objectives accuracy,macs`` (or
``accuracy,params``), the Pareto rule. It also prints the 0.9 quantile of the predictors'
cross-validated errors at each decision epoch: the margin a later decision could save. The
test rows are never read.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
from rich.console import Console
from rich.table import Table

from optuna_naap import WIDE_BAR, NAAPPredictor, load_naap440
from optuna_naap.benchmark import PrunerFactory, run_benchmark, summarize
from optuna_naap.pareto import ParetoReferences

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package
EPOCH_SETS = ([1, 9], [1, 9, 30], [1, 9, 30, 60], [1, 9, 18, 30, 45])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--objectives", default=None, help="e.g. accuracy,macs")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    train = load_naap440(args.naap440)
    train = train[train.IsTest == 0].reset_index(drop=True)
    console = Console(width=140)

    margins = Table(title="0.9 quantile of the cross-validated errors, 400 training rows")
    for column in ("epochs", "margin", "MAE"):
        margins.add_column(column, justify="right")
    for epochs in sorted({e for s in EPOCH_SETS for e in s}):
        residuals = NAAPPredictor(epochs).fit(train).cv_residuals_
        margins.add_row(
            str(epochs), f"{np.quantile(residuals, 0.9):.4f}", f"{np.abs(residuals).mean():.4f}"
        )
    console.print(margins)

    grid: dict[str, PrunerFactory] = {}
    for epochs in EPOCH_SETS:
        label = ",".join(map(str, epochs))
        if args.objectives:
            grid[f"Pareto rule, epochs {label}"] = lambda c, e=epochs: c.naap(
                e, pareto_references=ParetoReferences(c.rows)
            )
        else:
            grid[f"WIDE_BAR, epochs {label}"] = lambda c, e=epochs: c.naap(e, **WIDE_BAR)
            grid[f"defaults, epochs {label}"] = lambda c, e=epochs: c.naap(e)
    if args.objectives:
        grid["oracle"] = lambda c: c.oracle(references=ParetoReferences(c.rows))
    else:
        grid["oracle"] = lambda c: c.oracle()

    started = time.perf_counter()
    results = run_benchmark(
        train,
        objectives=args.objectives,
        pruners=grid,
        seeds=list(range(args.seeds)),
        samplers=["random", "tpe"],
        progress=True,
    )
    recall = "front_recall" if args.objectives else "recall"
    table = Table(
        title=f"{args.objectives or 'accuracy'}: 400 training rows, 2 folds, {args.seeds} seed(s) "
        f"({time.perf_counter() - started:.0f} s)"
    )
    for column in ("setting", "sampler", "compute", "recall (min)", "regret / HV regret (max)"):
        table.add_column(column, justify="left" if column in ("setting", "sampler") else "right")
    for row in summarize(results):
        if args.objectives:
            loss = f"{100 * row['hv_regret']:.3f}% ({100 * row['max_hv_regret']:.3f}%)"
        else:
            loss = f"{row['regret']:.4f} ({row['max_regret']:.4f})"
        table.add_row(
            row["pruner"],
            row["sampler"],
            f"{100 * row['compute']:.1f}%",
            f"{row[recall]:.3f} ({row['min_' + recall]:.2f})",
            loss,
        )
    console.print(table)


if __name__ == "__main__":
    main()
