"""``optuna-naap benchmark``'s tables (rich), for the NAAP-440 replay and the objectives suite."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna_naap.cli._benchmark_options import ReplayOptions, SuiteOptions

__all__ = ["naap440_table", "objectives_tables"]


def naap440_table(
    summary: Sequence[dict[str, Any]], front: list[bool], rows: int, options: ReplayOptions
) -> None:
    from rich.console import Console
    from rich.table import Table

    out = options.out
    what = (
        "NAAP-440"
        if options.task_data == "cifar10"
        else f"{options.task_data} ({options.naap440})"
    )
    budget = f", {options.max_epochs} epochs" if options.max_epochs else ""
    table = Table(
        title=f"{what} replay{budget}: {rows} schemes in {options.folds} folds, "
        f"{options.seeds} seed(s) per sampler; means, min/max over studies; "
        "recall = top-10 recall; 1st prune = trials until the first pruned one; "
        "* = Pareto front"
    )
    multi = bool(summary) and "front_recall" in summary[0]
    if multi:
        table.title = (
            f"NAAP-440 multi-objective replay ({summary[0]['objectives']}): {rows} schemes in "
            f"{options.folds} folds, {options.seeds} seed(s) per sampler; means, min/max over "
            "studies; w/ refs = front recall counting only the front of the fold and the "
            "reference rows together; HV @1/2 = HV regret of the first half of the trials; "
            "* = Pareto front of compute and front recall"
        )
    recall, regret = ("front_recall", "hv_regret") if multi else ("recall", "regret")
    columns = (
        "pruner",
        "sampler",
        "compute",
        "front recall" if multi else "recall",
        "min",
        *(("w/ refs",) if multi else ()),
        "hv regret" if multi else "regret",
        "max",
        *(("HV @1/2",) if multi else ()),
        "1st prune",
        "wall s",
    )
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("pruner", "sampler") else "right", no_wrap=True
        )
    for row, on_front in zip(summary, front, strict=True):
        table.add_row(
            ("* " if on_front else "  ") + str(row["pruner"]),
            str(row["sampler"]),
            f"{100 * row['compute']:.1f}%",
            f"{row[recall]:.3f}",
            f"{row['min_' + recall]:.2f}",
            *((_known(row),) if multi else ()),
            f"{100 * row[regret]:.3f}%" if multi else f"{row[regret]:.4f}",
            f"{100 * row['max_' + regret]:.3f}%" if multi else f"{row['max_' + regret]:.4f}",
            *((f"{100 * row['hv_regret_half']:.2f}%",) if multi else ()),
            f"{row['first_pruned']:.1f}" if math.isfinite(row["first_pruned"]) else "-",
            f"{row['wall_s']:.1f}",
        )
    console = Console(width=max(Console().width, 125))  # the table's columns need 125
    console.print(table)
    if out is not None:
        console.print(f"wrote {out / 'benchmark.json'} and {out / 'pareto.png'}")


def _known(row: dict[str, Any]) -> str:
    known = row.get("front_recall_known", math.nan)
    return f"{known:.3f}" if math.isfinite(known) else "-"


def objectives_tables(
    summary: Sequence[dict[str, Any]], notes: list[str], options: SuiteOptions
) -> None:
    from rich.console import Console
    from rich.table import Table

    from optuna_naap.benchmark import totals

    out = options.out
    console = Console(width=max(Console().width, 110))
    table = Table(
        title=f"Pruners on real objectives: {options.n_trials} TPE trials, "
        f"{options.seeds} seed(s); "
        "seed means; shortfall = best value's loss against no pruning"
    )
    columns = (
        "objective", "pruner", "steps", "best", "shortfall", "at median's steps", "wall s",
        "pruner s", "pruned",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:2] else "right")
    for row in summary:
        table.add_row(
            row["objective"],
            row["pruner"],
            f"{row['steps']:.0f}",
            f"{row['best']:.4f}",
            f"{100 * row['shortfall']:+.2f}%",
            f"{100 * row['anytime_shortfall']:+.2f}%",
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
        console.print(f"wrote {out / 'suite.json'}, {out / 'suite.png'} and {out / 'anytime.png'}")
