"""``optuna-naap build-dataset``: train every scheme of a space once, across workers."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_naap._recipe import Recipe
from optuna_naap.cli._common import (
    CommandError,
    DataSpec,
    add_data,
    add_device,
    add_epochs,
    add_heartbeat,
    data_spec,
    positive_int,
    root_cause,
)

if TYPE_CHECKING:
    import optuna
    from rich.console import Console

    from optuna_naap._space import SchemeSpace
    from optuna_naap.cli._build_worker import BuildCounts

NAME = "build-dataset"
HELP = "train every scheme of a space fully, once, across workers (NAAP-440 style)"
DESCRIPTION = (
    "The exhaustive study over a space (the 440 by default) with the full recipe and "
    "no pruning, in an Optuna RDB storage. Each scheme completes exactly once; trials "
    "of killed workers are detected by Optuna's heartbeat and retried; running the "
    "same command again resumes. Other machines join by running it on the same storage."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        metavar="URL",
        default="sqlite:///optuna-naap.db",
        help="RDB URL (default: sqlite:///optuna-naap.db, as search; PostgreSQL/MySQL for "
        "several workers)",
    )
    parser.add_argument(
        "--study-name",
        metavar="NAME",
        default="naap-dataset",
        help="the build study's name (default: naap-dataset); the same name resumes it",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, metavar="N", help="local worker processes"
    )
    add_data(parser, download_help="download CIFAR-10 first")
    add_epochs(parser, "scheme")
    add_device(parser)
    parser.add_argument(
        "--space", metavar="FILE", help="a SchemeSpace as JSON (default: the NAAP-440 space)"
    )
    add_heartbeat(parser)


@dataclass(frozen=True)
class BuildOptions:
    """``optuna-naap build-dataset``'s options, checked and typed once from the command line."""

    storage: str
    study_name: str
    workers: int
    space: SchemeSpace
    recipe: Recipe
    data: DataSpec
    device: str | None
    heartbeat: int
    grace: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BuildOptions:
        """The options of ``args`` (one line for each user error, before anything runs)."""
        if args.workers > 1 and args.storage.startswith("sqlite"):
            raise CommandError(
                "SQLite cannot hand queued trials to several processes safely; use one worker, "
                "or a PostgreSQL/MySQL --storage URL for several"
            )
        return cls(
            storage=args.storage,
            study_name=args.study_name,
            workers=args.workers,
            space=_space(args.space),
            recipe=Recipe(epochs=args.epochs or 90),
            data=data_spec(args),
            device=args.device,
            heartbeat=args.heartbeat,
            grace=args.grace,
        )


def take_action(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console

    from optuna_naap.cli._build_worker import open_build_study
    from optuna_naap.cli._recovery import recover_trials

    options = BuildOptions.from_args(args)
    space, recipe, data = options.space, options.recipe, options.data
    if options.device is not None:
        from optuna_naap._objective import resolve_device

        resolve_device(options.device)  # a device this machine lacks: one line, before a study
    if not data.download:
        data.load()  # a missing dataset is one line here, not one per worker
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study, queued = open_build_study(
            options.storage,
            options.study_name,
            space=space,
            recipe=recipe,
            data=data,
            heartbeat=options.heartbeat,
            grace=options.grace,
        )
    except ValueError:
        raise
    except Exception as exc:  # any storage failure: one line, not a traceback
        raise CommandError(
            f"cannot open the storage {options.storage!r}: {root_cause(exc)}"
        ) from exc
    total = len(space.enumerate())
    console = Console(stderr=True)
    recovered = recover_trials(study)
    if recovered:
        console.print(f"recovered {len(recovered)} trial(s) left running: {'; '.join(recovered)}")
    console.print(
        f"study {options.study_name!r} in {options.storage}: {total} schemes, "
        f"{'queued ' + str(queued) if queued else 'joined'}; {options.workers} worker(s), "
        f"{recipe.epochs} epochs, {data.kind} data"
    )
    worker_args = (
        options.storage,
        options.study_name,
        space.to_json(),
        recipe.to_json(),
        data,
        options.device,
        options.heartbeat,
        options.grace,
    )
    return _watch(study, total, options, worker_args, console)


def _space(path: str | None) -> SchemeSpace:
    from optuna_naap._space import SchemeSpace

    if not path:
        return SchemeSpace()
    try:
        return SchemeSpace.from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CommandError(f"--space {path} is not a scheme space file: {exc}") from exc


def _watch(
    study: optuna.study.Study,
    total: int,
    options: BuildOptions,
    worker_args: tuple[Any, ...],
    console: Console,
) -> int:
    """Start the local workers and show the build's progress until they end."""
    from optuna_naap.cli._build_worker import build_counts, run_build_worker, start_workers

    workers = start_workers(options.workers, run_build_worker, worker_args)
    last = [build_counts(study, total)]  # the latest counts, also when interrupted
    try:
        _progress(study, total, workers, console, last)
    except KeyboardInterrupt:
        for worker in workers:
            worker.join(timeout=30)
        print(
            f"optuna-naap build-dataset: interrupted ({last[0].describe()}); run the same "
            "command to resume",
            file=sys.stderr,
        )
        return 130
    counts = last[0]
    print(f"{options.study_name}: {counts.describe()}")
    if counts.complete < total:
        print(
            "some schemes are not finished (running elsewhere, or their worker died): run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return 1
    return 0


def _progress(
    study: optuna.study.Study,
    total: int,
    workers: list[Any],
    console: Console,
    last: list[BuildCounts],
) -> None:
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from optuna_naap.cli._build_worker import build_counts

    counts = last[0]
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
            counts = last[0] = build_counts(study, total)
            alive = sum(w.is_alive() for w in workers)
            bar.update(
                task,
                completed=counts.complete,
                description=f"{counts.running} running, {counts.waiting} queued, "
                f"{counts.failed} failed, {alive} local",
            )
        counts = last[0] = build_counts(study, total)
        bar.update(task, completed=counts.complete)
