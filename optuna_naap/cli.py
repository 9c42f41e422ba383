"""The ``optuna-naap`` command line."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from optuna_naap._evaluate import EvaluationRow

__all__ = ["main"]


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 0,3,6,9, but got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, but got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optuna-naap",
        description="Neural architecture accuracy prediction and pruning for Optuna (NAAP-440).",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    evaluate = commands.add_parser(
        "evaluate",
        help="reproduce the NAAP paper's predictor table next to NAAPPredictor",
        description=(
            "Fit on the official NAAP-440 training rows (IsTest=0), score on the 40 test rows, "
            "report the seed run with the median violations (the paper's protocol)."
        ),
    )
    evaluate.add_argument(
        "--naap440",
        metavar="PATH",
        help="NAAP-440 CSV (v1 or v2); default: "
        "the cached copy, downloaded once with a pinned checksum",
    )
    evaluate.add_argument(
        "--epochs",
        type=_int_list,
        default=[0, 3, 6, 9],
        metavar="LIST",
        help="epochs of the curve to use, comma-separated (default 0,3,6,9)",
    )
    evaluate.add_argument(
        "--seeds",
        type=_positive_int,
        default=5,
        metavar="N",
        help="seeds per model, the median run is reported (default 5)",
    )
    evaluate.add_argument("--format", choices=("table", "json", "csv"), default="table")
    evaluate.add_argument(
        "--out", metavar="DIR", help="also write results.csv and predicted-vs-true plots here"
    )
    evaluate.add_argument(
        "--baselines",
        metavar="NAMES",
        help="semicolon-separated baseline names (default: the paper's 24)",
    )

    bench = commands.add_parser(
        "benchmark",
        help="replay NAAP-440 curves to compare NAAPPruner with Optuna's pruners",
        description=(
            "Split the NAAP-440 rows into disjoint folds; for each fold, fit on the others and "
            "replay every scheme of the fold once per sampler and seed, under each pruner. "
            "Figures: compute (epochs run / full training of the fold), regret (best "
            "MaxAccuracy of the fold minus the study's best), top-10 recall, wall time."
        ),
    )
    bench.add_argument(
        "--naap440",
        metavar="PATH",
        help="NAAP-440 CSV (v2); default: the cached copy, downloaded once with a pinned checksum",
    )
    bench.add_argument(
        "--pruners", metavar="NAMES", help="comma-separated pruner names (default: all)"
    )
    bench.add_argument(
        "--samplers", metavar="NAMES", default="random,tpe", help="random,tpe (default both)"
    )
    bench.add_argument(
        "--seeds", type=_positive_int, default=3, metavar="N", help="seeds (default 3)"
    )
    bench.add_argument(
        "--folds", type=_positive_int, default=2, metavar="N", help="disjoint folds (default 2)"
    )
    bench.add_argument(
        "--max-epochs",
        type=_positive_int,
        metavar="N",
        help="epochs of full training replayed (default: all 90)",
    )
    bench.add_argument(
        "--fast",
        action="store_true",
        help="small predictors (for smoke runs; the figures in the docs use the defaults)",
    )
    bench.add_argument("--format", choices=("table", "json"), default="table")
    bench.add_argument(
        "--out", metavar="DIR", help="also write benchmark.json and pareto.png here"
    )
    return parser


def _version() -> str:
    from optuna_naap import __version__

    return f"optuna-naap {__version__}"


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


def _evaluate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Table

    from optuna_naap._data import load_naap440
    from optuna_naap._evaluate import PAPER_SEEDS, evaluate, paper_regressors

    baselines = None
    if args.baselines is not None:
        baselines = [name.strip() for name in args.baselines.split(";") if name.strip()]
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} exists and is not a directory")
    frame = load_naap440(args.naap440)
    seeds = [PAPER_SEEDS[0] + i for i in range(args.seeds)]
    n_models = (len(paper_regressors()) if baselines is None else len(baselines)) + 2
    predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    rows: list[EvaluationRow] = []
    err = Console(stderr=True)
    with Progress(
        TextColumn("[bold]evaluate[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=n_models * len(args.epochs))
        for row in evaluate(
            frame, epochs=args.epochs, seeds=seeds, baselines=baselines, predictions=predictions
        ):
            rows.append(row)
            progress.update(task, advance=1, description=f"{row.model} @ {row.epochs} epochs")

    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "results.csv", "w", newline="") as f:
            _rows_csv(rows, f)
        for (name, k), (truth, predicted) in predictions.items():
            if name.startswith("NAAPPredictor"):
                loss = name.split("(")[1].rstrip(")")
                scores = next(r for r in rows if r.model == name and r.epochs == k).scores
                _scatter(
                    out_dir / f"scatter_{loss}_{k}epochs.png",
                    f"{name}, {k} epochs, {len(truth)} test schemes\n"
                    f"{scores.violations}/{scores.max_violations} violations, "
                    f"MAE {scores.mae:.4f}",
                    truth,
                    predicted,
                )

    if args.format == "json":
        json.dump([row.to_dict() for row in rows], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.format == "csv":
        _rows_csv(rows, sys.stdout)
    else:
        table = Table(
            title="NAAP-440 official split: fit on 400 rows, scored on 40 "
            f"(median of {len(seeds)} seeds)"
        )
        for column in (
            "model",
            "epochs",
            "MAE",
            "violations",
            "monotonicity",
            "Kendall",
            "Spearman",
        ):
            table.add_column(column, justify="left" if column == "model" else "right")
        best = {k: min(r.scores.violations for r in rows if r.epochs == k) for k in args.epochs}
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
        if out_dir is not None:
            Console().print(f"wrote {out_dir / 'results.csv'} and scatter plots in {out_dir}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from optuna_naap._data import load_naap440
    from optuna_naap.benchmark import (
        builtin_pruners,
        pareto_front,
        plot_pareto,
        run_benchmark,
        summarize,
    )

    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} exists and is not a directory")
    names = None
    if args.pruners:
        names = [n.strip() for n in args.pruners.split(",") if n.strip()]
        known = builtin_pruners()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CommandError(f"unknown pruner {unknown[0]!r}; choose among {', '.join(known)}")
    samplers = [n.strip() for n in args.samplers.split(",") if n.strip()]
    frame = load_naap440(args.naap440)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per replayed trial is noise
    fast = {"iterations": 100, "learning_rate": 0.15, "n_models": 1}
    results = run_benchmark(
        frame,
        pruners=names,
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
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "benchmark.json").write_text(json.dumps(document, indent=1))
        plot_pareto(summary, str(out_dir / "pareto.png"))
    if args.format == "json":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    table = Table(
        title=f"NAAP-440 replay: {len(frame)} schemes in {args.folds} folds, "
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
    if out_dir is not None:
        console.print(f"wrote {out_dir / 'benchmark.json'} and {out_dir / 'pareto.png'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    from optuna_naap._data import NAAPDataError
    from optuna_naap._predictor import PredictorFileError

    try:
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "benchmark":
            return _benchmark(args)
    except (CommandError, NAAPDataError, PredictorFileError, ValueError, OSError) as exc:
        print(f"optuna-naap {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"optuna-naap {args.command}: interrupted", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
