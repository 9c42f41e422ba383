"""NSGA-II under pruning: pruned trials fill its generations at their predicted values."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from options import FAST
from optuna.trial import TrialState

from optuna_naap import NAAPSampler, PruningAwareNSGAIISampler
from optuna_naap._nsga import predicted_values, warn_if_generations_stall
from optuna_naap._optuna import quietly, storage_of, study_id_of, trial_id_of
from optuna_naap._sampler import base_sampler
from optuna_naap.benchmark import FitContext, replay_study
from optuna_naap.pareto import ParetoObjectives
from optuna_naap.record import DECISION_ATTR

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

OBJECTIVES = ParetoObjectives.parse("accuracy,macs")
POPULATION = 10


def _replay(
    train: pd.DataFrame, sampler: optuna.samplers.BaseSampler
) -> tuple[optuna.study.Study, list[warnings.WarningMessage]]:
    order = np.random.default_rng(1).permutation(len(train))
    pool, rest = train.iloc[order[:80]], train.iloc[order[80:]]
    storage = optuna.storages.InMemoryStorage()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replay_study(
            pool,
            FitContext(rest, 90, dict(FAST)).naap(),
            sampler=sampler,
            objectives=OBJECTIVES,
            storage=storage,
            study_name="replay",
        )
    return optuna.load_study(study_name="replay", storage=storage), caught


def _generations(study: optuna.study.Study, sampler: type) -> list[int]:
    key = f"{sampler.__name__}:generation"
    return [t.system_attrs[key] for t in study.trials if key in t.system_attrs]


@pytest.fixture(scope="module")
def train(naap440_frame: pd.DataFrame) -> pd.DataFrame:
    return naap440_frame[naap440_frame.IsTest == 0].reset_index(drop=True)


def test_pruned_trials_fill_the_generations_that_optunas_nsga2_leaves_empty(
    train: pd.DataFrame,
) -> None:
    plain, plain_warnings = _replay(
        train, optuna.samplers.NSGAIISampler(population_size=POPULATION, seed=0)
    )
    aware, aware_warnings = _replay(
        train, PruningAwareNSGAIISampler(population_size=POPULATION, seed=0)
    )
    for study in (plain, aware):
        states = [t.state for t in study.trials]
        assert states.count(TrialState.PRUNED) > len(states) / 2  # the replay prunes most
    # Optuna's: a generation per POPULATION completed trials, whatever was pruned.
    completed = sum(t.state == TrialState.COMPLETE for t in plain.trials)
    assert max(_generations(plain, optuna.samplers.NSGAIISampler)) <= completed // POPULATION
    # Counting the pruned ones: a generation per POPULATION decided trials.
    decided = [t for t in aware.trials if t.state == TrialState.COMPLETE or _predicted(t)]
    assert max(_generations(aware, PruningAwareNSGAIISampler)) >= len(decided) // POPULATION - 1
    assert max(_generations(aware, PruningAwareNSGAIISampler)) > completed // POPULATION
    # The parents Optuna cached include pruned trials; the study's trials were not changed.
    cached = storage_of(aware).get_study_system_attrs(study_id_of(aware))
    prefix = "PruningAwareNSGAIISampler:parent"
    parents = {i for key, ids in cached.items() if key.startswith(prefix) for i in ids}
    pruned = {trial_id_of(t) for t in aware.trials if t.state == TrialState.PRUNED}
    assert parents & pruned
    assert all(t.values is None for t in aware.trials if t.state == TrialState.PRUNED)
    # Optuna's NSGA-II under pruning is warned about, once; the pruning-aware one is not.
    stall = [w for w in plain_warnings if "PruningAwareNSGAIISampler" in str(w.message)]
    assert len(stall) == 1
    assert not [w for w in aware_warnings if "PruningAwareNSGAIISampler" in str(w.message)]


def test_the_samplers_by_name() -> None:
    assert type(base_sampler("nsga2", 0)) is PruningAwareNSGAIISampler
    assert type(base_sampler("nsga2-optuna", 0)) is optuna.samplers.NSGAIISampler
    inner = PruningAwareNSGAIISampler(seed=0)
    assert NAAPSampler(inner).base_sampler is inner


def _predicted(trial: optuna.trial.FrozenTrial) -> bool:
    return predicted_values(trial, OBJECTIVES) is not None


def test_a_pruned_trial_counts_at_its_predicted_accuracy_and_its_costs(
    train: pd.DataFrame,
) -> None:
    study, _ = _replay(train, PruningAwareNSGAIISampler(population_size=POPULATION, seed=0))
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned
    for trial in pruned:
        decision = trial.user_attrs[DECISION_ATTR]
        values = predicted_values(trial, OBJECTIVES)
        assert values == (decision["predicted"], *decision["costs"])
        # In a study that lists the cost first, the accuracy goes second.
        swapped = predicted_values(trial, ParetoObjectives.parse("macs,accuracy"))
        assert swapped == (*decision["costs"], decision["predicted"])
    # A completed trial is not a prediction; nor is a decision copied from another trial.
    done = next(t for t in study.trials if t.state == TrialState.COMPLETE)
    assert predicted_values(done, OBJECTIVES) is None
    copied = optuna.trial.create_trial(
        state=TrialState.PRUNED, user_attrs={DECISION_ATTR: pruned[0].user_attrs[DECISION_ATTR]}
    )
    assert predicted_values(copied, OBJECTIVES) is None


def test_without_pruned_trials_it_samples_exactly_as_nsga2() -> None:
    def objective(trial: optuna.trial.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 0, 1)
        width = trial.suggest_categorical("width", [16, 32, 64])
        return x + width / 64, (1 - x) ** 2 + y

    params = []
    for sampler in (
        optuna.samplers.NSGAIISampler(population_size=6, seed=3),
        PruningAwareNSGAIISampler(population_size=6, seed=3),
    ):
        study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
        study.optimize(objective, n_trials=30)
        params.append([t.params for t in study.trials])
    assert params[0] == params[1]


@pytest.mark.parametrize(
    ("sampler", "warns"),
    [
        (optuna.samplers.NSGAIISampler(seed=0), True),
        (quietly(optuna.samplers.NSGAIIISampler, seed=0), True),  # experimental in Optuna
        (NAAPSampler(optuna.samplers.NSGAIISampler(seed=0)), True),  # the base is looked at
        (NAAPSampler(PruningAwareNSGAIISampler(seed=0)), False),
        (optuna.samplers.TPESampler(seed=0), False),
    ],
)
def test_the_stall_warning_names_the_fix_once_per_sampler(
    sampler: optuna.samplers.BaseSampler, warns: bool
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_generations_stall(sampler)
        warn_if_generations_stall(sampler)
    messages = [str(w.message) for w in caught]
    assert len(messages) == int(warns)
    assert all(
        "use optuna_naap.PruningAwareNSGAIISampler" in m.replace("Use", "use") for m in messages
    )
