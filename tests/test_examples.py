"""Every ``Example:`` in the public docstrings runs as written."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import optuna
import pytest

import optuna_naap
import optuna_naap.benchmark as benchmark
import optuna_naap.integrations.dashboard as dashboard

_BLOCK = re.compile(r"\.\. code-block:: python\n\n((?:[ ]{4}.*\n|\n)+)")


def _examples() -> list[Any]:
    objects: list[tuple[str, Any]] = [("optuna_naap.benchmark", benchmark)]
    objects += [(f"optuna_naap.{n}", getattr(optuna_naap, n)) for n in optuna_naap.__all__]
    for sub in ("scheme", "features", "record", "data", "metrics", "objective", "refine"):
        module = importlib.import_module(f"optuna_naap.{sub}")
        objects += [(f"optuna_naap.{sub}.{n}", getattr(module, n)) for n in module.__all__]
    objects += [(f"benchmark.{n}", getattr(benchmark, n)) for n in benchmark.__all__]
    objects += [(f"dashboard.{n}", getattr(dashboard, n)) for n in dashboard.__all__]
    seen: set[int] = set()
    examples = []
    for name, obj in objects:
        if id(obj) in seen or not (inspect.isclass(obj) or callable(obj) or inspect.ismodule(obj)):
            continue
        seen.add(id(obj))
        for i, block in enumerate(_BLOCK.findall((inspect.getdoc(obj) or "") + "\n")):
            examples.append(pytest.param(textwrap.dedent(block), id=f"{name}-{i}"))
    return examples


EXAMPLES = _examples()


def test_the_public_api_has_examples() -> None:
    assert len(EXAMPLES) >= 18


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(
    code: str, naap440_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Examples name the NAAP-440 file as a user has it: in the working folder.
    os.symlink(naap440_dir / "naap440v2.csv", tmp_path / "naap440v2.csv")
    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})
