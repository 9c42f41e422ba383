"""Shared fixtures: the NAAP-440 reference data, found beside the repository."""

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


def _data_dir() -> Path:
    override = os.environ.get("OPTUNA_NAAP_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data" / "naap440"


@pytest.fixture(scope="session")
def naap440_dir() -> Path:
    path = _data_dir()
    if not (path / "naap440v2.csv").is_file():
        pytest.fail(
            f"NAAP-440 reference data not found at {path}: put naap440.csv, naap440v2.csv and "
            "generated_schemes.json there, or set OPTUNA_NAAP_DATA to their folder"
        )
    return path


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
