"""Shared fixtures: the NAAP-440 reference data (from the package), servers."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def naap440_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published NAAP-440 files, written from the copy the package ships (each checked
    against its published SHA-256 on the way): the tests need nothing beside the repository."""
    from optuna_naap.data import packaged_naap440_bytes

    folder = tmp_path_factory.mktemp("naap440")
    for name in ("naap440.csv", "naap440v2.csv", "generated_schemes.json", "paper_results.csv"):
        (folder / name).write_bytes(packaged_naap440_bytes(name))
    return folder


@pytest.fixture(scope="session")
def reference_schemes(naap440_dir: Path) -> list[list[dict[str, Any]]]:
    return json.loads((naap440_dir / "generated_schemes.json").read_text())


@pytest.fixture(scope="session")
def naap440_v2(naap440_dir: Path) -> pd.DataFrame:
    return pd.read_csv(naap440_dir / "naap440v2.csv")


@pytest.fixture(scope="session")
def naap440_frame(naap440_v2: pd.DataFrame) -> pd.DataFrame:
    """The v2 rows with their ``Scheme`` column, as ``load_naap440`` gives them."""
    from optuna_naap.data import attach_schemes

    return attach_schemes(naap440_v2)


@pytest.fixture(scope="session")
def naap440_v1(naap440_dir: Path) -> pd.DataFrame:
    return pd.read_csv(naap440_dir / "naap440.csv")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session (tests/servers.py starts and stops it)."""
    from servers import postgres_server

    # Not under pytest's tmp_path: the server runs as the postgres user, who must reach it.
    folder = Path(tempfile.mkdtemp(prefix="optuna-naap-pg-"))
    os.chmod(folder, 0o755)
    try:
        with postgres_server(folder) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
