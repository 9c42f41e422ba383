"""The package's structure (docs/architecture.md): layers without circles or imports running back
up, imports at the top of modules, modules of one concept, Optuna's internals in one module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "optuna_naap"

#: The layers, lowest first. A module imports only modules of lower layers, or of its own layer
#: listed before it (docs/architecture.md has the same table).
LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundations",
        [
            "_optuna",
            "_checks",
            "_scheme",
            "_recipe",
            "_metrics",
            "_forest",
            "_component",
            "_gp",
            "_predictor_file",
            "_packaged",
        ],
    ),
    ("schemes", ["_space", "_features", "_net"]),
    ("data", ["_data", "_images", "_epsilon"]),
    ("trial record", ["_record", "_task", "_trial", "_ledger"]),
    ("multi-objective", ["_pareto", "_front", "_nsga"]),
    ("study export", ["_study_io"]),
    ("predictors", ["_predictor", "_study_predictor"]),
    ("rules", ["_judge", "_rule", "_trust", "_floor", "_learner", "_transfer"]),
    ("pruning", ["_optuna_pruners", "_pruner", "_should_prune", "_prescreen"]),
    ("sampling", ["_refine", "_sampler"]),
    ("training", ["_objective"]),
    (
        "benchmarks",
        [
            "benchmark._baselines",
            "benchmark._replay",
            "benchmark._protocol",
            "benchmark._reports",
            "benchmark._suite_misleading",
            "benchmark._suite_objectives",
            "benchmark._suite",
            "benchmark",
        ],
    ),
    (
        "public modules",
        [
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
            "",
        ],
    ),
    ("integrations", ["integrations", "integrations.dashboard"]),
]

#: Modules whose top level imports a heavy optional dependency (torch): a lower module may
#: import them inside a function so that it stays importable without paying for them.
HEAVY = {"_epsilon", "_net", "_objective"}

#: The most lines a module may have (one concept each).
MAX_LINES = 450


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module imported, line, at the module's top level or under TYPE_CHECKING) of each
    import of the package in ``path``."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            top.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "optuna_naap" or name.startswith("optuna_naap."):
                found.append(
                    (name.removeprefix("optuna_naap").lstrip("."), node.lineno, id(node) in top)
                )
    return found


def _rank() -> dict[str, int]:
    order = [module for _, modules in LAYERS for module in modules]
    return {module: i for i, module in enumerate(order)}


def test_every_module_has_a_layer() -> None:
    rank = _rank()
    unplaced = [m for m in _modules() if m not in rank and not m.startswith("cli")]
    assert not unplaced, (
        f"give these modules a layer in LAYERS and docs/architecture.md: {unplaced}"
    )


def test_imports_only_run_down_the_layers() -> None:
    """No circle and no import from a lower layer to a higher one (function-level imports and
    TYPE_CHECKING imports included); the command line sits above everything."""
    rank = _rank()
    wrong = []
    for module, path in _modules().items():
        if module.startswith("cli"):
            continue
        for imported, line, _ in _imports(path):
            if rank.get(imported, -1) >= rank[module]:
                wrong.append(f"{path.name}:{line} {module} imports {imported or 'optuna_naap'}")
    assert not wrong, "\n".join(wrong)


def test_no_import_circle_anywhere() -> None:
    """The command line and the integrations too: no module reaches itself through imports
    (TYPE_CHECKING ones included)."""
    modules = _modules()
    graph = {
        m: {i for i, _, _ in _imports(p) if i in modules and i != m} for m, p in modules.items()
    }
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            module = stack.pop()
            assert module != start, f"{start or 'optuna_naap'} imports itself through {module}"
            if module not in seen:
                seen.add(module)
                stack.extend(graph[module])


def test_imports_are_at_the_top_except_heavy_ones() -> None:
    """Inside the core, a function-level import is only for a module that imports torch."""
    lazy = []
    for module, path in _modules().items():
        if module.startswith(("cli", "integrations")) or module == "":
            continue  # the command line and the facade import lazily to start fast
        for imported, line, at_top in _imports(path):
            if not at_top and imported not in HEAVY:
                lazy.append(f"{path.relative_to(PACKAGE)}:{line} imports {imported} lazily")
    assert not lazy, "\n".join(lazy)


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules by concept: {long}"


@pytest.mark.parametrize("attribute", ["_storage", "_study_id", "_trial_id", "_get_latest_trial"])
def test_optuna_internals_only_in_one_module(attribute: str) -> None:
    """Only optuna_naap/_optuna.py reads Optuna's private attributes and modules."""
    users = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_optuna.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == attribute
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                users.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("optuna._"):
                users.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {node.module}")
    assert not users, users
