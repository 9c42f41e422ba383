"""``optuna-naap dashboard``: optuna-dashboard with NAAPPruner's notes and figure."""

from __future__ import annotations

import argparse

from optuna_naap.cli._common import CommandError, open_storage, positive_int

NAME = "dashboard"
HELP = "serve optuna-dashboard on a storage, with NAAPPruner's notes and figure"
DESCRIPTION = (
    "Write each decided trial's note and each study's predicted-vs-actual figure, then "
    'run optuna-dashboard (extra: pip install "optuna-naap[dashboard]").'
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", metavar="URL", default="sqlite:///optuna-naap.db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=positive_int, default=8080)


def take_action(args: argparse.Namespace) -> int:
    try:
        from optuna_naap.integrations.dashboard import require_dashboard, serve

        require_dashboard()
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    open_storage(args.storage)
    print(f"optuna-dashboard on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    serve(args.storage, host=args.host, port=args.port)
    return 0
