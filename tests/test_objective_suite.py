"""The objectives suite: every objective runs under NAAPPruner() without a crash, and the
command line prints its table and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from optuna_naap.cli import main
from optuna_naap.objective_suite import (
    OBJECTIVES,
    run_one,
    run_suite,
    suite_pruners,
    summarize_suite,
    totals,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_each_objective_runs_under_naap_pruner(name: str) -> None:
    objective = OBJECTIVES[name]
    assert not objective.missing(), f"{name} needs {objective.missing()} (extra 'bench')"
    result = run_one(objective, "naap", 0, n_trials=8)
    assert result.failed == 0 and result.n_trials == 8
    assert result.steps > 0 and math.isfinite(result.best)
    assert 0 <= result.pruner_s < result.wall_s


def test_summary_and_totals() -> None:
    results, notes = run_suite(
        objectives=["noisy-minimize"], pruners=["nop", "median", "naap"], seeds=[0, 1], n_trials=12
    )
    assert notes == [] and len(results) == 6
    summary = summarize_suite(results)
    by_pruner = {row["pruner"]: row for row in summary}
    assert by_pruner["nop"]["shortfall"] == 0.0 and by_pruner["nop"]["steps"] == 12 * 40
    assert by_pruner["median"]["steps"] < by_pruner["nop"]["steps"]
    assert {row["pruner"] for row in totals(summary)} == {"nop", "median", "naap"}
    with pytest.raises(ValueError, match="unknown pruner 'fast'"):
        run_suite(pruners=["fast"])
    with pytest.raises(ValueError, match="unknown objective 'mnist'"):
        run_suite(objectives=["mnist"])


def test_every_optuna_pruner_is_compared() -> None:
    assert set(suite_pruners()) == {
        "nop",
        "median",
        "percentile25",
        "percentile75",
        "successive-halving",
        "hyperband",
        "wilcoxon",
        "patient-median",
        "naap",
    }


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["benchmark", "--suite", "objectives", "--only", "noisy-minimize"]
    args += ["--pruners", "median,naap", "--seeds", "1", "--n-trials", "10"]
    assert main([*args, "--format", "json", "--out", str(tmp_path / "out")]) == 0
    document = json.loads(capsys.readouterr().out)
    # No pruning always runs: the reference of the shortfall, never a nan.
    assert [row["pruner"] for row in document["summary"]] == ["nop", "median", "naap"]
    assert all(math.isfinite(row["shortfall"]) for row in document["summary"])
    assert all(math.isfinite(row["worst"]) for row in document["totals"])
    assert (tmp_path / "out" / "suite.json").exists() and (tmp_path / "out" / "suite.png").exists()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Pruners on real objectives" in out and "Over the suite" in out
    assert main([*args[:-4], "--pruners", "fast"]) == 2
    assert "unknown pruner 'fast'" in capsys.readouterr().err
