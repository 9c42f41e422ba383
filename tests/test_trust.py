"""The measured trust of a study's steps (optuna_naap._trust) and how StudyLearner uses it.

The studies are real (create_study, optimize with report/should_prune); the objectives are
written the way Optuna's examples write theirs, with early values that rank the finals well,
badly, or backwards.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from optuna_naap import DECISION_ATTR, NAAPPruner, StudyLearner
from optuna_naap._trust import (
    TOP_SHARE,
    floor_trust,
    judged_trust,
    learnt_trusted,
    overruled_by_step,
    rank_trust,
    replay_learnt_rule,
    step_risk,
    untrusted_reason,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def crossing(trial: optuna.trial.Trial) -> float:
    """Curves that cross: the capacity that ends best learns slowest."""
    capacity = trial.suggest_float("capacity", 0.0, 1.0)
    rng = np.random.default_rng(trial.number)
    final = 0.5 + 0.4 * capacity + 0.01 * rng.standard_normal()
    tau = 1 + 15 * capacity
    value = 0.0
    for step in range(30):
        value = final * (1 - math.exp(-(step + 1) / tau))
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def steady(trial: optuna.trial.Trial) -> float:
    """Curves whose every step ranks the finals (the same shape, scaled)."""
    quality = trial.suggest_float("quality", 0.0, 1.0)
    value = 0.0
    for step in range(20):
        value = quality * (step + 1) / 20
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def completed(objective: object, n_trials: int, seed: int = 0) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(objective, n_trials=n_trials)  # type: ignore[arg-type]
    return study.get_trials(states=(TrialState.COMPLETE,))


def trust_of(done: list[optuna.trial.FrozenTrial], **options: object):  # type: ignore[no-untyped-def]
    settings = dict(
        percentile=50.0, top_k=3, maximize=True, risk=0.05, min_trials=10, default_warmup=4
    )
    settings.update(options)
    return floor_trust(done, **settings)  # type: ignore[arg-type]


def test_step_risk_is_the_chance_of_pruning_a_top_trial() -> None:
    # Values unrelated to the finals: the top trial is below the median half of the time.
    assert step_risk(0.0, n=99, n_best=10, percentile=50) == pytest.approx(0.5)
    assert step_risk(1.0, n=99, n_best=10, percentile=50) == 0.0
    risks = [step_risk(r, n=99, n_best=10, percentile=50) for r in (0.2, 0.5, 0.8, 0.95)]
    assert risks == sorted(risks, reverse=True)
    # A bar that prunes more (75th percentile) risks more at the same correlation.
    assert step_risk(0.8, n=99, n_best=10, percentile=75) > step_risk(
        0.8, n=99, n_best=10, percentile=50
    )
    assert step_risk(0.5, n=99, n_best=10, percentile=0) == 0.0  # a rule that prunes nothing


def test_rank_trust_bounds_the_correlation_below_with_few_trials() -> None:
    rng = np.random.default_rng(0)
    finals = rng.random(10)
    scores = finals + 0.1 * rng.standard_normal(10)
    # The same ten trials twenty times over (jittered apart): about the same correlation,
    # measured on twenty times the trials.
    jitter = 1e-6 * np.arange(200)
    many = rank_trust(
        np.tile(scores, 20) + jitter, np.tile(finals, 20) + jitter, top_k=3, percentile=50
    )
    few = rank_trust(scores, finals, top_k=3, percentile=50)
    assert 0.7 < many[0] < 1
    assert few[0] < many[0] and few[1] > many[1]  # fewer trials, less trust
    assert rank_trust(scores[:3], finals[:3], top_k=3, percentile=50) == (
        pytest.approx(math.nan, nan_ok=True),
        1.0,
    )


def test_steps_that_rank_the_finals_are_trusted_from_the_start() -> None:
    trust = trust_of(completed(steady, 40))
    assert trust.measured and trust.n_trials == 40
    assert trust.warmup == 0
    assert all(risk <= 0.05 for risk in trust.risk.values())


def test_crossing_curves_are_not_trusted_early() -> None:
    trust = trust_of(completed(crossing, 40))
    assert trust.measured
    # Early values rank the finals backwards: untrusted there, whatever the sample.
    assert trust.warmup is None or trust.warmup >= 10
    assert trust.rho[0] < 0 and trust.risk[0] > 0.5


def test_before_min_trials_the_warmup_is_conservative() -> None:
    done = completed(steady, 6)
    trust = trust_of(done)
    assert not trust.measured
    assert trust.warmup is None or trust.warmup >= 4  # the default warm-up at least
    assert trust_of(done, default_warmup=None).warmup is None


def test_learnt_rule_trust_replays_out_of_fold_predictions() -> None:
    finals = np.linspace(0.1, 1.0, 40)
    good = replay_learnt_rule(finals.copy(), finals, margin=0.05, top_k=3, maximize=True)
    assert good["top_k_lost"] == 0 and good["risk"] < 0.05 and good["pruned_share"] > 0.5
    backwards = replay_learnt_rule(
        finals[::-1].copy(), finals, margin=0.05, top_k=3, maximize=True
    )
    assert backwards["top_k_lost"] == 3 and backwards["risk"] > 0.5
    # Minimizing: the same, mirrored.
    mirrored = replay_learnt_rule(-finals, -finals, margin=0.05, top_k=3, maximize=False)
    assert mirrored["top_k_lost"] == 0 and mirrored["risk"] == pytest.approx(good["risk"])


def learnt_study(n_trials: int = 40) -> tuple[optuna.study.Study, StudyLearner]:
    learner = StudyLearner(risk=0.2)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=NAAPPruner(learn=learner),
    )
    study.optimize(steady, n_trials=n_trials)
    return study, learner


def test_the_learnt_rule_is_judged_at_the_share_pruning_the_trial_prunes() -> None:
    study, learner = learnt_study()
    step, model = sorted(learner.models(study).items())[0]
    n = model.n_train_trials_
    oof = model.train_values_ - model.cv_residuals_
    # A replay that prunes none of the completed trials passed any model, one whose
    # out-of-fold predictions rank the finals backwards too: no longer.
    replay = {"trials": n, "pruned_share": 0.0, "top_k_lost": 0, "rho_low": -0.5, "risk": 0.0}
    backwards = judged_trust(replay, model, float(oof.min()) - 1, top_k=3, maximize=True)
    assert replay["risk"] <= 0.2  # the replay alone passed it
    assert not learnt_trusted(backwards, risk=0.2, top_k=3)
    assert "do not rank their finals" in str(untrusted_reason(backwards, step, risk=0.2, top_k=3))
    # Ranking well: a trial predicted below every completed one is pruned at the smallest
    # share; one predicted above them all would prune them all, and is not judged trusted.
    ranking = {**replay, "rho_low": 0.9}
    low = judged_trust(ranking, model, float(oof.min()) - 1, top_k=3, maximize=True)
    high = judged_trust(ranking, model, float(oof.max()) + 1, top_k=3, maximize=True)
    n_best = max(3, math.ceil(TOP_SHARE * n))
    assert low["trial_share"] == pytest.approx(1 / (n + 1), abs=1e-4)
    assert low["trial_risk"] == pytest.approx(
        step_risk(0.9, n=n, n_best=n_best, percentile=100 / (n + 1)), abs=1e-4
    )
    assert learnt_trusted(low, risk=0.2, top_k=3)
    assert high["trial_share"] == 1.0 and not learnt_trusted(high, risk=0.2, top_k=3)
    assert "pruning this one prunes 100%" in str(untrusted_reason(high, step, risk=0.2, top_k=3))
    # Minimizing reads the predictions the other way round.
    mirrored = judged_trust(ranking, model, float(oof.min()) - 1, top_k=3, maximize=False)
    assert mirrored["trial_share"] == 1.0


def test_every_learnt_pruning_is_within_its_risk_for_the_trial_it_prunes() -> None:
    study, _ = learnt_study(60)
    learnt = [
        t.user_attrs[DECISION_ATTR]
        for t in study.trials
        if t.state == TrialState.PRUNED
        and str(t.user_attrs[DECISION_ATTR].get("predictor", "")).startswith("study")
    ]
    assert learnt, "the learnt rule pruned"
    for decision in learnt:
        trust = decision["trust"]
        n = trust["trials"]
        at = 100 * max(trust["pruned_share"], trust["trial_share"])
        n_best = min(n - 1, max(3, math.ceil(TOP_SHARE * n)))
        assert trust["rho_low"] > 0
        assert trust["trial_risk"] <= 0.2
        assert trust["trial_risk"] == pytest.approx(
            step_risk(trust["rho_low"], n=n, n_best=n_best, percentile=at), abs=1e-4
        )


def floor_decisions(study: optuna.study.Study) -> list[dict[str, object]]:
    return [
        t.user_attrs[DECISION_ATTR]
        for t in study.trials
        if t.state == TrialState.PRUNED
        and t.user_attrs.get(DECISION_ATTR, {}).get("predictor") == "median rule"
    ]


def test_the_floor_waits_for_the_steps_it_can_trust_and_says_so() -> None:
    median = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(),
    )
    median.optimize(crossing, n_trials=40)
    naap = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=NAAPPruner(learn=StudyLearner(risk=0.05)),
    )
    naap.optimize(crossing, n_trials=40)
    nop = completed(crossing, 40)
    best = max(t.value for t in nop if t.value is not None)
    # MedianPruner prunes the slow starters, the best among them; NAAPPruner keeps the best.
    assert median.best_value < best - 0.01
    assert naap.best_value == pytest.approx(best)
    for decision in floor_decisions(naap):
        trust = decision["trust"]
        assert isinstance(trust, dict) and trust["warmup"] is not None
        assert decision["step"] >= trust["warmup"]  # type: ignore[operator]
        assert "trusted from step" in str(decision["reason"]) or "warm-up" in str(
            decision["reason"]
        )


def test_risk_none_is_the_floor_from_the_first_step() -> None:
    naap = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=NAAPPruner(learn=StudyLearner(risk=None)),
    )
    naap.optimize(crossing, n_trials=40)
    steps = [d["step"] for d in floor_decisions(naap)]
    assert steps and min(steps) < 5  # type: ignore[type-var]
    assert all("trust" not in d for d in floor_decisions(naap))


@pytest.mark.parametrize("risk", [-0.1, 1.0, "0.05"])
def test_risk_is_validated(risk: object) -> None:
    with pytest.raises(ValueError, match="risk must be in"):
        StudyLearner(risk=risk)  # type: ignore[arg-type]


def test_steps_every_trial_reported_are_measured_as_each_step_alone() -> None:
    # Steps every trial reported are measured in one pass; one trial that skipped step 7 makes
    # that step's rows differ. Either way each step's figures are rank_trust's on its rows.
    done = completed(crossing, 30)
    skipped = done[0]
    skipped.intermediate_values = {s: v for s, v in skipped.intermediate_values.items() if s != 7}
    trust = trust_of(done)
    finals = np.array([t.value for t in done])
    for step in (0, 7, 15, 29):
        rows = [i for i, t in enumerate(done) if step in t.intermediate_values]
        best = np.array(
            [max(v for s, v in done[i].intermediate_values.items() if s <= step) for i in rows]
        )
        low, risk = rank_trust(best, finals[rows], top_k=3, percentile=50)
        assert trust.rho[step] == pytest.approx(low)
        assert trust.risk[step] == pytest.approx(risk)
    assert (
        len(rows) == 30
        and len([i for i, t in enumerate(done) if 7 in t.intermediate_values]) == 29
    )


def test_a_trial_among_the_best_at_its_step_overrules_the_learnt_rule() -> None:
    done = completed(steady, 12)
    at_step = sorted((t.intermediate_values[9] for t in done), reverse=True)
    for value, expect in ((at_step[2], "kept"), (at_step[3], "pruned")):
        frozen = optuna.trial.create_trial(
            state=TrialState.RUNNING, intermediate_values={s: value for s in range(10)}
        )
        decision = {"verdict": "pruned", "reason": "at step 9: predicted final ..."}
        overruled_by_step(decision, frozen, 9, done, top_k=3, sign=1.0)
        assert decision["verdict"] == expect
        assert ("does not overrule" in decision["reason"]) == (expect == "kept")
    # Minimizing, the same values read the other way round; fewer completed trials than top_k
    # at the step: no evidence to overrule with.
    decision = {"verdict": "pruned", "reason": "..."}
    overruled_by_step(decision, frozen, 9, done, top_k=3, sign=-1.0)
    assert decision["verdict"] == "pruned"
    overruled_by_step(decision, frozen, 9, done[:2], top_k=3, sign=1.0)
    assert decision["verdict"] == "pruned"


def test_a_completed_trial_without_a_number_at_the_step_is_not_ranked() -> None:
    done = completed(steady, 12)
    third = sorted((t.intermediate_values[9] for t in done), reverse=True)[2]
    nan = optuna.trial.create_trial(value=0.0, intermediate_values={9: math.nan})
    frozen = optuna.trial.create_trial(
        state=TrialState.RUNNING, intermediate_values={s: third for s in range(10)}
    )
    for others in ([nan, *done], [*done, nan]):
        decision = {"verdict": "pruned", "reason": "..."}
        overruled_by_step(decision, frozen, 9, others, top_k=3, sign=1.0)
        assert decision["verdict"] == "kept"


def test_normal_scores_are_scipys_van_der_waerden_scores() -> None:
    """The numpy scores equal ``ndtri(rankdata(x) / (n + 1))`` (ties averaged, a column with a
    NaN all NaN), for one column and several."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    from optuna_naap._trust import _normal_scores

    rng = np.random.default_rng(0)
    for n in (4, 5, 37, 250):
        x = rng.normal(size=(n, 3))
        x[:, 1] = np.round(x[:, 1], 1)  # ties
        x[: n // 2, 2] = 0.25  # a long tie
        want = ndtri(rankdata(x, axis=0) / (n + 1))
        np.testing.assert_allclose(_normal_scores(x), want, rtol=0, atol=1e-14)
        np.testing.assert_allclose(_normal_scores(x[:, 1]), want[:, 1], rtol=0, atol=1e-14)
    x[0, 0] = np.nan
    scores = _normal_scores(x)
    assert np.isnan(scores[:, 0]).all() and not np.isnan(scores[:, 1:]).any()


def test_the_drop_in_on_a_plain_objective_imports_neither_scipy_nor_catboost() -> None:
    """NAAPPruner() measuring its trust and fitting its learnt rule on an objective of its own
    (no schemes) pays for no heavy import: scipy.stats alone cost a process's first decision
    0.6-1.9 s, CatBoost 0.2-0.75 s, on the ridge model's path."""
    import subprocess
    import sys

    script = """
import math, sys, optuna
from optuna_naap import DECISION_ATTR, NAAPPruner
optuna.logging.set_verbosity(optuna.logging.WARNING)
def objective(trial):
    x = trial.suggest_float("x", -3, 3)
    for step in range(20):
        trial.report((x - 1) ** 2 * (1 + math.exp(-step)), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return (x - 1) ** 2
study = optuna.create_study(pruner=NAAPPruner(), sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(objective, n_trials=40)
learnt = [t for t in study.trials if "study" in str(t.user_attrs.get(DECISION_ATTR, {}))]
heavy = [m for m in ("scipy.stats", "scipy.special", "catboost", "pandas") if m in sys.modules]
print(len(learnt), heavy)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split(maxsplit=1)
    assert int(out[0]) > 0, "the learnt rule decided (its trust was measured)"
    assert out[1].strip() == "[]"


def converging(trial: optuna.trial.Trial) -> float:
    """Noisy curves that settle on their final: the early steps rank the finals loosely, too
    loosely for the median, well enough for the bottom quarter. The parameter says nothing,
    so the curves alone rank the trials."""
    trial.suggest_float("x", 0.0, 1.0)
    rng = np.random.default_rng(trial.number)
    quality, noise = rng.random(), rng.standard_normal(30)
    value = 0.0
    for step in range(30):
        value = quality + 0.35 * (1 - step / 30) * noise[step]
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return quality


def test_the_bottom_quarter_is_trusted_before_the_median() -> None:
    done = completed(converging, 60)
    trust = trust_of(done, risk=0.1)
    assert trust.measured and trust.early_share == 25.0
    assert trust.early_warmup is not None and trust.early_risk is not None
    assert trust.warmup is None or trust.early_warmup < trust.warmup
    # The same correlation against a lower bar: never more risk than the median's.
    assert all(trust.early_risk[s] <= trust.risk[s] + 1e-12 for s in trust.risk)
    assert all(trust.early_risk[s] <= 0.1 for s in trust.risk if s >= trust.early_warmup)
    assert trust.early_risk[trust.early_warmup - 1] > 0.1 if trust.early_warmup > 0 else True
    # A floor that already prunes no more than a quarter, or the switch off: no lenient floor.
    assert trust_of(done, risk=0.1, percentile=25.0).early_warmup is None


def test_without_the_lenient_floor_the_trust_is_the_medians_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import optuna_naap._trust as trust_module

    done = completed(converging, 60)
    with_early = trust_of(done, risk=0.1)
    monkeypatch.setattr(trust_module, "EARLY_SHARE", None)
    alone = trust_of(done, risk=0.1)
    assert alone.early_warmup is None and alone.early_risk is None
    assert (alone.warmup, alone.rho, alone.risk) == (
        with_early.warmup,
        with_early.rho,
        with_early.risk,
    )


def test_the_lenient_floor_prunes_only_the_worst_quarter_within_its_risk() -> None:
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=NAAPPruner(learn=StudyLearner(time_share=None)),  # the default risk, 0.075
    )
    study.optimize(converging, n_trials=100)
    lenient = [
        (t, t.user_attrs[DECISION_ATTR])
        for t in study.trials
        if t.state == TrialState.PRUNED
        and t.user_attrs.get(DECISION_ATTR, {}).get("predictor") == "bottom-25% rule"
    ]
    assert len(lenient) >= 10
    for trial, decision in lenient:
        trust, step = decision["trust"], int(decision["step"])
        assert trust["early_share"] == 25.0 and trust["early_risk"] <= 0.075
        assert trust["early_warmup"] <= step
        assert trust["warmup"] is None or step < trust["warmup"]
        assert "the worst 25% are pruned from step" in decision["reason"]
        # Its bar is the lower quartile (numpy's) of the trials completed before it.
        before = [
            t.intermediate_values[step]
            for t in study.trials
            if t.state == TrialState.COMPLETE
            and t.datetime_complete is not None
            and t.datetime_complete < trial.datetime_complete
        ]
        assert f"worst-25% bar {decision['threshold']:.4f} of {len(before)} completed" in str(
            decision["reason"]
        )
        assert decision["threshold"] == pytest.approx(np.percentile(before, 25))
        best = max(v for s, v in trial.intermediate_values.items() if s <= step)
        assert best < decision["threshold"]
