"""Multi-objective NAS: exact costs, the Pareto rule in NAAPPruner and SchemePrescreen,
should_prune in multi-objective studies, and the multi-objective replay."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from options import FAST
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from optuna_naap import (
    DECISION_ATTR,
    NAAPPredictor,
    NAAPPruner,
    NAAPSampler,
    SchemePrescreen,
    SchemeRule,
    SchemeSpace,
    report_epoch,
    scheme_features,
    should_prune,
    suggest_scheme,
)
from optuna_naap.benchmark import (
    AccuracyMedianPruner,
    BenchmarkError,
    FitContext,
    OraclePruner,
    ReplayObjective,
    replay_study,
    run_benchmark,
    summarize,
)
from optuna_naap.cli import main
from optuna_naap.pareto import (
    ParetoObjectives,
    ParetoReferences,
    objective_values,
    record_cost,
    scheme_costs,
    trial_costs,
)
from optuna_naap.record import ACCURACY_ATTR, COSTS_ATTR, trial_curve

optuna.logging.set_verbosity(optuna.logging.WARNING)
# study.set_metric_names is experimental in Optuna; the project relies on it knowingly.
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

SMALL = [{"kernel_size": 3, "width": 16, "stride": 1, "residual": False}]
#: NAAP-440's first scheme: inside its space, so its predictors judge it.
INSIDE = SchemeSpace().enumerate()[0]
INSIDE_MACS = float(scheme_features(INSIDE)["NumMACs"])


@pytest.fixture(scope="module")
def train(naap440_frame: pd.DataFrame) -> pd.DataFrame:
    return naap440_frame[naap440_frame.IsTest == 0].reset_index(drop=True)


@pytest.fixture(scope="module")
def predictors(train: pd.DataFrame) -> dict[int, NAAPPredictor]:
    return {e: NAAPPredictor(e, **FAST).fit(train) for e in (0, 1)}


def _study(names: tuple[str, ...] = ("accuracy", "macs"), **kwargs: Any) -> optuna.study.Study:
    objectives = ParetoObjectives(names)
    study = optuna.create_study(directions=objectives.directions, **kwargs)
    study.set_metric_names(list(names))
    return study


def _cheap_rival(study: optuna.study.Study, accuracy: float, macs: float) -> None:
    """A completed trial of ``accuracy`` at ``macs`` MACs (as a finished earlier trial)."""
    study.add_trial(
        create_trial(
            values=[accuracy, macs],
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
        )
    )


def _one_epoch_objective(scheme: list[dict[str, Any]], outcome: list[bool]) -> Any:
    def objective(trial: optuna.trial.Trial) -> tuple[float, ...]:
        from optuna_naap import Recipe, record_scheme, record_task

        record_scheme(trial, scheme)
        record_task(trial, "cifar10", epochs=90, recipe=Recipe())  # NAAP-440's task
        report_epoch(trial, 1, accuracy=0.45, loss_mean=1.5, loss_median=1.4)
        outcome.append(should_prune(trial))
        if outcome[-1]:
            raise optuna.TrialPruned()
        return objective_values(trial, 0.6)

    return objective


# -- objectives and costs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (("macs", "params"), "'accuracy' once"),
        (("accuracy",), "at least one cost"),
        (("accuracy", "macs", "macs"), "without repeats"),
        (("accuracy", "lat ency"), "words"),
    ],
)
def test_objectives_are_checked(names: tuple[str, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ParetoObjectives(names)


def test_objectives_come_from_the_study_and_its_directions() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    with pytest.raises(ValueError, match="set_metric_names"):
        ParetoObjectives.of_study(study)
    study.set_metric_names(["Accuracy", "MACs"])
    assert ParetoObjectives.of_study(study).names == ("accuracy", "macs")
    wrong = optuna.create_study(directions=["minimize", "minimize"])
    wrong.set_metric_names(["accuracy", "macs"])
    with pytest.raises(ValueError, match="need directions maximize,minimize"):
        ParetoObjectives.of_study(wrong)


def test_exact_costs_are_the_naap440_columns(naap440_frame: pd.DataFrame) -> None:
    objectives = ParetoObjectives.parse("accuracy,macs,params,layers")
    for _, row in naap440_frame.iterrows():
        costs = scheme_costs(json.loads(row["Scheme"]), objectives)
        assert costs == (row["NumMACs"], row["NumParams"], row["NumLayers"])


def test_measured_costs_are_recorded_and_validated() -> None:
    study = _study(("accuracy", "latency", "macs"))
    trial = study.ask()
    for bad in (math.inf, -1.0, True, "3"):
        with pytest.raises(ValueError, match="finite number >= 0"):
            record_cost(trial, "latency", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="comes from the scheme"):
        record_cost(trial, "macs", 1.0)
    objectives = ParetoObjectives.of_study(study)
    assert "latency" in trial_costs(trial, objectives)  # type: ignore[operator]
    from optuna_naap import record_scheme

    record_scheme(trial, SMALL)
    record_cost(trial, "latency", 0.004)
    assert trial.user_attrs[COSTS_ATTR] == {"latency": 0.004}
    assert objective_values(trial, 0.5) == (0.5, 0.004, 524464.0)


# -- recording and asking -------------------------------------------------------------------


def test_report_epoch_in_a_multi_objective_study() -> None:
    study = _study()
    trial = study.ask()
    suggest_scheme(trial)
    report_epoch(trial, 1, accuracy=0.4, loss_mean=1.6, loss_median=1.5)
    report_epoch(trial, 2, accuracy=0.5, loss_mean=1.3, loss_median=1.2)
    frozen = study.trials[0]
    assert frozen.intermediate_values == {}  # Optuna's MO samplers assume none
    assert frozen.user_attrs[ACCURACY_ATTR] == {"1": 0.4, "2": 0.5}
    assert trial_curve(frozen, 2) == {
        "e1LossMean": 1.6,
        "e1LossMedian": 1.5,
        "e1Accuracy": 0.4,
        "e2LossMean": 1.3,
        "e2LossMedian": 1.2,
        "e2Accuracy": 0.5,
    }


def test_should_prune_asks_the_right_pruner() -> None:
    single = optuna.create_study(pruner=optuna.pruners.MedianPruner())
    trial = single.ask()
    trial.report(1.0, 1)
    assert should_prune(trial) is False
    nop = _study(pruner=optuna.pruners.NopPruner())
    assert should_prune(nop.ask()) is False
    median = _study(pruner=optuna.pruners.MedianPruner())
    with pytest.raises(ValueError, match="MedianPruner cannot prune a multi-objective study"):
        should_prune(median.ask())


# -- the Pareto rule ------------------------------------------------------------------------


def test_pruned_when_a_cheaper_completed_trial_is_better(
    predictors: dict[int, NAAPPredictor],
) -> None:
    study = _study(pruner=NAAPPruner(SchemeRule(predictors[1], max_epochs=90)))
    _cheap_rival(study, accuracy=0.99, macs=1.0)
    outcome: list[bool] = []
    study.optimize(_one_epoch_objective(INSIDE, outcome), n_trials=1)
    assert outcome == [True]
    trial = study.trials[-1]
    decision = trial.user_attrs[DECISION_ATTR]
    assert decision["verdict"] == "pruned" and decision["dominated_by"] == 0
    assert decision["costs"] == [INSIDE_MACS] and decision["threshold"] == 0.99
    assert decision["predicted"] + decision["margin"] < 0.99
    assert "is dominated by trial 0: 0.9900 at 1 MACs" in decision["reason"]
    assert trial.state == TrialState.PRUNED


def test_kept_when_nothing_cheaper_has_completed(predictors: dict[int, NAAPPredictor]) -> None:
    study = _study(pruner=NAAPPruner(SchemeRule(predictors[1], max_epochs=90)))
    _cheap_rival(study, accuracy=0.99, macs=1e12)  # better, but costs more
    _cheap_rival(study, accuracy=0.01, macs=1.0)  # cheaper, but far worse
    outcome: list[bool] = []
    study.optimize(_one_epoch_objective(INSIDE, outcome), n_trials=1)
    assert outcome == [False]
    decision = study.trials[-1].user_attrs[DECISION_ATTR]
    assert decision["verdict"] == "kept" and decision["dominated_by"] == 1
    assert "can pass trial 1: 0.0100" in decision["reason"]
    assert study.trials[-1].values == [0.6, INSIDE_MACS]


def test_reference_rows_prune_only_k_together(
    predictors: dict[int, NAAPPredictor], train: pd.DataFrame
) -> None:
    row = {"MaxAccuracy": 0.99, "NumMACs": 1.0, "NumParams": 1.0, "NumLayers": 1}
    for k, pruned in ((2, True), (3, False)):
        references = ParetoReferences(pd.DataFrame([row, row]), k=k)
        study = _study(
            pruner=NAAPPruner(
                SchemeRule(predictors[1], max_epochs=90, pareto_references=references)
            )
        )
        outcome: list[bool] = []
        study.optimize(_one_epoch_objective(INSIDE, outcome), n_trials=1)
        assert outcome == [pruned]
        decision = study.trials[-1].user_attrs[DECISION_ATTR]
        if pruned:
            assert decision["dominated_by"] == "references"
            assert "the 2 reference results that cost no more" in decision["reason"]
        else:
            assert "no completed trial costs as little" in decision["reason"]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ParetoReferences(train, k=0)


def test_a_scheme_outside_naap440s_space_is_kept_with_the_reason(
    predictors: dict[int, NAAPPredictor],
) -> None:
    """A one-block scheme: NAAP-440's predictors never saw one, so the Pareto rule does not
    judge it by their prediction (it would be pruned by the cheaper, better rival)."""
    study = _study(pruner=NAAPPruner(SchemeRule(predictors[1], max_epochs=90)))
    _cheap_rival(study, accuracy=0.99, macs=1.0)
    outcome: list[bool] = []
    study.optimize(_one_epoch_objective(SMALL, outcome), n_trials=1)
    assert outcome == [False]
    reason = study.trials[-1].user_attrs[DECISION_ATTR]["reason"]
    assert "multi-objective: kept" in reason and "outside NAAP-440's space" in reason


def test_prescreen_skips_a_dominated_scheme_before_training(
    predictors: dict[int, NAAPPredictor],
) -> None:
    trained: list[int] = []

    def objective(trial: optuna.trial.Trial) -> tuple[float, ...]:
        suggest_scheme(trial)
        trained.append(trial.number)
        return objective_values(trial, 0.5)

    sampler = NAAPSampler(
        optuna.samplers.RandomSampler(seed=0), prescreen=SchemePrescreen(predictors[0])
    )
    study = _study(sampler=sampler)
    _cheap_rival(study, accuracy=0.999, macs=1.0)
    study.optimize(objective, n_trials=5)
    assert trained == []
    for trial in study.trials[1:]:
        decision = trial.user_attrs[DECISION_ATTR]
        assert trial.state == TrialState.PRUNED and decision["epoch"] == 0
        assert decision["reason"].startswith("before training: predicted")


def test_every_pruned_trial_of_a_replay_was_dominated(train: pd.DataFrame) -> None:
    """The rule's contract on a real replay, for every sampler kind: a pruned trial's
    predicted accuracy plus margin is below a completed trial that costs no more (or the k-th
    best reference), and the study's trials end COMPLETE or PRUNED."""
    order = np.random.default_rng(0).permutation(len(train))
    pool, rest = train.iloc[order[:60]], train.iloc[order[60:]]
    context = FitContext(rest, 90, dict(FAST))
    objectives = ParetoObjectives.parse("accuracy,params")
    for sampler in ("random", "tpe", "nsga2"):
        storage = optuna.storages.InMemoryStorage()
        result = replay_study(
            pool,
            context.naap(),
            sampler=sampler,
            objectives=objectives,
            storage=storage,
            study_name="replay",
        )
        study = optuna.load_study(study_name="replay", storage=storage)
        assert result.trials == 60 and 0 < result.compute < 1
        assert 0 <= result.hv_regret <= 1 and 0 <= result.front_recall <= 1
        done = [t for t in study.trials if t.state == TrialState.COMPLETE]
        for trial in study.trials:
            assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
            if trial.state != TrialState.PRUNED:
                continue
            decision = trial.user_attrs[DECISION_ATTR]
            reach = decision["predicted"] + decision["margin"]
            assert reach < decision["threshold"]
            if decision["dominated_by"] != "references":
                rival = study.trials[decision["dominated_by"]]
                assert rival in done and rival.values[0] == decision["threshold"]
                assert rival.values[1] <= decision["costs"][0]


def test_the_oracle_keeps_the_whole_front_and_prunes_only_the_dominated(
    train: pd.DataFrame,
) -> None:
    pool = train.sample(60, random_state=2)
    storage = optuna.storages.InMemoryStorage()
    result = replay_study(
        pool, OraclePruner(pool), objectives="accuracy,macs", storage=storage, study_name="o"
    )
    assert result.front_recall == 1 and result.hv_regret == 0 and result.pruned > 0
    study = optuna.load_study(study_name="o", storage=storage)
    final = dict(zip(pool.ModelId, pool.MaxAccuracy, strict=True))
    for trial in study.trials:
        if trial.state != TrialState.PRUNED:
            continue
        mine = final[trial.user_attrs["naap:model_id"]]
        macs = scheme_features(trial.user_attrs["naap:scheme"])["NumMACs"]
        earlier = [t for t in study.trials[: trial.number] if t.state == TrialState.COMPLETE]
        assert any(t.values[0] > mine and t.values[1] <= macs for t in earlier)


def test_front_recall_with_known_rows_counts_only_the_front_of_everything_known(
    train: pd.DataFrame,
) -> None:
    """A pool's front scheme that a known row beats at no more cost is off the front of
    everything known: the oracle with those rows as references does not train it, so it loses
    it from the pool's own front but not from the front with the known rows; without known rows
    that figure is NaN."""
    order = np.random.default_rng(3).permutation(len(train))
    pool, rest = train.iloc[order[:60]], train.iloc[order[60:200]]
    objectives = ParetoObjectives.parse("accuracy,macs")
    replayed = ReplayObjective(pool, objectives=objectives)
    accuracy, _, front = replayed.front()
    # known rows: the pool's most accurate front scheme, 0.01 better at the same MACs
    best = int(np.argmax(np.where(front, accuracy, -np.inf)))
    ordered = replayed.pool
    better = ordered.iloc[[best]].assign(ModelId=-1, MaxAccuracy=accuracy[best] + 0.01)
    known = pd.concat([rest, better, better.assign(ModelId=-2), better.assign(ModelId=-3)])
    storage = optuna.storages.InMemoryStorage()
    oracle = OraclePruner(pool, references=ParetoReferences(known))
    result = replay_study(
        pool, oracle, objectives=objectives, known=known, storage=storage, study_name="o"
    )
    study = optuna.load_study(study_name="o", storage=storage)
    pruned = {t.user_attrs["naap:model_id"] for t in study.trials if t.state == TrialState.PRUNED}
    assert int(ordered.ModelId.iloc[best]) in pruned  # beaten by the three known copies
    assert result.front_recall < 1 and result.front_recall_known == 1
    alone = replay_study(pool, OraclePruner(pool), objectives=objectives)
    assert alone.front_recall == 1 and math.isnan(alone.front_recall_known)
    row = summarize([result])[0]
    assert row["front_recall_known"] == row["min_front_recall_known"] == 1


def test_accuracy_median_baseline_prunes_on_accuracy_alone(train: pd.DataFrame) -> None:
    result = replay_study(
        train.iloc[:40],
        AccuracyMedianPruner(n_warmup_steps=9),
        objectives="accuracy,macs",
        max_epochs=20,
    )
    assert result.pruned > 0 and result.objectives == "accuracy,macs"


def test_run_benchmark_with_objectives(train: pd.DataFrame) -> None:
    results = run_benchmark(
        train.iloc[:80],
        objectives="accuracy,macs",
        pruners=["nop", "median-accuracy"],
        samplers=["random"],
        seeds=[0],
        max_epochs=12,
    )
    rows = summarize(results)
    assert [r["pruner"] for r in rows] == ["nop", "median-accuracy"]
    nop = rows[0]
    assert nop["compute"] == 1 and nop["front_recall"] == 1 and nop["hv_regret"] == 0
    # The first half of a study has found at most what the whole study found.
    for result in results:
        assert result.hv_regret <= result.hv_regret_half <= 1
    assert any(r.hv_regret_half > 0 for r in results if r.pruner == "nop")
    with pytest.raises(BenchmarkError, match="'accuracy' once"):
        run_benchmark(train, objectives="macs,params")


@pytest.mark.slow
def test_cli_benchmark_with_objectives(
    naap440_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "benchmark",
        "--objectives",
        "accuracy,params",
        "--naap440",
        str(naap440_dir / "naap440v2.csv"),
        "--pruners",
        "nop,NAAPPruner",
        "--samplers",
        "random,nsga2",
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
    rows = document["summary"]
    assert [(r["pruner"], r["sampler"]) for r in rows] == [
        ("nop", "random"),
        ("nop", "nsga2"),
        ("NAAPPruner", "random"),
        ("NAAPPruner", "nsga2"),
    ]
    for row in rows:
        assert {"compute", "front_recall", "hv_regret"} <= set(row)
    assert rows[0]["front_recall"] == 1 and rows[2]["compute"] < 1
    assert document["protocol"]["objectives"] == "accuracy,params"
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 10_000
    assert main(argv[:-2]) == 0
    assert "front recall" in capsys.readouterr().out
    assert main([*argv[:2], "accuracy,latency", *argv[3:5]]) == 2
    err = capsys.readouterr().err.strip()
    assert "knows only the exact costs" in err and len(err.splitlines()) == 1
    assert main([*argv[:5], "--pruners", "median"]) == 2
    assert "unknown pruner 'median'" in capsys.readouterr().err


def test_front_and_hypervolume_agree_with_optuna() -> None:
    from optuna._hypervolume import compute_hypervolume

    from optuna_naap.pareto import hypervolume, pareto_mask

    rng = np.random.default_rng(0)
    accuracy = rng.uniform(0.3, 0.9, 60)
    costs = rng.uniform(0, 1, (60, 2))
    mask = pareto_mask(list(accuracy), costs.tolist())
    losses = np.column_stack([-accuracy, costs])
    for i, on in enumerate(mask):
        others = np.delete(losses, i, axis=0)
        dominated = ((others <= losses[i]).all(axis=1) & (others < losses[i]).any(axis=1)).any()
        assert on == (not dominated)
    reference = (0.2, [1.0, 1.0])
    expected = compute_hypervolume(losses[mask], np.array([-0.2, 1.0, 1.0]))
    assert hypervolume(list(accuracy), costs.tolist(), reference=reference) == pytest.approx(
        expected
    )
    two = hypervolume(list(accuracy), costs[:, :1].tolist(), reference=(0.2, [1.0]))
    front2 = pareto_mask(list(accuracy), costs[:, :1].tolist())
    expected2 = compute_hypervolume(losses[front2][:, :2], np.array([-0.2, 1.0]))
    assert two == pytest.approx(expected2)
    assert hypervolume([0.1], [[2.0]], reference=(0.2, [1.0])) == 0.0
