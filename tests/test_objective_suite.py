"""The objectives suite: every objective runs under NAAPPruner() without a crash, and the
command line prints its table and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from optuna_naap.benchmark import best_within
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
        "tuned",
        "naap",
    }


def test_tuned_is_the_warmup_each_objective_s_author_chose() -> None:
    warmups = {name: o.warmup for name, o in OBJECTIVES.items()}
    # Optuna's own examples: LightGBM waits 10 steps, XGBoost and CatBoost 5.
    assert warmups["lightgbm-breast"] == 10
    assert warmups["xgboost-auc"] == warmups["xgboost-breast"] == warmups["catboost-breast"] == 5
    assert warmups["sgd-digits"] == 0  # the example uses MedianPruner() as it is
    for objective in OBJECTIVES.values():
        pruner = objective.tuned()
        assert isinstance(pruner, optuna.pruners.MedianPruner)
        assert pruner._n_warmup_steps == objective.warmup
    # A warm-up of 10 on the warm-up dip: nothing is pruned before step 10.
    study = optuna.create_study(direction="maximize", pruner=OBJECTIVES["warmup-dip"].tuned())
    study.optimize(OBJECTIVES["warmup-dip"].make(), n_trials=20)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all(t.last_step is not None and t.last_step >= 10 for t in pruned)


def test_anytime_best_within_a_budget() -> None:
    results, _ = run_suite(
        objectives=["crossing-curves"], pruners=["median", "naap"], seeds=[0], n_trials=15
    )
    by_pruner = {r.pruner: r for r in results}
    nop = by_pruner["nop"]
    assert len(nop.anytime) == 15 and nop.anytime[-1] == (15 * 40, nop.best)
    spent = [s for s, _ in nop.anytime]
    assert spent == sorted(spent) and spent[0] == 40
    assert math.isnan(best_within(nop, 39))  # nothing finished within 39 steps
    assert best_within(nop, 10**9) == nop.best
    values = [best_within(nop, s) for s in spent]
    assert values == sorted(values)  # maximizing: the best so far only grows
    summary = {row["pruner"]: row for row in summarize_suite(results)}
    # At MedianPruner's own budget, MedianPruner's shortfall is its final one.
    assert summary["median"]["anytime_shortfall"] == pytest.approx(summary["median"]["shortfall"])
    assert summary["nop"]["anytime_shortfall"] >= 0  # no pruning, cut to median's budget


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
    assert (tmp_path / "out" / "anytime.png").read_bytes().startswith(b"\x89PNG")
    assert all(math.isfinite(row["anytime_shortfall"]) for row in document["summary"])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Pruners on real objectives" in out and "Over the suite" in out
    assert main([*args[:-4], "--pruners", "fast"]) == 2
    assert "unknown pruner 'fast'" in capsys.readouterr().err
    # Seeds from --first-seed (the tuning seeds start at 100); the replay refuses it.
    assert main([*args, "--first-seed", "100", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {s["seed"] for s in document["studies"]} == {100}
    assert document["protocol"]["first_seed"] == 100
    assert main(["benchmark", "--first-seed", "5"]) == 2
    assert "--first-seed sets --suite objectives' seeds" in capsys.readouterr().err
