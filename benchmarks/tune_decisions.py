"""Choose NAAPPruner's decision epochs for a budget on NAAP-440's TRAINING rows only.

Run: ``python benchmarks/tune_decisions.py [--budgets 90,30] [--seeds 2]``. For each budget (the
rows cut to it exactly: the NAAP recipe's learning rate restarts every 3 epochs), the replay
protocol of ``optuna-naap benchmark`` (fit on one fold of the 400 training rows, replay the
other) runs a grid of decision-epoch sets and confidence levels; every decision point has its
own margin, the ``confidence`` quantile of its predictor's cross-validated errors. The test rows
(IsTest == 1) are never read: ``optuna-naap benchmark`` then reports the chosen settings over
all 440 rows once. ``optuna_naap.LEAN_BAR`` (top_k 10, confidence 0.95; the defaults since
2026-12-04) is the cheapest setting of ``--budgets 90 --seeds 3 --late-top-k 10`` whose mean
top-10 recall was at least 0.95 with no regret for both samplers (22 minutes on 2 cores;
docs/pruner.md).
"""

from __future__ import annotations

import argparse
import itertools

import optuna
from rich.console import Console
from rich.table import Table

from optuna_naap import load_naap440
from optuna_naap.benchmark import FitContext, PrunerFactory, run_benchmark, summarize

#: Decision-epoch sets tried, as fractions of the budget besides epoch 1 (rounded, deduplicated).
CANDIDATES: dict[int, list[tuple[int, ...]]] = {
    90: [(1, 9), (1, 3, 9), (1, 9, 18), (1, 9, 27), (1, 3, 9, 27)],
    30: [(1, 3), (1, 2, 3), (1, 3, 6), (1, 3, 9), (1, 3, 6, 9)],
    12: [(1,), (1, 2), (1, 3), (1, 2, 3), (1, 2, 3, 6)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="90,30")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--confidence", default="0.9,0.95,0.99")
    parser.add_argument("--top-k", default="10,20")
    parser.add_argument(
        "--late-top-k",
        default="",
        help="also try these bars at the last decision epoch, with top-k 20 before it",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440()
    train = frame[frame.IsTest == 0].reset_index(drop=True)
    console = Console()
    for budget in (int(b) for b in args.budgets.split(",")):
        grid: dict[str, PrunerFactory] = {}
        for epochs, confidence, top_k in itertools.product(
            CANDIDATES[budget],
            [float(c) for c in args.confidence.split(",")],
            [int(k) for k in args.top_k.split(",") if k],
        ):

            def factory(
                c: FitContext,
                epochs: tuple[int, ...] = epochs,
                q: float = confidence,
                k: int = top_k,
            ) -> optuna.pruners.BasePruner:
                return c.naap(epochs, confidence=q, top_k=k)

            grid[f"e{'+'.join(map(str, epochs))} c{confidence:g} k{top_k}"] = factory
        for epochs, confidence, late in itertools.product(
            [e for e in CANDIDATES[budget] if len(e) > 2],
            [float(c) for c in args.confidence.split(",")],
            [int(k) for k in args.late_top_k.split(",") if k],
        ):
            bars = {**dict.fromkeys(epochs, 20), epochs[-1]: late}

            def late_factory(
                c: FitContext,
                epochs: tuple[int, ...] = epochs,
                q: float = confidence,
                bars: dict[int, int] = bars,
            ) -> optuna.pruners.BasePruner:
                return c.naap(epochs, confidence=q, top_k=bars)

            name = f"e{'+'.join(map(str, epochs))} c{confidence:g} k20/{late}"
            grid[name] = late_factory
        results = run_benchmark(
            train,
            pruners=grid,
            samplers=["random", "tpe"],
            seeds=range(args.seeds),
            max_epochs=budget,
            progress=True,
        )
        table = Table(
            title=f"Decision epochs at a {budget}-epoch budget, replay over NAAP-440's "
            f"{len(train)} training rows (2 folds, {args.seeds} seeds, random and TPE; "
            "recall: top-10)"
        )
        for column in ("settings", "sampler", "compute %", "recall", "min recall", "max regret"):
            table.add_column(column, justify="right")
        for row in sorted(summarize(results), key=lambda r: (r["sampler"], r["compute"])):
            table.add_row(
                row["pruner"],
                row["sampler"],
                f"{100 * row['compute']:.1f}",
                f"{row['recall']:.3f}",
                f"{row['min_recall']:.2f}",
                f"{row['max_regret']:.4f}",
            )
        console.print(table)


if __name__ == "__main__":
    main()
