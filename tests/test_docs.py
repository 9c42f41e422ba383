"""The documentation site builds, with Sphinx warnings as errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # the Sphinx site


DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    index = (tmp_path / "html" / "index.html").read_text()
    assert "optuna-naap" in index
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("NAAPPruner", "StudyLearner", "SchemePrescreen", "epsilon.epsilon_score"):
        assert f'id="optuna_naap.{name}"' in api, name
    assert (tmp_path / "html" / "tutorials" / "refine_and_prescreen.html").exists()
