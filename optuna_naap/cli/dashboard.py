"""``optuna-naap dashboard``: optuna-dashboard with NAAPPruner's notes and figure."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from optuna_naap.cli._common import CommandError, open_storage, positive_int

NAME = "dashboard"
HELP = "serve optuna-dashboard on a storage, with NAAPPruner's notes and figure"
DESCRIPTION = (
    "Write each decided trial's note and each study's predicted-vs-actual figure, then "
    'run optuna-dashboard (extra: pip install "optuna-naap[dashboard]").'
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        metavar="URL",
        default="sqlite:///optuna-naap.db",
        help="the storage to serve (default: sqlite:///optuna-naap.db, search's default)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=port_number, default=8080, help="port to serve on (default: 8080)"
    )


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    port = positive_int(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, but got {port}")
    return port


def _check_port(host: str, port: int) -> None:
    """Refuse, before anything is written, a port that cannot be listened on."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind((host, port))
    except OSError as exc:
        raise CommandError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); give another --port "
            "or --host"
        ) from None


@dataclass(frozen=True)
class DashboardOptions:
    """``optuna-naap dashboard``'s options, typed once from the command line."""

    storage: str
    host: str
    port: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DashboardOptions:
        return cls(args.storage, args.host, args.port)


def take_action(args: argparse.Namespace) -> int:
    options = DashboardOptions.from_args(args)
    try:
        from optuna_naap.integrations.dashboard import require_dashboard, serve

        require_dashboard()
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    open_storage(options.storage)
    _check_port(options.host, options.port)
    print(
        f"optuna-dashboard on http://{options.host}:{options.port}/ (Ctrl-C stops it)", flush=True
    )
    serve(options.storage, host=options.host, port=options.port)
    return 0
