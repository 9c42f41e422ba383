"""``optuna-naap benchmark``: NAAPPruner against Optuna's pruners (NAAP-440 replay, or real
objectives run offline)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from optuna_naap.cli._common import CommandError, names, out_dir, positive_int

NAME = "benchmark"
HELP = "compare NAAPPruner with Optuna's pruners (NAAP-440 replay, or real objectives)"
DESCRIPTION = (
    "--suite naap440 (default): split the NAAP-440 rows into disjoint folds; for each "
    "fold, fit on the others and replay every scheme of the fold once per sampler and "
    "seed, under each pruner. Figures: compute (epochs run / full training of the "
    "fold), regret (best MaxAccuracy of the fold minus the study's best), top-10 "
    "recall, wall time. --suite objectives: run real objectives offline (scikit-learn, "
    "torch, LightGBM/XGBoost/CatBoost callbacks, a noisy minimize objective) under "
    "each pruner with default settings and a seeded TPE sampler. Figures: steps run, "
    "best value (and its shortfall against no pruning), wall time, time in the pruner."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suite",
        choices=("naap440", "objectives"),
        default="naap440",
        help="what to benchmark on (default naap440)",
    )
    parser.add_argument(
        "--objectives",
        metavar="NAMES",
        help="--suite objectives: comma-separated objective names (default: all)",
    )
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=50,
        metavar="N",
        help="--suite objectives: trials per study (default 50)",
    )
    parser.add_argument(
        "--naap440",
        metavar="PATH",
        help="NAAP-440 CSV (v2); default: the cached copy, downloaded once with a pinned checksum",
    )
    parser.add_argument(
        "--pruners", metavar="NAMES", help="comma-separated pruner names (default: all)"
    )
    parser.add_argument(
        "--samplers", metavar="NAMES", default="random,tpe", help="random,tpe (default both)"
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=3, metavar="N", help="seeds (default 3)"
    )
    parser.add_argument(
        "--folds", type=positive_int, default=2, metavar="N", help="disjoint folds (default 2)"
    )
    parser.add_argument(
        "--max-epochs",
        type=positive_int,
        metavar="N",
        help="epochs of full training replayed (default: all 90)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="small predictors (for smoke runs; the figures in the docs use the defaults)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--out", metavar="DIR", help="also write benchmark.json and pareto.png here"
    )


def take_action(args: argparse.Namespace) -> int:
    return _objectives(args) if args.suite == "objectives" else _naap440(args)


def _naap440(args: argparse.Namespace) -> int:
    from optuna_naap._data import load_naap440
    from optuna_naap.benchmark import (
        builtin_pruners,
        pareto_front,
        plot_pareto,
        run_benchmark,
        summarize,
    )

    out = out_dir(args.out)
    pruners = names(args.pruners)
    known = builtin_pruners()
    unknown = [n for n in pruners or () if n not in known]
    if unknown:
        raise CommandError(f"unknown pruner {unknown[0]!r}; choose among {', '.join(known)}")
    samplers = names(args.samplers) or []
    frame = load_naap440(args.naap440)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per replayed trial is noise
    fast = {"iterations": 100, "learning_rate": 0.15, "n_models": 1}
    results = run_benchmark(
        frame,
        pruners=pruners,
        samplers=samplers,
        seeds=list(range(args.seeds)),
        folds=args.folds,
        max_epochs=args.max_epochs,
        predictor_options=fast if args.fast else None,
        progress=True,
    )
    summary = summarize(results)
    front = pareto_front(summary)
    document = {
        "protocol": {
            "rows": len(frame),
            "folds": args.folds,
            "seeds": args.seeds,
            "samplers": samplers,
            "max_epochs": args.max_epochs,
            "fast_predictors": bool(args.fast),
        },
        "summary": [{**row, "pareto": flag} for row, flag in zip(summary, front, strict=True)],
        "studies": [r.to_json() for r in results],
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "benchmark.json").write_text(json.dumps(document, indent=1))
        plot_pareto(summary, str(out / "pareto.png"))
    if args.format == "json":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    _naap440_table(summary, front, len(frame), args)
    return 0


def _naap440_table(
    summary: Sequence[dict[str, Any]], front: list[bool], rows: int, args: argparse.Namespace
) -> None:
    from rich.console import Console
    from rich.table import Table

    out = out_dir(args.out)
    table = Table(
        title=f"NAAP-440 replay: {rows} schemes in {args.folds} folds, "
        f"{args.seeds} seed(s) per sampler; means, min/max over studies; "
        "recall = top-10 recall; * = Pareto front"
    )
    columns = ("pruner", "sampler", "compute", "recall", "min", "regret", "max", "wall s")
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("pruner", "sampler") else "right", no_wrap=True
        )
    for row, on_front in zip(summary, front, strict=True):
        table.add_row(
            ("* " if on_front else "  ") + str(row["pruner"]),
            str(row["sampler"]),
            f"{100 * row['compute']:.1f}%",
            f"{row['recall']:.3f}",
            f"{row['min_recall']:.2f}",
            f"{row['regret']:.4f}",
            f"{row['max_regret']:.4f}",
            f"{row['wall_s']:.1f}",
        )
    console = Console(width=max(Console().width, 100))  # the table's columns need 100
    console.print(table)
    if out is not None:
        console.print(f"wrote {out / 'benchmark.json'} and {out / 'pareto.png'}")


def _objectives(args: argparse.Namespace) -> int:
    from optuna_naap.objective_suite import plot_suite, run_suite, summarize_suite, totals

    out = out_dir(args.out)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are counted instead
    results, notes = run_suite(
        objectives=names(args.objectives),
        pruners=names(args.pruners),
        seeds=list(range(args.seeds)),
        n_trials=args.trials,
        progress=args.format == "table",
    )
    summary = summarize_suite(results)
    document = {
        "protocol": {"suite": "objectives", "seeds": args.seeds, "trials": args.trials},
        "notes": notes,
        "summary": summary,
        "totals": totals(summary),
        "studies": [r.to_json() for r in results],
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "suite.json").write_text(json.dumps(document, indent=1))
        plot_suite(summary, str(out / "suite.png"))
    if args.format == "json":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    _objectives_tables(summary, notes, args)
    return 0


def _objectives_tables(
    summary: Sequence[dict[str, Any]], notes: list[str], args: argparse.Namespace
) -> None:
    from rich.console import Console
    from rich.table import Table

    from optuna_naap.objective_suite import totals

    out = out_dir(args.out)
    console = Console(width=max(Console().width, 110))
    table = Table(
        title=f"Pruners on real objectives: {args.trials} TPE trials, {args.seeds} seed(s); "
        "seed means; shortfall = best value's loss against no pruning"
    )
    columns = ("objective", "pruner", "steps", "best", "shortfall", "wall s", "pruner s", "pruned")
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:2] else "right")
    for row in summary:
        table.add_row(
            row["objective"],
            row["pruner"],
            f"{row['steps']:.0f}",
            f"{row['best']:.4f}",
            f"{100 * row['shortfall']:+.2f}%",
            f"{row['wall_s']:.2f}",
            f"{row['pruner_s']:.2f}",
            f"{row['pruned']:.1f}",
        )
    console.print(table)
    total = Table(title="Over the suite: summed seed-mean steps and wall time, worst shortfall")
    for column in ("pruner", "steps", "wall s", "worst shortfall"):
        total.add_column(column, justify="left" if column == "pruner" else "right")
    for row in totals(summary):
        total.add_row(
            row["pruner"],
            f"{row['steps']:.0f}",
            f"{row['wall_s']:.1f}",
            f"{100 * row['worst']:+.2f}%",
        )
    console.print(total)
    for note in notes:
        console.print(note)
    if out is not None:
        console.print(f"wrote {out / 'suite.json'} and {out / 'suite.png'}")
