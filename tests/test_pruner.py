from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from options import FAST

from optuna_naap import (
    DECISION_ATTR,
    NAAPPredictor,
    NAAPPruner,
    Recipe,
    SchemeRule,
    StudyLearner,
    record_scheme,
    record_task,
    report_epoch,
)
from optuna_naap.benchmark import ReplayObjective

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def frame(naap440_frame: pd.DataFrame) -> pd.DataFrame:
    return naap440_frame


@pytest.fixture(scope="module")
def predictor(frame: pd.DataFrame) -> NAAPPredictor:
    return NAAPPredictor(9, **FAST).fit(frame[frame.IsTest == 0])


def replay(
    rows: pd.DataFrame, *, scheme: bool = True, losses: bool = True, nan_at: int | None = None
) -> Any:
    """An objective that trains nothing: it reports a NAAP-440 row's recorded curve, one row
    per trial in order (benchmark.ReplayObjective); the variants leave out the scheme or the
    losses, or put a NaN at one epoch, which no real replay does."""
    if scheme and losses and nan_at is None:
        return ReplayObjective(rows, in_order=True)

    def objective(trial: optuna.trial.Trial) -> float:
        row = rows.iloc[trial.number % len(rows)]
        if scheme:
            record_scheme(trial, json.loads(row["Scheme"]))
            record_task(trial, "cifar10", epochs=90, recipe=Recipe())  # NAAP-440's task
        for epoch in range(1, 91):
            accuracy = math.nan if epoch == nan_at else float(row[f"e{epoch}Accuracy"])
            if losses:
                report_epoch(
                    trial,
                    epoch,
                    accuracy=accuracy,
                    loss_mean=float(row[f"e{epoch}LossMean"]),
                    loss_median=float(row[f"e{epoch}LossMedian"]),
                )
            else:
                trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(row["MaxAccuracy"])

    return objective


def _decisions(study: optuna.study.Study) -> list[dict[str, Any]]:
    return [t.user_attrs[DECISION_ATTR] for t in study.trials if DECISION_ATTR in t.user_attrs]


def test_prunes_below_the_top_k_of_known_finals(
    frame: pd.DataFrame, predictor: NAAPPredictor
) -> None:
    test_rows = frame[frame.IsTest == 1]
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    pruner = NAAPPruner(
        SchemeRule(predictor, top_k=40, uncertainty=0.5, reference_values=references)
    )
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(replay(test_rows), n_trials=len(test_rows))
    # The margin: the 0.95 quantile (LEAN_BAR's, the default) of the predictor's out-of-fold
    # errors, plus half a std.
    quantile = float(np.quantile(predictor.cv_residuals_, 0.95))
    assert quantile > 0

    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states and optuna.trial.TrialState.COMPLETE in states
    for trial in study.trials:
        decision = trial.user_attrs[DECISION_ATTR]
        assert decision["epoch"] == 9 == trial.user_attrs["naap:epoch"]
        assert trial.user_attrs["naap:verdict"] == decision["verdict"]
        assert trial.user_attrs["naap:predicted"] == decision["predicted"]
        # The threshold is the 40th best of the references and the finals completed before.
        earlier = [
            t.value
            for t in study.trials[: trial.number]
            if t.state == optuna.trial.TrialState.COMPLETE
        ]
        known = np.sort(np.concatenate([references, earlier]))[::-1]
        assert decision["threshold"] == pytest.approx(known[39])
        assert decision["known_finals"] == len(known)
        assert decision["margin"] == pytest.approx(quantile + 0.5 * decision["std"])
        upper = decision["predicted"] + decision["margin"]
        pruned = trial.state == optuna.trial.TrialState.PRUNED
        assert pruned == (upper < decision["threshold"]) == (decision["verdict"] == "pruned")
        assert ("cannot reach" if pruned else "can reach") in decision["reason"]
        if pruned:
            assert trial.last_step == 9  # stopped at 10% of training
    # The best scheme of the pool is never lost in this replay.
    best = test_rows.MaxAccuracy.max()
    assert max(t.value for t in study.trials if t.value is not None) == best


def test_the_defaults_are_the_lean_bar_with_the_fronts_own_margin(
    predictor: NAAPPredictor,
) -> None:
    """By default the top-k bar is LEAN_BAR's (top-10, the 0.95 quantile of the predictor's
    out-of-fold errors) and the Pareto front keeps its own margin (the 0.9 quantile, chosen for
    it); a confidence given is both margins'. WIDE_BAR is the former defaults."""
    from optuna_naap import LEAN_BAR, WIDE_BAR
    from optuna_naap._rule import FRONT_CONFIDENCE

    errors = predictor.cv_residuals_
    rule = SchemeRule(predictor)
    assert (
        (rule.top_k, rule.confidence) == (LEAN_BAR["top_k"], LEAN_BAR["confidence"]) == (10, 0.95)
    )
    assert rule.front_confidence == FRONT_CONFIDENCE == 0.9
    assert rule.margins[9] == pytest.approx(float(np.quantile(errors, 0.95)))
    assert rule.front_margins[9] == pytest.approx(float(np.quantile(errors, 0.9)))
    assert rule.margins[9] > rule.front_margins[9]
    assert SchemeRule(predictor, **LEAN_BAR).margins == rule.margins  # passing it changes nothing
    wide = SchemeRule(predictor, **WIDE_BAR)
    assert (wide.top_k, wide.confidence, wide.front_confidence) == (20, 0.9, 0.9)
    assert wide.margins == wide.front_margins == rule.front_margins
    with pytest.raises(ValueError, match="confidence must be in"):
        SchemeRule(predictor, confidence=1.5)


def test_confidence_moves_the_verdicts(frame: pd.DataFrame, predictor: NAAPPredictor) -> None:
    rows = frame[frame.IsTest == 1]
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    pruned = {}
    for confidence in (0.0, 0.5, 1.0):
        pruner = NAAPPruner(
            SchemeRule(predictor, confidence=confidence, reference_values=references)
        )
        study = optuna.create_study(direction="maximize", pruner=pruner)
        study.optimize(replay(rows), n_trials=len(rows))
        pruned[confidence] = {
            t.number for t in study.trials if t.state == optuna.trial.TrialState.PRUNED
        }
    # A wider margin only ever keeps more.
    assert pruned[1.0] <= pruned[0.5] <= pruned[0.0]
    assert pruned[1.0] < pruned[0.0]


def test_top_fraction(frame: pd.DataFrame, predictor: NAAPPredictor) -> None:
    rows = frame[frame.IsTest == 1]
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    pruner = NAAPPruner(SchemeRule(predictor, top_fraction=0.25, reference_values=references))
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(replay(rows), n_trials=len(rows))
    for trial in study.trials:
        decision = trial.user_attrs[DECISION_ATTR]
        earlier = [
            t.value
            for t in study.trials[: trial.number]
            if t.state == optuna.trial.TrialState.COMPLETE
        ]
        known = np.concatenate([references, earlier])
        assert decision["threshold"] == pytest.approx(np.quantile(known, 0.75))
        assert "top-25% threshold" in decision["reason"]
        pruned = decision["predicted"] + decision["margin"] < decision["threshold"]
        assert (trial.state == optuna.trial.TrialState.PRUNED) == pruned
    assert {t.state for t in study.trials} == {
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.COMPLETE,
    }


def test_n_startup_trials(frame: pd.DataFrame, predictor: NAAPPredictor) -> None:
    rows = frame[frame.IsTest == 1].sort_values("MaxAccuracy").head(6)  # the worst schemes
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    pruner = NAAPPruner(SchemeRule(predictor, n_startup_trials=4, reference_values=references))
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(replay(rows), n_trials=6)
    decisions = _decisions(study)
    assert [d["verdict"] for d in decisions] == ["kept"] * 4 + ["pruned"] * 2
    assert decisions[2]["reason"] == "startup: 2 of n_startup_trials=4 trials completed"


def test_startup_without_references(frame: pd.DataFrame, predictor: NAAPPredictor) -> None:
    rows = frame[frame.IsTest == 1].head(8)
    study = optuna.create_study(
        direction="maximize", pruner=NAAPPruner(SchemeRule(predictor, top_k=3))
    )
    study.optimize(replay(rows), n_trials=8)
    decisions = _decisions(study)
    assert [d["verdict"] for d in decisions[:3]] == ["kept"] * 3
    assert all(d["reason"].startswith("startup: ") for d in decisions[:3])
    assert all(d["threshold"] is not None for d in decisions[3:])


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"scheme": False}, "no scheme and losses recorded"),
        ({"losses": False}, "no scheme and losses recorded"),
    ],
)
def test_trials_it_cannot_judge_are_kept(
    frame: pd.DataFrame, predictor: NAAPPredictor, kwargs: dict[str, bool], reason: str
) -> None:
    rows = frame[frame.IsTest == 1].head(3)
    pruner = NAAPPruner(SchemeRule(predictor, top_k=1), learn=False)  # learn=True would judge them
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(replay(rows, **kwargs), n_trials=3)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert all(reason in d["reason"] and d["verdict"] == "kept" for d in _decisions(study))


def test_nan_accuracy_is_pruned(frame: pd.DataFrame, predictor: NAAPPredictor) -> None:
    rows = frame[frame.IsTest == 1].head(2)
    study = optuna.create_study(
        direction="maximize", pruner=NAAPPruner(SchemeRule(predictor, top_k=1))
    )
    study.optimize(replay(rows, nan_at=9), n_trials=2)
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    assert _decisions(study)[0]["reason"] == "non-finite value at step 9"


def test_minimize_studies_are_never_pruned_without_learning(
    frame: pd.DataFrame, predictor: NAAPPredictor
) -> None:
    rows = frame[frame.IsTest == 1].head(4)
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    pruner = NAAPPruner(SchemeRule(predictor, top_k=1, reference_values=references), learn=False)
    study = optuna.create_study(direction="minimize", pruner=pruner)
    with pytest.warns(UserWarning, match="judges only maximizing studies"):
        study.optimize(replay(rows), n_trials=4)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert all("direction='maximize'" in d["reason"] for d in _decisions(study))


def test_multi_objective_needs_named_objectives(predictor: NAAPPredictor) -> None:
    """Multi-objective studies are judged by the Pareto rule (tests/test_pareto.py); it needs
    to know which value is the accuracy, and keeps trials it cannot judge, saying why."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    trial = study.ask()
    study._storage.set_trial_user_attr(trial._trial_id, "naap:accuracies", {"9": 0.5})
    with pytest.raises(ValueError, match="name the study's objectives"):
        NAAPPruner(SchemeRule(predictor)).prune(study, study.trials[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["accuracy", "macs"])
    assert NAAPPruner(SchemeRule(predictor)).prune(study, study.trials[0]) is False
    decision = study.trials[0].user_attrs[DECISION_ATTR]
    assert decision["verdict"] == "kept" and "no scheme and losses recorded" in decision["reason"]


def test_rdb_storage_and_repeated_questions(
    frame: pd.DataFrame, predictor: NAAPPredictor, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'naap.db'}"
    row = frame[frame.IsTest == 1].sort_values("MaxAccuracy").iloc[0]  # the worst test scheme
    pruner = NAAPPruner(
        SchemeRule(
            predictor, top_k=5, reference_values=frame.loc[frame.IsTest == 0, "MaxAccuracy"]
        )
    )
    study = optuna.create_study(storage=url, study_name="s", direction="maximize", pruner=pruner)
    trial = study.ask()
    record_scheme(trial, json.loads(row["Scheme"]))
    record_task(trial, "cifar10", epochs=90, recipe=Recipe())
    for epoch in range(1, 10):
        report_epoch(
            trial,
            epoch,
            accuracy=row[f"e{epoch}Accuracy"],
            loss_mean=row[f"e{epoch}LossMean"],
            loss_median=row[f"e{epoch}LossMedian"],
        )
        assert trial.should_prune() == (epoch == 9)
    assert trial.should_prune()  # the same step asked again: the same answer
    # Another worker sees the decision in the storage.
    stored = optuna.load_study(study_name="s", storage=url).trials[0].user_attrs
    assert stored["naap:verdict"] == "pruned" and stored[DECISION_ATTR]["epoch"] == 9


def test_from_frame_with_two_decision_epochs(frame: pd.DataFrame) -> None:
    # top_k=200 of the 400 reference finals: the median, so both verdicts happen.
    pruner = NAAPPruner.from_frame(
        frame[frame.IsTest == 0], decision_epochs=[3, 9], predictor_options=FAST, top_k=200
    )
    assert pruner.decision_epochs == [3, 9]
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(replay(frame[frame.IsTest == 1]), n_trials=40)
    for trial in study.trials:
        epoch = trial.user_attrs["naap:epoch"]
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert epoch == 9 and trial.user_attrs["naap:verdict"] == "kept"
        else:
            assert trial.last_step == epoch in (3, 9)
    epochs = {t.user_attrs["naap:epoch"] for t in study.trials}
    assert epochs == {3, 9}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_epochs": 0}, "max_epochs=0"),
        ({"top_k": 0}, "top_k=0"),
        ({"uncertainty": -1.0}, "uncertainty=-1.0"),
        ({"uncertainty": float("inf")}, "uncertainty=inf"),
        ({"uncertainty": True}, "uncertainty=True"),
        ({"confidence": 1.5}, "confidence=1.5"),
        ({"top_fraction": 1.0}, "top_fraction=1.0"),
        ({"n_startup_trials": -1}, "n_startup_trials=-1"),
        ({"max_epochs": 9}, "between 1 and max_epochs - 1 = 8"),
        ({"reference_values": [0.5, float("nan")]}, "reference_values must be finite"),
    ],
)
def test_invalid_arguments(predictor: NAAPPredictor, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchemeRule(predictor, **kwargs)


def test_unfitted_or_mismatched_predictors(predictor: NAAPPredictor) -> None:
    with pytest.raises(ValueError, match="not a fitted NAAPPredictor"):
        NAAPPruner(SchemeRule(NAAPPredictor(9)))
    with pytest.raises(ValueError, match="got epoch 5 for a predictor of epochs=9"):
        NAAPPruner(SchemeRule({5: predictor}))
    with pytest.raises(ValueError, match="at least one fitted NAAPPredictor"):
        SchemeRule({})
    assert NAAPPruner().decision_epochs == []  # no rule: learns only
    with pytest.raises(ValueError, match="rule must be a SchemeRule or None"):
        NAAPPruner("naap440")  # type: ignore[arg-type]


def test_extra_features_come_from_user_attributes(frame: pd.DataFrame) -> None:
    train = frame[frame.IsTest == 0].assign(Score=lambda f: np.log(f.NumParams))
    predictor = NAAPPredictor(9, extra_features=("Score",), **FAST).fit(train)
    rows = frame[frame.IsTest == 1].head(2)
    study = optuna.create_study(
        direction="maximize", pruner=NAAPPruner(SchemeRule(predictor, top_k=1))
    )
    objective = replay(rows)

    def with_score(trial: optuna.trial.Trial) -> float:
        if trial.number == 1:
            trial.set_user_attr("Score", float(np.log(rows.NumParams.iloc[1])))
        return objective(trial)

    study.optimize(with_score, n_trials=2)
    first, second = _decisions(study)
    assert first["reason"] == "the predictor needs the user attribute 'Score' (a number)"
    assert second["predicted"] is not None


def test_decides_at_a_decision_epoch_that_should_prune_skipped(
    frame: pd.DataFrame, predictor: NAAPPredictor
) -> None:
    """An objective that asks should_prune every 4th epoch still gets the epoch-9 decision
    (at epoch 12), and a pruned trial stays pruned."""
    row = frame[frame.IsTest == 1].sort_values("MaxAccuracy").iloc[0]  # the worst test scheme
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    study = optuna.create_study(
        direction="maximize", pruner=NAAPPruner(SchemeRule(predictor, reference_values=references))
    )
    trial = study.ask()
    record_scheme(trial, json.loads(row["Scheme"]))
    record_task(trial, "cifar10", epochs=90, recipe=Recipe())
    answers = {}
    for epoch in range(1, 17):
        report_epoch(
            trial,
            epoch,
            accuracy=row[f"e{epoch}Accuracy"],
            loss_mean=row[f"e{epoch}LossMean"],
            loss_median=row[f"e{epoch}LossMedian"],
        )
        if epoch % 4 == 0:
            answers[epoch] = trial.should_prune()
    assert answers == {4: False, 8: False, 12: True, 16: True}
    decision = study._storage.get_trial(trial._trial_id).user_attrs[DECISION_ATTR]
    assert decision["epoch"] == 9 and decision["verdict"] == "pruned"


# -- the task: NAAP-440's rule only on NAAP-440's task ------------------------------------------


def _task_objective(
    rows: pd.DataFrame, epochs: int, data: str | None, recipe: dict[str, Any] | None
) -> Any:
    """Replays the first ``epochs`` epochs of NAAP-440 rows, recording the task as
    CIFAR10Objective does (``naap:data``, ``naap:recipe``; None: not recorded)."""

    def objective(trial: optuna.trial.Trial) -> float:
        row = rows.iloc[trial.number % len(rows)]
        record_scheme(trial, json.loads(row["Scheme"]))
        if data is not None:
            trial.set_user_attr("naap:data", data)
        if recipe is not None:
            trial.set_user_attr("naap:recipe", recipe)
        for epoch in range(1, epochs + 1):
            report_epoch(
                trial,
                epoch,
                accuracy=float(row[f"e{epoch}Accuracy"]),
                loss_mean=float(row[f"e{epoch}LossMean"]),
                loss_median=float(row[f"e{epoch}LossMedian"]),
            )
            if trial.should_prune():
                raise optuna.TrialPruned()
        return max(float(row[f"e{e}Accuracy"]) for e in range(1, epochs + 1))

    return objective


@pytest.mark.parametrize(
    ("data", "recipe", "said"),
    [
        ("synthetic", {}, "data synthetic"),
        ("fashion-mnist", {}, "data fashion-mnist"),
        ("cifar10", {"epochs": 12}, "12 epochs"),
        ("cifar10", {"epochs": 90, "lr": 0.05}, "recipe lr=0.05"),
        ("cifar10", {"name": "own", "epochs": 90}, "recipe own"),
        (None, None, "task undeclared"),
    ],
)
def test_another_task_is_never_judged_on_naap440s_scale(
    frame: pd.DataFrame, predictor: NAAPPredictor, data: str, recipe: Any, said: str
) -> None:
    """Other data, fewer epochs, another recipe, a recipe of one's own, or no task declared:
    NAAP-440's rule is not applied; NAAP-440 is a prior calibrated on the study's own trials."""
    full = recipe if recipe is None or "name" in recipe else {**Recipe().to_json(), **recipe}
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    pruner = NAAPPruner(SchemeRule(predictor, reference_values=references))
    study = optuna.create_study(direction="maximize", pruner=pruner)
    # Low early curves (the 10 worst of the test rows): NAAP-440's rule would prune them all.
    rows = frame[frame.IsTest == 1].nsmallest(10, "e9Accuracy")
    study.optimize(_task_objective(rows, 12, data, full), n_trials=10)
    decisions = [
        t.user_attrs[DECISION_ATTR] for t in study.trials if DECISION_ATTR in t.user_attrs
    ]
    assert decisions
    for decision in decisions:
        assert decision["predictor"] != "naap440" and decision["mode"] == "transfer"
        assert said in decision["naap440"] and "not on this task's scale" in decision["naap440"]
        assert "packaged NAAP-440 data's architecture-only" in decision["naap440"]
    # Before min_trials completed trials, nothing more aggressive than MedianPruner's rule.
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) >= 5
    # The same rows, on NAAP-440's own task, are pruned by its rule.
    same = optuna.create_study(direction="maximize", pruner=pruner)
    same.optimize(_task_objective(rows, 90, "cifar10", Recipe().to_json()), n_trials=10)
    assert all(t.user_attrs[DECISION_ATTR]["predictor"] == "naap440" for t in same.trials)
    assert all(t.user_attrs[DECISION_ATTR]["mode"] == "naap440" for t in same.trials)
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in same.trials)


def test_from_frame_cuts_naap440_to_a_shorter_budget(frame: pd.DataFrame) -> None:
    """A 30-epoch study on NAAP-440's task: the references are 30-epoch finals (exact: the NAAP
    recipe's learning rate restarts every 3 epochs whatever the budget)."""
    from optuna_naap import Recipe
    from optuna_naap.data import truncate_curves

    train = frame[frame.IsTest == 0]
    pruner = NAAPPruner.from_frame(train, max_epochs=30, predictor_options=FAST)
    assert pruner.decision_epochs == [1, 3]
    cut = truncate_curves(train, 30)
    assert "e31Accuracy" not in cut.columns and "e30Accuracy" in cut.columns
    assert (cut.MaxAccuracy == train[[f"e{e}Accuracy" for e in range(1, 31)]].max(axis=1)).all()
    study = optuna.create_study(direction="maximize", pruner=pruner)
    rows = frame[frame.IsTest == 1]
    study.optimize(_task_objective(rows, 30, "cifar10", Recipe(epochs=30).to_json()), n_trials=20)
    threshold = sorted(cut.MaxAccuracy, reverse=True)[9]
    first = study.trials[0].user_attrs[DECISION_ATTR]
    assert first["predictor"] == "naap440"
    assert first["threshold"] == pytest.approx(threshold)  # the top-10 of 30-epoch finals
    assert threshold < sorted(train.MaxAccuracy, reverse=True)[9]
    with pytest.raises(ValueError, match="epochs must be an integer between 1 and 90"):
        truncate_curves(train, 91)


def test_a_scheme_outside_naap440s_space_is_judged_in_transfer_mode(
    frame: pd.DataFrame, predictor: NAAPPredictor
) -> None:
    """A 7x7 first block, on NAAP-440's own task: its predictors never saw such a scheme, so
    their absolute rule is not applied to it (NAAP-440's schemes still are)."""
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    rows = frame[frame.IsTest == 1].nsmallest(2, "e9Accuracy")
    wide = rows.copy()
    wide["Scheme"] = [
        json.dumps([{**json.loads(s)[0], "kernel_size": 7}, *json.loads(s)[1:]])
        for s in rows["Scheme"]
    ]
    study = optuna.create_study(
        direction="maximize", pruner=NAAPPruner(SchemeRule(predictor, reference_values=references))
    )
    study.optimize(_task_objective(pd.concat([rows, wide]), 12, "cifar10", Recipe().to_json()), 4)
    inside, outside = study.trials[:2], study.trials[2:]
    assert all(t.user_attrs[DECISION_ATTR]["predictor"] == "naap440" for t in inside)
    for trial in outside:
        decision = trial.user_attrs.get(DECISION_ATTR)
        assert decision is None or "outside NAAP-440's space" in decision["naap440"]
        assert trial.state == optuna.trial.TrialState.COMPLETE  # nothing to calibrate on yet


def test_default_pruner_uses_the_packaged_naap440_prior(frame: pd.DataFrame) -> None:
    """``NAAPPruner()`` in a study of schemes of the user's own task: the learner's model takes
    the packaged NAAP-440 prior as a feature, said in each record; transfer=False: the study's
    own trials alone."""
    from optuna_naap._transfer import PACKAGED_PRIOR

    rows = frame[frame.IsTest == 1].head(12)
    for transfer, mode in ((True, "transfer"), (False, "study")):
        pruner = NAAPPruner(transfer=transfer, learn=StudyLearner(time_share=None))
        study = optuna.create_study(direction="maximize", pruner=pruner)
        study.optimize(_task_objective(rows, 12, "my-images", None), n_trials=12)
        decisions = _decisions(study)
        assert decisions and all(d["mode"] == mode for d in decisions)
        learnt = [d for d in decisions if str(d["predictor"]).startswith("study")]
        assert learnt, "the learnt rule decided at least once"
        if transfer:
            assert all(d["prior"] == PACKAGED_PRIOR for d in learnt)
            assert all(d["predictor"].startswith("study + prior (") for d in learnt)
            assert "calibrated on this study's own completed trials" in decisions[0]["naap440"]
        else:
            assert all("prior" not in d for d in learnt)
            assert "judged by the study's own trials alone" in decisions[0]["naap440"]


def test_from_study_takes_the_data_its_trials_declare(frame: pd.DataFrame) -> None:
    """A pruner fit on a study of Fashion-MNIST runs is that task's knowledge: its rule judges
    Fashion-MNIST trials, and CIFAR-10 trials are another task."""
    rows = frame[frame.IsTest == 0].head(30)
    built = optuna.create_study(direction="maximize")
    built.optimize(_task_objective(rows, 12, "fashion-mnist", Recipe(epochs=12).to_json()), 30)
    pruner = NAAPPruner.from_study(built, max_epochs=12, predictor_options=FAST, top_k=5)
    assert pruner.rule is not None and pruner.rule.task.data == "fashion-mnist"
    study = optuna.create_study(direction="maximize", pruner=pruner)
    target = frame[frame.IsTest == 1].head(2)
    study.optimize(_task_objective(target, 12, "fashion-mnist", Recipe(epochs=12).to_json()), 1)
    study.optimize(_task_objective(target, 12, "cifar10", Recipe(epochs=12).to_json()), 1)
    own, other = (t.user_attrs.get(DECISION_ATTR) for t in study.trials)
    assert own is not None and own["predictor"] == "naap440"
    assert other is None or "data cifar10" in other["naap440"]
    mixed = optuna.create_study(direction="maximize")
    mixed.optimize(_task_objective(rows.head(5), 12, "cifar10", Recipe().to_json()), 5)
    mixed.optimize(_task_objective(rows.head(5), 12, "svhn", Recipe().to_json()), 5)
    with pytest.raises(ValueError, match=r"several data sets \(cifar10, svhn\): pass data="):
        NAAPPruner.from_study(mixed)


def test_the_pre_02_keywords_still_work_with_a_future_warning(
    frame: pd.DataFrame, predictor: NAAPPredictor
) -> None:
    """NAAPPruner(predictor, top_k=...) as before 0.2: the same rule, with a FutureWarning that
    says what to write instead; the rule's options are checked as before."""
    rows = frame[frame.IsTest == 1].head(6)
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    with pytest.warns(FutureWarning, match=r"use NAAPPruner\(SchemeRule\(predictor, \.\.\.\)\)"):
        old = NAAPPruner(predictor, top_k=5, reference_values=references)
    new = NAAPPruner(SchemeRule(predictor, top_k=5, reference_values=references))
    verdicts = []
    for pruner in (old, new):
        assert pruner.rule is not None and pruner.rule.top_k == 5
        study = optuna.create_study(direction="maximize", pruner=pruner)
        study.optimize(replay(rows), n_trials=len(rows))
        verdicts.append([t.state for t in study.trials])
    assert verdicts[0] == verdicts[1]
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="confidence=1.5"):
        NAAPPruner(confidence=1.5)
    with pytest.warns(FutureWarning):
        assert NAAPPruner(max_epochs=12).rule is None  # options without predictors: no rule
    with pytest.raises(ValueError, match="pass them to SchemeRule"):
        NAAPPruner(SchemeRule(predictor), top_k=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'topk'"):
        NAAPPruner(topk=3)


def test_at_most_four_constructor_arguments() -> None:
    import inspect

    parameters = list(inspect.signature(NAAPPruner).parameters.values())
    named = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
    assert [p.name for p in named] == ["rule", "learn", "transfer"]


def test_each_decision_epoch_can_have_its_own_bar(
    frame: pd.DataFrame, predictor: NAAPPredictor
) -> None:
    """top_k as a mapping: a wide bar at the early decision, a narrow one at the late one;
    each record names the bar it was judged against."""
    early = NAAPPredictor(1, **FAST).fit(frame[frame.IsTest == 0])
    references = frame.loc[frame.IsTest == 0, "MaxAccuracy"].to_numpy()
    rule = SchemeRule({1: early, 9: predictor}, top_k={1: 40, 9: 5}, reference_values=references)
    assert rule.bars == {1: 40, 9: 5}
    study = optuna.create_study(direction="maximize", pruner=NAAPPruner(rule))
    rows = frame[frame.IsTest == 1]
    study.optimize(replay(rows), n_trials=len(rows))
    decisions = _decisions(study)
    at = {e: [d for d in decisions if d["epoch"] == e] for e in (1, 9)}
    assert at[1] and all("top-40" in d["reason"] for d in at[1])
    assert at[9] and all("top-5" in d["reason"] for d in at[9])
    # The 5th best known final is higher than the 40th: the late bar is the narrower one.
    assert min(d["threshold"] for d in at[9]) > max(d["threshold"] for d in at[1])
    with pytest.raises(ValueError, match=r"top_k's decision epochs \[1\] must be"):
        SchemeRule({1: early, 9: predictor}, top_k={1: 20})
    with pytest.raises(ValueError, match=r"top_k\[9\] must be a positive integer"):
        SchemeRule({1: early, 9: predictor}, top_k={1: 20, 9: 0})
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        SchemeRule(predictor, top_k=2.5)  # type: ignore[arg-type]
