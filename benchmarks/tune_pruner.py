"""Choose NAAPPruner's default keep settings on NAAP-440's TRAINING rows only (IsTest == 0).

Run: ``python benchmarks/tune_pruner.py [--naap440 PATH]``. The replay protocol of
``optuna-naap benchmark`` (fit on one fold, replay the other) runs over the 400 training rows
for a grid of decision epochs, confidence levels and top-k; the test rows are never read, so the
benchmark that ``optuna-naap benchmark`` then reports over all 440 rows did not choose them.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import optuna
from rich.console import Console
from rich.table import Table

from optuna_naap import load_naap440
from optuna_naap.benchmark import FitContext, PrunerFactory, run_benchmark, summarize

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    train = frame[frame.IsTest == 0].reset_index(drop=True)
    grid: dict[str, PrunerFactory] = {}
    for epochs, confidence, top_k in itertools.product(
        [(9,), (3, 9), (2, 9), (1, 9), (1, 3, 9)], [0.9, 0.95, 0.99, 1.0], [10, 20]
    ):
        name = f"e{'+'.join(map(str, epochs))} c{confidence:g} k{top_k}"

        def factory(
            c: FitContext, epochs: tuple[int, ...] = epochs, q: float = confidence, k: int = top_k
        ) -> optuna.pruners.BasePruner:
            return c.naap(epochs, confidence=q, top_k=k)

        grid[name] = factory
    results = run_benchmark(
        train, pruners=grid, samplers=["random"], seeds=range(args.seeds), progress=True
    )
    table = Table(title=f"NAAPPruner settings, replay over NAAP-440 training rows ({len(train)})")
    for column in ("settings", "compute %", "recall", "min recall", "max regret"):
        table.add_column(column, justify="right")
    for row in sorted(summarize(results), key=lambda r: (-r["recall"], r["compute"])):
        table.add_row(
            row["pruner"],
            f"{100 * row['compute']:.1f}",
            f"{row['recall']:.3f}",
            f"{row['min_recall']:.2f}",
            f"{row['max_regret']:.4f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
