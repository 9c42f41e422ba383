from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from options import FAST

from optuna_naap import NAAPPruner, scheme_params
from optuna_naap.benchmark import (
    MODEL_ID_ATTR,
    BenchmarkError,
    EarlyTopKPruner,
    FitContext,
    OraclePruner,
    ReplayObjective,
    builtin_pruners,
    pareto_front,
    plot_pareto,
    replay_study,
    run_benchmark,
    summarize,
)
from optuna_naap.cli import main
from optuna_naap.data import attach_schemes

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def frame(naap440_v2: pd.DataFrame) -> pd.DataFrame:
    return attach_schemes(naap440_v2)


class EvenTrialsAtEpoch2(optuna.pruners.BasePruner):
    """Prunes even-numbered trials at epoch 2: the figures are then known in advance."""

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number % 2 == 0 and trial.last_step == 2


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_replay_visits_every_scheme_of_the_pool_once(frame: pd.DataFrame, sampler: str) -> None:
    pool = frame.sample(40, random_state=1)
    objective = ReplayObjective(pool, max_epochs=5, seed=3)
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.NopPruner(),
        sampler=optuna.samplers.TPESampler(seed=0)
        if sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(objective, n_trials=40)
    ran = [t.user_attrs[MODEL_ID_ATTR] for t in study.trials]
    assert sorted(ran) == sorted(pool.ModelId)
    by_id = pool.set_index("ModelId")
    for trial in study.trials:
        row = by_id.loc[trial.user_attrs[MODEL_ID_ATTR]]
        assert trial.value == row.MaxAccuracy
        assert trial.intermediate_values == {e: row[f"e{e}Accuracy"] for e in range(1, 6)}
        assert trial.user_attrs["naap:scheme"] == json.loads(row.Scheme)
    with pytest.raises(BenchmarkError, match="every one of the 40 schemes of the pool has run"):
        study.optimize(objective, n_trials=1, catch=())


def test_proposals_in_the_pool_run_as_proposed(frame: pd.DataFrame) -> None:
    pool = frame.sample(50, random_state=6)
    objective = ReplayObjective(pool, max_epochs=2)
    for _, row in pool.sample(frac=1, random_state=7).iterrows():
        trial = optuna.trial.FixedTrial(scheme_params(json.loads(row.Scheme), objective.space))
        assert objective(trial) == row.MaxAccuracy
        assert trial.user_attrs[MODEL_ID_ATTR] == row.ModelId


def test_figures_of_a_replay(frame: pd.DataFrame, tmp_path: Path) -> None:
    pool = frame.sample(30, random_state=2)
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    result = replay_study(
        pool, EvenTrialsAtEpoch2(), max_epochs=10, name="even", seed=1, storage=url, study_name="r"
    )
    assert (result.pruner, result.trials, result.pruned) == ("even", 30, 15)
    assert result.compute == pytest.approx((15 * 2 + 15 * 10) / (30 * 10))
    # Regret and recall, recomputed from the stored study.
    trials = optuna.load_study(study_name="r", storage=url).trials
    finished = {t.user_attrs[MODEL_ID_ATTR]: t.value for t in trials if t.number % 2 == 1}
    assert result.best == max(finished.values())
    assert result.regret == pytest.approx(pool.MaxAccuracy.max() - result.best)
    top = set(pool.nlargest(10, "MaxAccuracy").ModelId)
    assert result.recall == len(top & set(finished)) / 10
    nop = replay_study(pool, optuna.pruners.NopPruner(), max_epochs=10)
    assert (nop.compute, nop.regret, nop.recall, nop.pruned) == (1.0, 0.0, 1.0, 0)
    assert nop.best == pool.MaxAccuracy.max()


def test_early_top_k_pruner(frame: pd.DataFrame) -> None:
    pool = frame.sample(25, random_state=4)
    objective = ReplayObjective(pool, max_epochs=4)
    study = optuna.create_study(direction="maximize", pruner=EarlyTopKPruner(3, epoch=1))
    study.optimize(objective, n_trials=25)
    for trial in study.trials:
        first = trial.intermediate_values[1]
        earlier_better = sum(
            t.intermediate_values[1] > first for t in study.trials[: trial.number]
        )
        pruned = trial.state == optuna.trial.TrialState.PRUNED
        assert pruned == (earlier_better >= 3)
        assert trial.last_step == (1 if pruned else 4)
    with pytest.raises(ValueError, match="k=0"):
        EarlyTopKPruner(0)


def test_the_oracle_trains_only_the_pools_best_beyond_the_first_epoch(
    frame: pd.DataFrame,
) -> None:
    pool = frame.sample(40, random_state=6)
    result = replay_study(pool, OraclePruner(pool, top_k=5), sampler="tpe", max_epochs=9)
    assert result.regret == 0 and result.pruned == 35
    assert result.recall == 0.5  # 5 of the 10 best (the top-10 recall), as asked
    assert result.compute == pytest.approx((40 * 1 + 5 * 8) / (40 * 9))
    # In the protocol each fold's oracle knows its own fold, the rows it replays.
    results = run_benchmark(
        frame.sample(40, random_state=7), pruners=["oracle"], samplers=["random"], seeds=[0]
    )
    assert all(r.recall == 1 for r in results)  # 2 folds of 20: the 10 best of each trained
    assert all(r.compute == pytest.approx((20 + 10 * 89) / (20 * 90)) for r in results)
    with pytest.raises(BenchmarkError, match="needs the replayed rows"):
        FitContext(pool, 9).oracle()
    with pytest.raises(ValueError, match="MaxAccuracy"):
        OraclePruner(pool.drop(columns="MaxAccuracy"))


def test_run_benchmark_fits_on_the_other_folds(frame: pd.DataFrame) -> None:
    rows = frame.sample(60, random_state=5)
    contexts: list[FitContext] = []

    def naap(context: FitContext) -> optuna.pruners.BasePruner:
        contexts.append(context)
        return context.naap(top_k=5)

    results = run_benchmark(
        rows,
        pruners={"nop": builtin_pruners()["nop"], "naap": naap},
        samplers=["random", "tpe"],
        seeds=[0, 1],
        folds=3,
        max_epochs=10,
        predictor_options=FAST,
    )
    assert len(results) == 3 * 2 * 2 * 2
    assert {(r.fold, r.pruner, r.sampler, r.seed) for r in results} == {
        (f, p, s, seed)
        for f in range(3)
        for p in ("nop", "naap")
        for s in ("random", "tpe")
        for seed in (0, 1)
    }
    # Each fold's pruner learnt from the other 40 rows; the three training sets cover each row
    # twice, so every row was replayed once while left out.
    fit_ids = [set(c.rows.ModelId) for c in contexts]
    assert all(len(ids) == 40 for ids in fit_ids)
    counts = pd.Series([i for ids in fit_ids for i in ids]).value_counts()
    assert set(counts) == {2 * 2 * 2} and set(counts.index) == set(rows.ModelId)
    summary = summarize(results)
    assert [(s["pruner"], s["sampler"]) for s in summary] == [
        ("nop", "random"),
        ("nop", "tpe"),
        ("naap", "random"),
        ("naap", "tpe"),
    ]
    assert summary[0]["compute"] == 1.0 and summary[0]["studies"] == 6
    assert summary[2]["compute"] < 1.0


def test_pareto_front_and_plot(tmp_path: Path) -> None:
    rows = [
        {"pruner": "a", "sampler": "random", "compute": 1.0, "recall": 1.0},
        {"pruner": "b", "sampler": "random", "compute": 0.2, "recall": 0.8},
        {"pruner": "c", "sampler": "random", "compute": 0.3, "recall": 0.7},
        {"pruner": "d", "sampler": "tpe", "compute": 0.9, "recall": 0.1},
    ]
    assert pareto_front(rows) == [True, True, False, True]
    plot_pareto(rows, str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pruners": ["nope"]}, "unknown pruner"),
        ({"samplers": ["grid"]}, "samplers must be among random, tpe"),
        ({"folds": 1}, "folds=1"),
        ({"seeds": []}, "at least one seed"),
        ({"data": ""}, "data must be the rows' data name"),
        ({"data": None}, "data must be the rows' data name"),
    ],
)
def test_bad_benchmark_arguments(
    frame: pd.DataFrame, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(BenchmarkError, match=message):
        run_benchmark(frame, **kwargs)


def test_replay_of_another_task_is_judged_in_transfer_mode(frame: pd.DataFrame) -> None:
    """Rows replayed as another task (a short budget of NAAP-440 rows standing in for other
    data): each trial declares it; naap-transfer judges them with the knowledge rows as a
    prior; naap's predictors, fit on the other fold of the same task, judge by their rule."""
    from optuna_naap.benchmark import builtin_pruners, replay_study
    from optuna_naap.data import truncate_curves
    from optuna_naap.record import DATA_ATTR

    rows = truncate_curves(frame, 12)
    knowledge = frame[frame.IsTest == 0].head(60)
    results = run_benchmark(
        rows.head(40),
        pruners=["naap-transfer", "naap"],
        samplers=["random"],
        seeds=[0],
        max_epochs=12,
        data="other-images",
        knowledge=knowledge,
        predictor_options=FAST,
    )
    assert [r.pruner for r in results] == ["naap-transfer", "naap"] * 2
    assert all(math.isfinite(r.compute) and r.compute <= 1 for r in results)
    # One replay by hand, to read its records.
    from optuna_naap.benchmark import FitContext

    context = FitContext(rows.head(20), 12, FAST, data="other-images", knowledge=knowledge)
    pruner = builtin_pruners(12)["naap-transfer"](context)
    storage = optuna.storages.InMemoryStorage()
    result = replay_study(
        rows.tail(20), pruner, max_epochs=12, data="other-images", storage=storage, study_name="t"
    )
    assert result.trials == 20
    trials = optuna.load_study(study_name="t", storage=storage).trials
    assert all(t.user_attrs[DATA_ATTR] == "other-images" for t in trials)
    decisions = [t.user_attrs["naap:decision"] for t in trials if "naap:decision" in t.user_attrs]
    assert decisions and all(d["mode"] == "transfer" for d in decisions)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials[:5])  # calibrating
    context_prior = context.prior()
    assert context_prior.epochs == 0 and context.prior() is context_prior  # fit once


def test_rows_without_schemes(naap440_v2: pd.DataFrame) -> None:
    with pytest.raises(BenchmarkError, match="lack the column.*Scheme.*load_naap440"):
        ReplayObjective(naap440_v2)


@pytest.mark.slow
def test_cli_benchmark(
    naap440_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "benchmark",
        "--naap440",
        str(naap440_dir / "naap440v2.csv"),
        "--pruners",
        "nop,median,naap",
        "--samplers",
        "random",
        "--seeds",
        "1",
        "--max-epochs",
        "10",
        "--fast",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main([*argv, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [s["pruner"] for s in document["summary"]] == ["nop", "median", "naap"]
    assert len(document["studies"]) == 2 * 3
    assert json.loads((tmp_path / "out" / "benchmark.json").read_text()) == document
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 10_000
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "recall = top-10 recall" in " ".join(table.split()) and "naap " in table

    assert main([*argv[:3], "--pruners", "median,bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("optuna-naap benchmark: error: unknown pruner 'bogus'")
    assert len(err.splitlines()) == 1


def test_naap_wide_replays_the_former_bar(frame: pd.DataFrame) -> None:
    """``naap-wide`` is NAAP-440's rule with WIDE_BAR: its decisions judge against the top-20
    of the known finals where the defaults' (LEAN_BAR) judge against the top-10."""
    from optuna_naap import WIDE_BAR
    from optuna_naap.benchmark import FitContext, builtin_pruners, replay_study

    rows = frame[frame.IsTest == 0]
    context = FitContext(rows.head(120), 90, FAST)
    pruners = builtin_pruners(90)
    wide = pruners["naap-wide"](context)
    assert isinstance(wide, NAAPPruner) and wide.rule is not None
    assert (wide.rule.top_k, wide.rule.confidence) == (WIDE_BAR["top_k"], WIDE_BAR["confidence"])
    cautious = pruners["naap-cautious"](context)
    assert isinstance(cautious, NAAPPruner) and cautious.rule is not None
    assert (cautious.rule.top_k, cautious.rule.confidence) == (20, 0.99)
    for name, bar in (("naap-wide", "top-20 threshold"), ("naap", "top-10 threshold")):
        storage = optuna.storages.InMemoryStorage()
        result = replay_study(
            rows.iloc[120:180], pruners[name](context), storage=storage, study_name=name
        )
        assert 0 < result.pruned < result.trials
        reasons = [
            t.user_attrs["naap:decision"]["reason"]
            for t in optuna.load_study(study_name=name, storage=storage).trials
            if t.state == optuna.trial.TrialState.PRUNED
        ]
        assert reasons and all(bar in r for r in reasons)
