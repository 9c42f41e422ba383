"""``optuna-naap import``: a NAAP-440 CSV as a study, one COMPLETE trial per row."""

from __future__ import annotations

import argparse

from optuna_naap.cli._common import CommandError, add_storage, open_storage

NAME = "import"
HELP = "load a NAAP-440 CSV into a study (one COMPLETE trial per row)"
DESCRIPTION = (
    "Create a study with one COMPLETE trial per CSV row: its scheme as parameters, "
    "MaxAccuracy as value, the epochs as intermediate values and losses, so the "
    "dataset can be browsed in optuna-dashboard and used to fit predictors."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("csv", metavar="CSV")
    add_storage(parser, None)
    parser.add_argument("--study-name", metavar="NAME", required=True)


def take_action(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from optuna_naap._data import load_naap440
    from optuna_naap._study_io import frame_to_study

    frame = load_naap440(args.csv)  # validated before anything is written
    storage = open_storage(args.storage)
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
