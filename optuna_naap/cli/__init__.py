"""The ``optuna-naap`` command line: one module per command, each with its arguments
(``add_arguments``) beside its action (``take_action``), as Optuna's own CLI does."""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from optuna_naap.cli import benchmark, build, dashboard, evaluate, export, import_, search
from optuna_naap.cli._common import CommandError, one_line, root_cause

__all__ = ["COMMANDS", "CommandError", "main"]

#: The commands, in the order ``optuna-naap --help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (
    evaluate,
    search,
    build,
    dashboard,
    export,
    import_,
    benchmark,
)


def _version() -> str:
    from optuna_naap import __version__

    return f"optuna-naap {__version__}"


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="optuna-naap",
        description="Neural architecture accuracy prediction and pruning for Optuna (NAAP-440).",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, help=command.HELP, description=command.DESCRIPTION)
        command.add_arguments(sub)
        sub.set_defaults(take_action=command.take_action)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 work left, 2 usage or input
    error, 130 interrupted)."""
    args = _parser().parse_args(argv)
    from optuna_naap._data import NAAPDataError
    from optuna_naap._predictor import PredictorFileError

    try:
        status: int = args.take_action(args)
        return status
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # not the input's fault: work left
            print(f"optuna-naap {args.command}: error: {one_line(exc)}", file=sys.stderr)
            return 1
        print(f"optuna-naap {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except (CommandError, NAAPDataError, PredictorFileError, ValueError) as exc:
        print(f"optuna-naap {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return exc.status if isinstance(exc, CommandError) else 2
    except KeyboardInterrupt:
        print(f"optuna-naap {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _storage_error(exc):
            raise  # a bug of ours: the traceback is the report
        print(
            f"optuna-naap {args.command}: error: the storage failed: {root_cause(exc)}; what "
            "was written before is kept, run the same command to go on",
            file=sys.stderr,
        )
        return 1


def _storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the storage or its database driver."""
    import optuna

    if isinstance(exc, optuna.exceptions.StorageInternalError):
        return True
    return type(exc).__module__.split(".")[0] in ("sqlalchemy", "sqlite3", "psycopg2", "psycopg")
