"""NAAPPruner's OptunaHub package: the registry's layout rules, loaded locally, example run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import optunahub
import pytest

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "integrations" / "optunahub" / "package"
PACKAGE = REGISTRY / "pruners" / "naap_pruner"


def front_matter() -> dict[str, str]:
    text = (PACKAGE / "README.md").read_text()
    assert text.startswith("---\n")
    head = text.split("---\n")[1]
    return dict(line.split(": ", 1) for line in head.strip().splitlines())


def test_registry_layout() -> None:
    names = {p.name for p in PACKAGE.iterdir()}
    assert {"__init__.py", "README.md", "LICENSE", "example.py", "requirements.txt"} <= names
    meta = front_matter()
    assert set(meta) == {"author", "title", "description", "tags", "optuna_versions", "license"}
    assert meta["license"] == "MIT License"
    assert "pruner" in meta["tags"].strip("[]").split(", ")
    assert (PACKAGE / "LICENSE").read_text().startswith("MIT License")
    readme = (PACKAGE / "README.md").read_text()
    for section in ("## Abstract", "## APIs", "## Installation", "## Example"):
        assert section in readme
    for path in PACKAGE.rglob("*"):  # no binary files: a fitted model comes from PyPI
        assert path.suffix in {"", ".py", ".md", ".txt"}, path
        path.read_text(encoding="utf-8")


def test_loads_locally_as_a_pruner() -> None:
    module = optunahub.load_local_module("pruners/naap_pruner", registry_root=str(REGISTRY))
    assert isinstance(module.NAAPPruner(), optuna.pruners.BasePruner)


@pytest.mark.e2e
def test_example_runs(tmp_path: Path) -> None:
    source = (PACKAGE / "example.py").read_text()
    remote = 'optunahub.load_module(package="pruners/naap_pruner")'
    assert remote in source
    local = f'optunahub.load_local_module("pruners/naap_pruner", registry_root={str(REGISTRY)!r})'
    script = tmp_path / "example.py"
    script.write_text(source.replace(remote, local))  # no network here: the local registry
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trials pruned" in done.stdout
