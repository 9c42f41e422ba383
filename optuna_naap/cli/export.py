"""``optuna-naap export``: a study's completed schemes as a NAAP-440 CSV."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from optuna_naap.cli._common import CommandError, add_storage, open_storage, positive_int

NAME = "export"
HELP = "write a study's completed schemes as a NAAP-440 CSV"
DESCRIPTION = "One row per COMPLETE trial with a recorded scheme, in the NAAP-440 layout."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_storage(
        parser, None, help="the storage URL holding the study (sqlite:///..., postgresql://...)"
    )
    parser.add_argument("--study-name", metavar="NAME", required=True, help="the study to export")
    parser.add_argument(
        "out", metavar="OUT.csv", help="the CSV to write (replaced whole, or left as it was)"
    )
    parser.add_argument(
        "--version",
        type=int,
        choices=(1, 2),
        default=2,
        help="CSV layout: 2 (default, with NumSkipConnections and NumPartialRFLayers) or 1",
    )
    parser.add_argument(
        "--epochs", type=positive_int, metavar="N", help="epochs per row (default: all)"
    )


@dataclass(frozen=True)
class ExportOptions:
    """``optuna-naap export``'s options, typed once from the command line."""

    storage: str
    study_name: str
    out: str
    version: int
    epochs: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ExportOptions:
        return cls(args.storage, args.study_name, args.out, args.version, args.epochs)


def take_action(args: argparse.Namespace) -> int:
    options = ExportOptions.from_args(args)
    import optuna

    from optuna_naap._study_io import study_to_frame, write_naap_csv

    storage = open_storage(options.storage)
    try:
        study = optuna.load_study(study_name=options.study_name, storage=storage)
    except KeyError:
        raise CommandError(f"no study {options.study_name!r} in {options.storage}") from None
    frame = study_to_frame(study, version=options.version, epochs=options.epochs)
    write_naap_csv(frame, options.out)
    print(f"wrote {len(frame)} rows ({frame.IsTest.sum()} test) to {options.out}")
    return 0
