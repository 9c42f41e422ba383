"""``optuna-naap import``: a NAAP-440 CSV as a study, one COMPLETE trial per row."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from optuna_naap.cli._common import CommandError, add_storage, open_storage, root_cause

NAME = "import"
HELP = "load a NAAP-440 CSV into a study (one COMPLETE trial per row)"
DESCRIPTION = (
    "Create a study with one COMPLETE trial per CSV row: its scheme as parameters, "
    "MaxAccuracy as value, the epochs as intermediate values and losses, so the "
    "dataset can be browsed in optuna-dashboard and used to fit predictors. All or "
    "nothing: an import that fails is removed, one that is killed stays marked unfinished "
    "(export refuses it) and the next import of that name replaces it."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("csv", metavar="CSV", help="a CSV in the NAAP-440 layout (v1 or v2)")
    add_storage(
        parser, None, help="the storage URL to import into (sqlite:///..., postgresql://...)"
    )
    parser.add_argument(
        "--study-name", metavar="NAME", required=True, help="the name of the new study"
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace an existing import of that name (an interrupted one is always replaced)",
    )


@dataclass(frozen=True)
class ImportOptions:
    """``optuna-naap import``'s options, typed once from the command line."""

    csv: str
    storage: str
    study_name: str
    replace: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ImportOptions:
        return cls(args.csv, args.storage, args.study_name, bool(args.replace))


def take_action(args: argparse.Namespace) -> int:
    options = ImportOptions.from_args(args)
    import optuna
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from optuna_naap._data import load_naap440
    from optuna_naap._study_io import frame_to_study, interrupted_import
    from optuna_naap.cli._study_kind import set_kind, study_kind

    frame = load_naap440(options.csv)  # validated before anything is written
    storage = open_storage(options.storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    console = Console(stderr=True)
    try:
        existing = optuna.load_study(study_name=options.study_name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None:
        record = study_kind(existing) or {}
        interrupted = interrupted_import(existing) is not None
        if not interrupted and not (options.replace and record.get("kind") == "import"):
            raise CommandError(
                f"study {options.study_name!r} already exists in {options.storage}"
                + (
                    " (an import: give --replace to replace it)"
                    if record.get("kind") == "import"
                    else "; choose another name"
                )
            )
        done = len(existing.get_trials(deepcopy=False))
        why = f" (an import interrupted after {done} of {record.get('rows')} rows)"
        console.print(f"replacing study {options.study_name!r}" + (why if interrupted else ""))
        optuna.delete_study(study_name=options.study_name, storage=storage)
    study = optuna.create_study(
        storage=storage, study_name=options.study_name, direction="maximize"
    )
    # Marked unfinished until the last row is in: a killed import is known as such, refused
    # by export and replaced by the next import of that name.
    settings = {"csv": str(options.csv), "rows": len(frame)}
    set_kind(study, "import", {**settings, "complete": False})
    with Progress(
        "[bold]import[/]",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("rows", total=len(frame))
        try:
            added = frame_to_study(frame, study, progress=lambda n: bar.update(task, completed=n))
            set_kind(study, "import", {**settings, "complete": True})
        except BaseException as exc:
            try:
                optuna.delete_study(study_name=options.study_name, storage=storage)  # not half-way
            except Exception:  # a full disk may refuse this too: the study stays marked
                raise CommandError(
                    f"import failed ({root_cause(exc)}) and its partial study "
                    f"{options.study_name!r} could not be removed; it is marked unfinished and "
                    "the next import of that name replaces it",
                    status=1,
                ) from exc
            if isinstance(exc, Exception):
                raise CommandError(
                    f"import failed, nothing was written: {root_cause(exc)}", status=1
                ) from exc
            raise
    print(f"imported {added} rows of {options.csv} into study {options.study_name!r}")
    return 0
