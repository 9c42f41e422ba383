"""``optuna-naap evaluate``: the NAAP paper's predictor table next to NAAPPredictor."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_naap.cli._common import add_naap440, int_list, out_dir, positive_int

if TYPE_CHECKING:
    import numpy as np

    from optuna_naap.cli._paper_table import EvaluationRow

NAME = "evaluate"
HELP = "reproduce the NAAP paper's predictor table next to NAAPPredictor"
DESCRIPTION = (
    "Fit on the official NAAP-440 training rows (IsTest=0), score on the 40 test rows, "
    "report the seed run with the median violations (the paper's protocol)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_naap440(
        parser,
        "NAAP-440 CSV (v1 or v2); default: the published file shipped in the package",
    )
    parser.add_argument(
        "--epochs",
        type=int_list,
        default=[0, 3, 6, 9],
        metavar="LIST",
        help="epochs of the curve to use, comma-separated (default 0,3,6,9)",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=5,
        metavar="N",
        help="seeds per model, the median run is reported (default 5)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="how results are printed: table (default), json or csv",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="also write results.csv and predicted-vs-true plots here"
    )
    parser.add_argument(
        "--architecture-model",
        choices=("catboost", "gp"),
        default="catboost",
        help="NAAPPredictor's architecture model: catboost (default) or gp (a Gaussian process)",
    )
    parser.add_argument(
        "--baselines",
        metavar="NAMES",
        help="semicolon-separated baseline names (default: the paper's 24)",
    )


@dataclass(frozen=True)
class EvaluateOptions:
    """``optuna-naap evaluate``'s options, typed once from the command line."""

    naap440: str | None
    epochs: list[int]
    seeds: list[int]
    format: str
    out: Path | None
    baselines: list[str] | None
    architecture_model: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EvaluateOptions:
        from optuna_naap.cli._paper_table import PAPER_SEEDS

        baselines = None
        if args.baselines is not None:
            baselines = [name.strip() for name in args.baselines.split(";") if name.strip()]
        seeds = [PAPER_SEEDS[0] + i for i in range(args.seeds)]
        return cls(
            args.naap440,
            list(args.epochs),
            seeds,
            args.format,
            out_dir(args.out),
            baselines,
            args.architecture_model,
        )


def take_action(args: argparse.Namespace) -> int:
    from optuna_naap._data import load_naap440

    options = EvaluateOptions.from_args(args)
    frame = load_naap440(options.naap440)
    predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    rows = _run(frame, options, predictions)
    if options.out is not None:
        _write_out(options.out, rows, predictions)
    if options.format == "json":
        json.dump([row.to_dict() for row in rows], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif options.format == "csv":
        _rows_csv(rows, sys.stdout)
    else:
        _print_table(rows, options.epochs, len(options.seeds), options.out)
    return 0


def _run(
    frame: Any,
    options: EvaluateOptions,
    predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]],
) -> list[EvaluationRow]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from optuna_naap.cli._paper_table import evaluate, naap_predictors, paper_regressors

    epochs, baselines = options.epochs, options.baselines
    predictors = naap_predictors(options.architecture_model)
    n_models = (len(paper_regressors()) if baselines is None else len(baselines)) + 2
    rows: list[EvaluationRow] = []
    with Progress(
        TextColumn("[bold]evaluate[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=n_models * len(epochs))
        for row in evaluate(
            frame,
            epochs=epochs,
            seeds=options.seeds,
            baselines=baselines,
            predictors=predictors,
            predictions=predictions,
        ):
            rows.append(row)
            progress.update(task, advance=1, description=f"{row.model} @ {row.epochs} epochs")
    return rows


def _write_out(
    out: Path,
    rows: list[EvaluationRow],
    predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="") as f:
        _rows_csv(rows, f)
    for (name, k), (truth, predicted) in predictions.items():
        if name.startswith("NAAPPredictor"):
            loss = name.split("(")[1].rstrip(")").replace(", ", "_")  # RMSE, PairLogit_GP
            scores = next(r for r in rows if r.model == name and r.epochs == k).scores
            _scatter(
                out / f"scatter_{loss}_{k}epochs.png",
                f"{name}, {k} epochs, {len(truth)} test schemes\n"
                f"{scores.violations}/{scores.max_violations} violations, "
                f"MAE {scores.mae:.4f}",
                truth,
                predicted,
            )


def _print_table(
    rows: list[EvaluationRow], epochs: list[int], n_seeds: int, out: Path | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"NAAP-440 official split: fit on 400 rows, scored on 40 (median of {n_seeds} seeds)"
    )
    for column in ("model", "epochs", "MAE", "violations", "monotonicity", "Kendall", "Spearman"):
        table.add_column(column, justify="left" if column == "model" else "right")
    best = {k: min(r.scores.violations for r in rows if r.epochs == k) for k in epochs}
    for row in rows:
        violations = f"{row.scores.violations}/{row.scores.max_violations}"
        if row.scores.violations == best[row.epochs]:
            violations = f"[bold green]{violations}[/]"
        table.add_row(
            row.model,
            str(row.epochs),
            f"{row.scores.mae:.4f}",
            violations,
            f"{row.scores.monotonicity:.4f}",
            f"{row.scores.kendall:.3f}",
            f"{row.scores.spearman:.3f}",
        )
    Console().print(table)
    if out is not None:
        Console().print(f"wrote {out / 'results.csv'} and scatter plots in {out}")


def _rows_csv(rows: Sequence[EvaluationRow], stream: Any) -> None:
    writer = csv.DictWriter(stream, fieldnames=list(rows[0].to_dict()) if rows else [])
    writer.writeheader()
    for row in rows:
        writer.writerow(row.to_dict())


def _scatter(path: Path, title: str, truth: np.ndarray, predicted: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    low = float(min(truth.min(), predicted.min())) - 0.005
    high = float(max(truth.max(), predicted.max())) + 0.005
    ax.plot([low, high], [low, high], color="grey", linewidth=1, label="y = x")
    ax.scatter(truth, predicted, s=18)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("true MaxAccuracy\n(max of CIFAR-10 test accuracy over the epochs)")
    ax.set_ylabel("predicted")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
