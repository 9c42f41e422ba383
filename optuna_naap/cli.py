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

    search = commands.add_parser(
        "search",
        help="run the NAS study: sample schemes, train them with the NAAP recipe, prune early",
        description=(
            "Train schemes of the NAAP-440 space with the fixed NAAP recipe on CIFAR-10 (or a "
            "synthetic stand-in), pruning with NAAPPruner. The storage defaults to a SQLite "
            "file here; the same storage and study name resume the study."
        ),
    )
    search.add_argument(
        "--storage",
        metavar="URL",
        default="sqlite:///optuna-naap.db",
        help="Optuna storage URL (default: sqlite:///optuna-naap.db in this folder)",
    )
    search.add_argument("--study-name", metavar="NAME", default="naap-search")
    search.add_argument(
        "--n-trials", type=_positive_int, metavar="N", help="trials to run (default: 20)"
    )
    search.add_argument("--data", choices=("cifar10", "synthetic"), default="cifar10")
    search.add_argument(
        "--data-root", metavar="DIR", default="data", help="CIFAR-10 folder (default: data)"
    )
    search.add_argument(
        "--download", action="store_true", help="download CIFAR-10 into --data-root first"
    )
    search.add_argument(
        "--pruner",
        choices=("naap", "median", "none"),
        help="default: naap on cifar10, median on synthetic data",
    )
    source = search.add_mutually_exclusive_group()
    source.add_argument(
        "--naap440", metavar="PATH", help="NAAP-440 CSV to fit the pruner's predictors on"
    )
    source.add_argument(
        "--predictor", metavar="FILE", help="a saved NAAPPredictor (its epochs: the decision)"
    )
    search.add_argument("--device", metavar="D", help="cpu, cuda, cuda:1, mps (default: best)")
    search.add_argument(
        "--epochs", type=_positive_int, metavar="N", help="epochs per trial (default: 90)"
    )
    search.add_argument("--sampler", choices=("tpe", "random"), default="tpe")
    search.add_argument(
        "--exhaustive", action="store_true", help="train every scheme of the space once"
    )
    search.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    search.add_argument(
        "--refine",
        action="store_true",
        help="refine the space to the fittest options from the 20th trial on (SpaceRefiner)",
    )
    search.add_argument(
        "--prescreen",
        action="store_true",
        help="skip schemes a 0-epoch predictor rates hopeless, before training (SchemePrescreen)",
    )

    build = commands.add_parser(
        "build-dataset",
        help="train every scheme of a space fully, once, across workers (NAAP-440 style)",
        description=(
            "The exhaustive study over a space (the 440 by default) with the full recipe and "
            "no pruning, in an Optuna RDB storage. Each scheme completes exactly once; trials "
            "of killed workers are detected by Optuna's heartbeat and retried; running the "
            "same command again resumes. Other machines join by running it on the same storage."
        ),
    )
    build.add_argument(
        "--storage",
        metavar="URL",
        default="sqlite:///naap-dataset.db",
        help="RDB URL (default: sqlite:///naap-dataset.db; PostgreSQL/MySQL for several workers)",
    )
    build.add_argument("--study-name", metavar="NAME", default="naap-dataset")
    build.add_argument(
        "--workers", type=_positive_int, default=1, metavar="N", help="local worker processes"
    )
    build.add_argument("--data", choices=("cifar10", "synthetic"), default="cifar10")
    build.add_argument("--data-root", metavar="DIR", default="data")
    build.add_argument("--download", action="store_true", help="download CIFAR-10 first")
    build.add_argument(
        "--epochs", type=_positive_int, metavar="N", help="epochs per scheme (default: 90)"
    )
    build.add_argument("--device", metavar="D", help="cpu, cuda, cuda:1, mps (default: best)")
    build.add_argument(
        "--space", metavar="FILE", help="a SchemeSpace as JSON (default: the NAAP-440 space)"
    )
    build.add_argument(
        "--heartbeat",
        type=_positive_int,
        default=60,
        metavar="S",
        help="seconds between a running trial's heartbeats (default 60)",
    )
    build.add_argument(
        "--grace",
        type=_positive_int,
        metavar="S",
        help="seconds without a heartbeat before a trial counts as dead (default: 2 x heartbeat)",
    )

    dash = commands.add_parser(
        "dashboard",
        help="serve optuna-dashboard on a storage, with NAAPPruner's notes and figure",
        description=(
            "Write each decided trial's note and each study's predicted-vs-actual figure, then "
            'run optuna-dashboard (extra: pip install "optuna-naap[dashboard]").'
        ),
    )
    dash.add_argument("--storage", metavar="URL", default="sqlite:///optuna-naap.db")
    dash.add_argument("--host", default="127.0.0.1")
    dash.add_argument("--port", type=_positive_int, default=8080)

    export = commands.add_parser(
        "export",
        help="write a study's completed schemes as a NAAP-440 CSV",
        description="One row per COMPLETE trial with a recorded scheme, in the NAAP-440 layout.",
    )
    export.add_argument("--storage", metavar="URL", required=True)
    export.add_argument("--study-name", metavar="NAME", required=True)
    export.add_argument("out", metavar="OUT.csv")
    export.add_argument("--version", type=int, choices=(1, 2), default=2)
    export.add_argument(
        "--epochs", type=_positive_int, metavar="N", help="epochs per row (default: all)"
    )

    importer = commands.add_parser(
        "import",
        help="load a NAAP-440 CSV into a study (one COMPLETE trial per row)",
        description=(
            "Create a study with one COMPLETE trial per CSV row: its scheme as parameters, "
            "MaxAccuracy as value, the epochs as intermediate values and losses, so the "
            "dataset can be browsed in optuna-dashboard and used to fit predictors."
        ),
    )
    importer.add_argument("csv", metavar="CSV")
    importer.add_argument("--storage", metavar="URL", required=True)
    importer.add_argument("--study-name", metavar="NAME", required=True)

    bench = commands.add_parser(
        "benchmark",
        help="compare NAAPPruner with Optuna's pruners (NAAP-440 replay, or real objectives)",
        description=(
            "--suite naap440 (default): split the NAAP-440 rows into disjoint folds; for each "
            "fold, fit on the others and replay every scheme of the fold once per sampler and "
            "seed, under each pruner. Figures: compute (epochs run / full training of the "
            "fold), regret (best MaxAccuracy of the fold minus the study's best), top-10 "
            "recall, wall time. --suite objectives: run real objectives offline (scikit-learn, "
            "torch, LightGBM/XGBoost/CatBoost callbacks, a noisy minimize objective) under "
            "each pruner with default settings and a seeded TPE sampler. Figures: steps run, "
            "best value (and its shortfall against no pruning), wall time, time in the pruner."
        ),
    )
    bench.add_argument(
        "--suite",
        choices=("naap440", "objectives"),
        default="naap440",
        help="what to benchmark on (default naap440)",
    )
    bench.add_argument(
        "--objectives",
        metavar="NAMES",
        help="--suite objectives: comma-separated objective names (default: all)",
    )
    bench.add_argument(
        "--trials",
        type=_positive_int,
        default=50,
        metavar="N",
        help="--suite objectives: trials per study (default 50)",
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


def _search(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console

    from optuna_naap._data import load_naap440
    from optuna_naap._images import load_cifar10, synthetic_images
    from optuna_naap._objective import CIFAR10Objective, resolve_device
    from optuna_naap._predictor import NAAPPredictor
    from optuna_naap._pruner import NAAPPruner, default_decision_epochs
    from optuna_naap._recipe import Recipe
    from optuna_naap._sampler import NAAPSampler
    from optuna_naap._search import describe_best, run_search

    console = Console(stderr=True)
    recipe = Recipe(epochs=args.epochs or 90)
    device = resolve_device(args.device)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the live view says it all
    # The storage first: it is the cheapest thing to get wrong.
    study = optuna.create_study(
        storage=_open_storage(args.storage),
        study_name=args.study_name,
        direction="maximize",
        load_if_exists=True,
    )
    if study.direction != optuna.study.StudyDirection.MAXIMIZE or len(study.directions) != 1:
        raise CommandError(
            f"study {args.study_name!r} in {args.storage} is not a single maximized accuracy; "
            "choose another --study-name"
        )
    data = (
        synthetic_images()
        if args.data == "synthetic"
        else load_cifar10(args.data_root, download=args.download)
    )
    pruner_name = args.pruner or ("naap" if args.data == "cifar10" else "median")
    loaded: list[Any] = []

    def naap_rows() -> Any:  # NAAP-440, read (or downloaded) once for the pruner and pre-screen
        if not loaded:
            loaded.append(load_naap440(args.naap440))
        return loaded[0]

    if pruner_name == "none":
        study.pruner = optuna.pruners.NopPruner()
    elif pruner_name == "median":
        warmup = max(1, round(0.1 * recipe.epochs))
        study.pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    elif args.predictor:
        study.pruner = NAAPPruner(NAAPPredictor.load(args.predictor), max_epochs=recipe.epochs)
    else:
        frame = naap_rows()
        epochs = default_decision_epochs(recipe.epochs)
        console.print(f"fitting NAAPPredictors for epochs {epochs} on {len(frame)} NAAP-440 rows")
        study.pruner = NAAPPruner.from_frame(
            frame, decision_epochs=epochs, max_epochs=recipe.epochs
        )
    base = (
        optuna.samplers.RandomSampler(seed=args.seed)
        if args.sampler == "random"
        else optuna.samplers.TPESampler(seed=args.seed)
    )
    for flag in ("refine", "prescreen"):
        if getattr(args, flag) and args.exhaustive:
            raise CommandError(f"--{flag} skips schemes; --exhaustive runs them all: choose one")
    prescreen = None
    if args.prescreen:
        from optuna_naap._prescreen import SchemePrescreen

        frame = naap_rows()
        console.print(f"fitting the pre-screen's NAAPPredictor(0) on {len(frame)} NAAP-440 rows")
        prescreen = SchemePrescreen.from_frame(frame)
    refiner = None
    if args.refine:
        from optuna_naap._refine import SpaceRefiner

        refiner = SpaceRefiner()
    sampler = NAAPSampler(base, exhaustive=args.exhaustive, refine=refiner, prescreen=prescreen)
    study.sampler = sampler
    n_trials = args.n_trials or (None if args.exhaustive else 20)
    if args.exhaustive:
        queued = sampler.enqueue_space(study)
        console.print(f"exhaustive: {queued} schemes queued")
        n_trials = args.n_trials or queued
    console.print(
        f"study {args.study_name!r} in {args.storage}: {len(study.trials)} trials so far; "
        f"{data.name} data, {recipe.epochs} epochs per trial on {device}, pruner {pruner_name}"
        + (", refined space" if refiner else "")
        + (", pre-screen" if prescreen else "")
    )
    objective = CIFAR10Objective(data, recipe, device)
    callbacks = []
    try:  # notes and the figure for optuna-dashboard, when it is installed
        from optuna_naap.integrations.dashboard import DashboardCallback

        callbacks.append(DashboardCallback())
    except ImportError:
        pass
    try:
        run_search(study, objective, n_trials=n_trials, console=console, callbacks=callbacks)
    except KeyboardInterrupt:
        print(
            f"optuna-naap search: interrupted; the storage is consistent, run the same command "
            f"to resume study {args.study_name!r}",
            file=sys.stderr,
        )
        return 130
    best = describe_best(study)
    if best is None:
        print("no trial completed yet")
    else:
        print(f"best trial {best['trial']}: accuracy {best['value']:.4f}")
        print(f"scheme: {json.dumps(best['scheme'])}")
    return 0


def _open_storage(url: str) -> Any:
    import optuna

    try:
        return optuna.storages.get_storage(url)
    except Exception as exc:  # any storage failure: one line, not a traceback
        raise CommandError(f"cannot open the storage {url!r}: {exc}") from exc


def _build(args: argparse.Namespace) -> int:
    import time

    import optuna
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from optuna_naap._build import (
        DataSpec,
        build_counts,
        open_build_study,
        run_build_worker,
        start_workers,
    )
    from optuna_naap._recipe import Recipe
    from optuna_naap._space import SchemeSpace

    if args.workers > 1 and args.storage.startswith("sqlite"):
        raise CommandError(
            "SQLite cannot hand queued trials to several processes safely; use one worker, "
            "or a PostgreSQL/MySQL --storage URL for several"
        )
    if args.space:
        try:
            space = SchemeSpace.from_json(json.loads(Path(args.space).read_text()))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise CommandError(f"--space {args.space} is not a scheme space file: {exc}") from exc
    else:
        space = SchemeSpace()
    recipe = Recipe(epochs=args.epochs or 90)
    data = DataSpec(args.data, args.data_root, args.download)
    if args.data == "cifar10" and not args.download:
        data.load()  # a missing dataset is one line here, not one per worker
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study, queued = open_build_study(
            args.storage,
            args.study_name,
            space=space,
            recipe=recipe,
            data=data,
            heartbeat=args.heartbeat,
            grace=args.grace,
        )
    except ValueError:
        raise
    except Exception as exc:  # any storage failure: one line, not a traceback
        raise CommandError(f"cannot open the storage {args.storage!r}: {exc}") from exc
    total = len(space.enumerate())
    console = Console(stderr=True)
    console.print(
        f"study {args.study_name!r} in {args.storage}: {total} schemes, "
        f"{'queued ' + str(queued) if queued else 'joined'}; {args.workers} worker(s), "
        f"{recipe.epochs} epochs, {args.data} data"
    )
    workers = start_workers(
        args.workers,
        run_build_worker,
        (
            args.storage,
            args.study_name,
            space.to_json(),
            recipe.to_json(),
            data,
            args.device,
            args.heartbeat,
            args.grace,
        ),
    )
    counts = build_counts(study, total)
    try:
        with Progress(
            TextColumn("[bold]build-dataset[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("", total=total, completed=counts.complete)
            while any(w.is_alive() for w in workers):
                time.sleep(1.0)
                counts = build_counts(study, total)
                alive = sum(w.is_alive() for w in workers)
                bar.update(
                    task,
                    completed=counts.complete,
                    description=f"{counts.running} running, {counts.waiting} queued, "
                    f"{counts.failed} failed, {alive} local",
                )
            counts = build_counts(study, total)
            bar.update(task, completed=counts.complete)
    except KeyboardInterrupt:
        for worker in workers:
            worker.join(timeout=30)
        print(
            f"optuna-naap build-dataset: interrupted ({counts.describe()}); run the same "
            "command to resume",
            file=sys.stderr,
        )
        return 130
    print(f"{args.study_name}: {counts.describe()}")
    if counts.complete < total:
        print(
            "some schemes are not finished (running elsewhere, or their worker died): run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return 1
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    try:
        from optuna_naap.integrations.dashboard import require_dashboard, serve

        require_dashboard()
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    _open_storage(args.storage)
    print(f"optuna-dashboard on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    serve(args.storage, host=args.host, port=args.port)
    return 0


def _export(args: argparse.Namespace) -> int:
    import optuna

    from optuna_naap._study_io import study_to_frame, write_naap_csv

    storage = _open_storage(args.storage)
    try:
        study = optuna.load_study(study_name=args.study_name, storage=storage)
    except KeyError:
        raise CommandError(f"no study {args.study_name!r} in {args.storage}") from None
    frame = study_to_frame(study, version=args.version, epochs=args.epochs)
    write_naap_csv(frame, args.out)
    print(f"wrote {len(frame)} rows ({frame.IsTest.sum()} test) to {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from optuna_naap._data import load_naap440
    from optuna_naap._study_io import frame_to_study

    frame = load_naap440(args.csv)  # validated before anything is written
    storage = _open_storage(args.storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=storage, study_name=args.study_name, direction="maximize"
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise CommandError(
            f"study {args.study_name!r} already exists in {args.storage}; choose another name"
        ) from None
    with Progress(
        "[bold]import[/]",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("rows", total=len(frame))
        try:
            added = frame_to_study(frame, study, progress=lambda n: bar.update(task, completed=n))
        except BaseException:
            optuna.delete_study(study_name=args.study_name, storage=storage)  # not half-way
            raise
    print(f"imported {added} rows of {args.csv} into study {args.study_name!r}")
    return 0


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _objectives_benchmark(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from optuna_naap.objective_suite import plot_suite, run_suite, summarize_suite, totals

    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} exists and is not a directory")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are counted instead
    results, notes = run_suite(
        objectives=_names(args.objectives),
        pruners=_names(args.pruners),
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
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "suite.json").write_text(json.dumps(document, indent=1))
        plot_suite(summary, str(out_dir / "suite.png"))
    if args.format == "json":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
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
    if out_dir is not None:
        console.print(f"wrote {out_dir / 'suite.json'} and {out_dir / 'suite.png'}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    if args.suite == "objectives":
        return _objectives_benchmark(args)
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


def _one_line(exc: BaseException) -> str:
    """The message on one line (database drivers spread theirs over several)."""
    text = str(exc).split("(Background on this error at:")[0]
    return " ".join(text.split())


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
        if args.command == "search":
            return _search(args)
        if args.command == "export":
            return _export(args)
        if args.command == "build-dataset":
            return _build(args)
        if args.command == "dashboard":
            return _dashboard(args)
        if args.command == "import":
            return _import(args)
    except (CommandError, NAAPDataError, PredictorFileError, ValueError, OSError) as exc:
        print(f"optuna-naap {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"optuna-naap {args.command}: interrupted", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
