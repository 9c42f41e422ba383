from __future__ import annotations

import ast
from pathlib import Path

import optuna
import pytest

from optuna_naap._record import (
    DECISION_ATTR,
    FLAT_DECISION_KEYS,
    bound_decision,
    keep_rule,
    new_decision,
    record_decision,
)

ROOT = Path(__file__).resolve().parents[1]


def test_a_decision_is_bound_to_the_trial_it_judged() -> None:
    study = optuna.create_study()
    first = study.ask()
    decision = new_decision(3, "study (10 trials)", trial=first)
    decision["verdict"] = "pruned"
    record_decision(study._storage, first._trial_id, decision)
    frozen = study._storage.get_trial(first._trial_id)
    assert bound_decision(frozen) == decision
    assert {f"naap:{k}" for k in FLAT_DECISION_KEYS} <= set(frozen.user_attrs)
    # Copied onto another trial (enqueue_trial(user_attrs=...), a retry): not a decision there.
    study.enqueue_trial({}, user_attrs=dict(frozen.user_attrs))
    second = study.ask()
    copied = study._storage.get_trial(second._trial_id)
    assert copied.user_attrs[DECISION_ATTR]["verdict"] == "pruned"
    assert bound_decision(copied) is None
    # Records written before decisions were bound (no trial id) bind to nothing.
    old = {k: v for k, v in decision.items() if not k.startswith("trial_")}
    study._storage.set_trial_user_attr(first._trial_id, DECISION_ATTR, old)
    assert bound_decision(study._storage.get_trial(first._trial_id)) is None


@pytest.mark.parametrize(
    ("maximize", "predicted", "margin", "threshold", "pruned"),
    [
        (True, 0.70, 0.02, 0.75, True),
        (True, 0.70, 0.06, 0.75, False),
        (False, 0.30, 0.02, 0.25, True),
        (False, 0.30, 0.06, 0.25, False),
    ],
)
def test_keep_rule_in_both_directions(
    maximize: bool, predicted: float, margin: float, threshold: float, pruned: bool
) -> None:
    decision = new_decision(9)
    assert (
        keep_rule(
            decision,
            predicted=predicted,
            margin=margin,
            threshold=threshold,
            maximize=maximize,
            bar="top-5",
            known=12,
        )
        is pruned
    )
    assert decision["verdict"] == ("pruned" if pruned else "kept")
    word = "cannot reach" if pruned else "can reach"
    sign = "+" if maximize else "-"
    assert f"predicted final {predicted:.4f} {sign} margin {margin:.4f}" in decision["reason"]
    assert f"{word} the top-5 threshold {threshold:.4f} of 12 known finals" in decision["reason"]


def test_every_naap_key_is_written_in_one_module() -> None:
    """One concept, one place: no module but _record.py spells a ``naap:`` key out."""
    offenders = []
    for path in [*(ROOT / "optuna_naap").rglob("*.py"), *(ROOT / "integrations").rglob("*.py")]:
        if path.name == "_record.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("naap:")
                and id(node) not in docstrings
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert offenders == []
