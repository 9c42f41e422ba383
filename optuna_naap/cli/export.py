"""``optuna-naap export``: a study's completed schemes as a NAAP-440 CSV."""

from __future__ import annotations

import argparse

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


def take_action(args: argparse.Namespace) -> int:
    import optuna

    from optuna_naap._study_io import study_to_frame, write_naap_csv

    storage = open_storage(args.storage)
    try:
        study = optuna.load_study(study_name=args.study_name, storage=storage)
    except KeyError:
        raise CommandError(f"no study {args.study_name!r} in {args.storage}") from None
    frame = study_to_frame(study, version=args.version, epochs=args.epochs)
    write_naap_csv(frame, args.out)
    print(f"wrote {len(frame)} rows ({frame.IsTest.sum()} test) to {args.out}")
    return 0
