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


#: The public submodules, whose ``__all__`` names are the public API besides the top level.
PUBLIC_SUBMODULES = (
    "scheme",
    "features",
    "record",
    "data",
    "metrics",
    "objective",
    "pareto",
    "refine",
    "epsilon",
    "objective_suite",
    "benchmark",
    "integrations.dashboard",
)

_SLOW = {"optuna_naap.benchmark", "optuna_naap.NAAPPredictor"}


def _examples() -> list[Any]:
    objects: list[tuple[str, Any]] = [("optuna_naap.benchmark", benchmark)]
    objects += [(f"optuna_naap.{n}", getattr(optuna_naap, n)) for n in optuna_naap.__all__]
    for sub in PUBLIC_SUBMODULES[:8]:  # the epsilon and suite examples cost minutes; not run
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
            # Examples that fit full-size predictors run in CI, not in the quick subset.
            marks = [pytest.mark.slow] if name in _SLOW else []
            examples.append(pytest.param(textwrap.dedent(block), id=f"{name}-{i}", marks=marks))
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


def _public_callables() -> list[tuple[str, Any, str]]:
    """(name, signature owner, docstring) of every public function, class and public method."""
    modules = ["optuna_naap"] + [f"optuna_naap.{m}" for m in PUBLIC_SUBMODULES]
    seen: set[int] = set()
    found = []
    for name in modules:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                doc = inspect.getdoc(obj) or ""
                if obj.__init__ is not object.__init__:
                    doc += inspect.getdoc(obj.__init__) or ""
                found.append((f"{name}.{attr}", obj, doc))
                for method_name, method in vars(obj).items():
                    function = getattr(method, "__func__", method)
                    if not method_name.startswith("_") and inspect.isfunction(function):
                        doc = inspect.getdoc(function) or ""
                        found.append((f"{name}.{attr}.{method_name}", function, doc))
            elif inspect.isfunction(obj):
                found.append((f"{name}.{attr}", obj, inspect.getdoc(obj) or ""))
    return found


def test_every_public_argument_is_documented() -> None:
    """Each argument of a public function, class or method is named in its docstring."""
    missing = []
    for name, obj, doc in _public_callables():
        try:
            parameters = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            continue
        for parameter in parameters:
            if parameter in ("self", "cls", "args", "kwargs", "options") or parameter[0] == "_":
                continue
            if not re.search(rf"\b{re.escape(parameter)}\b", doc):
                missing.append(f"{name}({parameter})")
    assert not missing, "undocumented arguments: " + ", ".join(missing)
