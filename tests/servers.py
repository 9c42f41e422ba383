"""Servers for the tests: a private PostgreSQL (Debian's postgresql package), free ports.

``.ci/run`` installs the package; the server is started here, in a temporary folder, on a free
port, and stopped at the end. ``OPTUNA_NAAP_POSTGRES`` (a URL) uses a server of your own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def install_debian_package(name: str) -> bool:
    """Install a Debian package where the test setup can (root, apt-get); whether it tried."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    subprocess.run(
        ["apt-get", "install", "-y", "-q", name],
        check=False,
        capture_output=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return True


def free_port() -> int:
    """A TCP port nobody listens on now (for the tests' servers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server(folder: Path) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh PostgreSQL server whose data lives in ``folder``."""
    own = os.environ.get("OPTUNA_NAAP_POSTGRES")
    if own:
        yield own
        return
    bindir = _binaries()
    if bindir is None and install_debian_package("postgresql"):
        bindir = _binaries()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found (initdb): install Debian's postgresql "
            "package (.ci/run does), or set OPTUNA_NAAP_POSTGRES to a server's URL"
        )
    # initdb refuses to run as root: the package's postgres user runs the server then.
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    run_as = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
    data = folder / "pgdata"
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        for path in (folder, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "naap", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "start"]
    subprocess.run(
        [*run_as, *start, "-l", str(data / "server.log")], check=True, capture_output=True
    )
    try:
        yield f"postgresql+psycopg2://naap@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
