"""Does NAAPPredictor(architecture_model="gp") make NAAPPruner cheaper on NAAP-440's replay?

Run: ``python benchmarks/gp_architecture.py [--rows train|all] [--seeds N]``. The replay protocol
of ``optuna-naap benchmark`` (2 disjoint folds; the predictors are fit on the other fold) with
NAAPPruner's defaults, its predictors' architecture model CatBoost (the default) or a Gaussian
process, Random and TPE. ``--rows train`` replays the 400 training rows (IsTest == 0) to choose;
``--rows all`` reports. Prints compute, top-10 recall (mean and worst study) and regret.
"""

from __future__ import annotations

import argparse
import time

import optuna
from rich.console import Console
from rich.table import Table

from optuna_naap import load_naap440
from optuna_naap.benchmark import run_benchmark, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", choices=("train", "all"), default="train")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    frame = load_naap440()
    if args.rows == "train":
        frame = frame[frame.IsTest == 0].reset_index(drop=True)  # the test rows stay unseen
    table = Table(title=f"NAAPPruner() on the NAAP-440 replay ({len(frame)} rows)")
    for column in ("architecture model", "sampler", "compute %", "recall", "min recall"):
        table.add_column(column, justify="right")
    table.add_column("max regret", justify="right")
    table.add_column("seconds", justify="right")
    for model in ("catboost", "gp"):
        start = time.perf_counter()
        results = run_benchmark(
            frame,
            pruners=["naap"],
            samplers=["random", "tpe"],
            seeds=range(args.seeds),
            predictor_options={"architecture_model": model},
        )
        seconds = time.perf_counter() - start
        for row in summarize(results):
            table.add_row(
                model,
                row["sampler"],
                f"{100 * row['compute']:.1f}",
                f"{row['recall']:.3f}",
                f"{row['min_recall']:.2f}",
                f"{row['max_regret']:.4f}",
                f"{seconds:.0f}",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
