"""Choose the multi-objective NAAPPruner's settings on NAAP-440's TRAINING rows only, and print
the compute an oracle would need.

Run: ``python benchmarks/tune_pareto.py [--naap440 PATH] [--seeds 2]``. The multi-objective replay
of ``optuna-naap benchmark --objectives ...`` (fit on one fold of the 400 training rows, replay
the other, random/TPE/NSGA-II) runs for a grid of ``confidence`` and ``ParetoReferences(k=...)``.
The test rows are never read.

The oracle knows every scheme's final accuracy and trains a scheme to completion only when no
completed scheme that costs no more is better and fewer than ``k`` reference rows (the other
fold) dominate it; everything else costs one epoch. Its compute, over random arrival orders, is
a floor for any pruner that must keep the fold's whole front.
"""

from __future__ import annotations

import argparse
import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from rich.console import Console
from rich.table import Table

from optuna_naap import load_naap440
from optuna_naap.benchmark import PrunerFactory, run_benchmark, summarize
from optuna_naap.pareto import ParetoObjectives, ParetoReferences, pareto_mask, scheme_costs

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


def oracle_compute(
    accuracy: np.ndarray,
    costs: np.ndarray,
    ref_accuracy: np.ndarray,
    ref_costs: np.ndarray,
    k: int,
) -> tuple[float, float]:
    """Mean compute and front recall of the oracle over 20 random arrival orders."""
    front = np.array(pareto_mask(list(accuracy), costs.tolist()))
    n, epochs = len(accuracy), 90
    computes, recalls = [], []
    for seed in range(20):
        done: list[int] = []
        for i in np.random.default_rng(seed).permutation(n):
            own = any(accuracy[j] > accuracy[i] and (costs[j] <= costs[i]).all() for j in done)
            refs = np.sum((ref_accuracy > accuracy[i]) & (ref_costs <= costs[i]).all(axis=1))
            if not own and refs < k:
                done.append(i)
        computes.append((len(done) * epochs + (n - len(done))) / (n * epochs))
        recalls.append(front[done].sum() / front.sum())
    return float(np.mean(computes)), float(np.mean(recalls))


def _cost_matrix(rows: pd.DataFrame, objectives: ParetoObjectives) -> np.ndarray:
    return np.array([scheme_costs(json.loads(s), objectives) for s in rows["Scheme"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    frame = load_naap440(args.naap440)
    train = frame[frame.IsTest == 0].reset_index(drop=True)
    console = Console()

    def factory(confidence: float, k: int) -> PrunerFactory:
        return lambda c: c.naap(
            confidence=confidence, pareto_references=ParetoReferences(c.rows, k=k)
        )

    grid = {
        f"confidence {c:g}, k {k}": factory(c, k)
        for c, k in itertools.product((0.5, 0.7, 0.8, 0.9), (3, 5))
    }
    for names in ("accuracy,macs", "accuracy,params"):
        objectives = ParetoObjectives.parse(names)
        order = np.random.default_rng(0).permutation(len(train))
        folds = np.array_split(order, 2)
        for k in (1, 3, 5):
            bounds = []
            for f in range(2):
                pool, rest = train.iloc[folds[f]], train.iloc[folds[1 - f]]

                bounds.append(
                    oracle_compute(
                        pool["MaxAccuracy"].to_numpy(),
                        _cost_matrix(pool, objectives),
                        rest["MaxAccuracy"].to_numpy(),
                        _cost_matrix(rest, objectives),
                        k,
                    )
                )
            compute, recall = np.mean(bounds, axis=0)
            console.print(
                f"{names}: oracle with reference k={k}: compute {100 * compute:.1f}%, "
                f"front recall {recall:.3f} (random arrival order, both folds)"
            )
        results = run_benchmark(
            train, objectives=names, pruners=grid, seeds=list(range(args.seeds))
        )
        table = Table(title=f"{names}, 400 training rows, 2 folds, {args.seeds} seed(s)")
        for column in ("setting", "sampler", "compute", "front recall", "min", "hv regret", "max"):
            table.add_column(
                column, justify="left" if column in ("setting", "sampler") else "right"
            )
        for row in summarize(results):
            table.add_row(
                row["pruner"],
                row["sampler"],
                f"{100 * row['compute']:.1f}%",
                f"{row['front_recall']:.3f}",
                f"{row['min_front_recall']:.3f}",
                f"{100 * row['hv_regret']:.3f}%",
                f"{100 * row['max_hv_regret']:.3f}%",
            )
        console.print(table)


if __name__ == "__main__":
    main()
