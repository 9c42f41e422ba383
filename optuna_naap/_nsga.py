"""NSGA-II under pruning: a pruned trial counts in its generation at the values predicted when
it was pruned.

Optuna's ``NSGAIISampler`` builds every generation from COMPLETE trials only. Under a pruner
that stops three trials in four, its first generation (50 trials by default) fills only after
about 200 trials, and in a study shorter than that it samples at random all along, silently:
in the NAAP-440 replay its figures equalled the Random sampler's to the last digit.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from optuna_naap._optuna import storage_of, trial_id_of
from optuna_naap._pareto import ParetoObjectives
from optuna_naap._record import bound_decision

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = ["PruningAwareNSGAIISampler", "predicted_values", "warn_if_generations_stall"]

#: Samplers warned about already (once each).
_WARNED: weakref.WeakSet[optuna.samplers.BaseSampler] = weakref.WeakSet()


def warn_if_generations_stall(sampler: optuna.samplers.BaseSampler) -> None:
    """Warn once per sampler when ``sampler`` (or the base of a NAAPSampler) is Optuna's
    NSGA-II or NSGA-III, whose generations count completed trials only: a pruner that stops
    most trials leaves it sampling at random."""
    inner = getattr(sampler, "base_sampler", sampler)
    genetic = (optuna.samplers.NSGAIISampler, optuna.samplers.NSGAIIISampler)
    if not isinstance(inner, genetic) or getattr(inner, "counts_pruned_trials", False):
        return
    if inner in _WARNED:
        return
    _WARNED.add(inner)
    warnings.warn(
        f"{type(inner).__name__} fills its generations with completed trials only: under "
        "pruning it stays on its random first generation. Use "
        "optuna_naap.PruningAwareNSGAIISampler, which counts pruned trials at their "
        "predicted values",
        stacklevel=4,
    )


def predicted_values(
    trial: FrozenTrial, objectives: ParetoObjectives | None
) -> tuple[float, ...] | None:
    """The values a pruned ``trial`` was predicted to end at, in the study's order, or ``None``.

    From the decision that pruned it (``naap:decision``): the predicted final and, in a
    multi-objective study (``objectives``), the exact or measured costs it recorded. A trial
    pruned without a prediction (by another pruner, as a duplicate) has none.
    """
    decision = bound_decision(trial)
    if decision is None or decision.get("verdict") != "pruned":
        return None
    predicted = decision.get("predicted")
    if not isinstance(predicted, (int, float)) or not math.isfinite(predicted):
        return None
    if objectives is None:
        return (float(predicted),)
    costs = decision.get("costs")
    if not isinstance(costs, list) or len(costs) != len(objectives.costs):
        return None
    values = [float(c) for c in costs]
    values.insert(objectives.accuracy_index, float(predicted))
    return tuple(values)


def _as_member(trial: FrozenTrial, objectives: ParetoObjectives | None) -> FrozenTrial | None:
    if trial.state == TrialState.COMPLETE:
        return trial
    values = predicted_values(trial, objectives) if trial.state == TrialState.PRUNED else None
    if values is None:
        return None
    member = copy.copy(trial)
    member.state = TrialState.COMPLETE
    member.values = list(values)
    return member


class PruningAwareNSGAIISampler(optuna.samplers.NSGAIISampler):
    """Optuna's NSGA-II sampler that counts pruned trials in its generations, at the values
    their pruning decision predicted.

    ``NSGAIISampler`` fills a generation with completed trials only, so under pruning it never
    leaves its random first generation. Here a trial pruned by :class:`~optuna_naap.NAAPPruner`
    (or the pre-screen) is a member of its generation as if it had completed at its predicted
    accuracy and its known costs: elite selection and crossover see the whole generation, and a
    new generation starts every ``population_size`` decided trials. Trials pruned without a
    prediction, failed ones and running ones do not count, as in NSGA-II. Without pruned
    trials it behaves exactly as ``NSGAIISampler``. The study's own trials are never changed:
    pruned trials stay PRUNED, only the sampler's view of them carries the prediction.

    Takes ``NSGAIISampler``'s arguments (``population_size``, ``seed``, ``constraints_func``,
    ...). ``optuna-naap search --sampler nsga2`` uses it.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import (
                NAAPPruner,
                NAAPSampler,
                PruningAwareNSGAIISampler,
                suggest_scheme,
            )
            from optuna_naap.pareto import objective_values

            def objective(trial):
                scheme = suggest_scheme(trial)
                return objective_values(trial, 0.5 + 0.01 * len(scheme))

            sampler = NAAPSampler(PruningAwareNSGAIISampler(population_size=10, seed=0))
            study = optuna.create_study(
                directions=["maximize", "minimize"], sampler=sampler, pruner=NAAPPruner()
            )
            study.set_metric_names(["accuracy", "macs"])
            study.optimize(objective, n_trials=25)
    """

    #: What NAAPPruner checks before warning that NSGA-II stalls under pruning.
    counts_pruned_trials = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._space_with_pruned = IntersectionSearchSpace(include_pruned=True)

    @staticmethod
    def _view(study: optuna.study.Study) -> Callable[[FrozenTrial], FrozenTrial | None]:
        """How the sampler sees a trial of ``study``: a completed one as it is, a pruned one at
        its predicted values (a copy), any other as ``None``."""
        objectives = None
        if len(study.directions) > 1:
            try:
                objectives = ParetoObjectives.of_study(study)
            except ValueError:  # unnamed objectives: no prediction can be placed among values
                return lambda t: t if t.state == TrialState.COMPLETE else None
        return functools.partial(_as_member, objectives=objectives)

    def _members(self, study: optuna.study.Study) -> list[FrozenTrial]:
        view = self._view(study)
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        return [m for t in trials if (m := view(t)) is not None]

    def infer_relative_search_space(
        self, study: optuna.study.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        # Pruned trials too: with most trials pruned, the completed ones alone would narrow
        # the space crossover works on to what the few completed trials share.
        return {
            name: distribution
            for name, distribution in self._space_with_pruned.calculate(study).items()
            if not distribution.single()  # NSGA-II samples single values independently
        }

    def get_trial_generation(self, study: optuna.study.Study, trial: FrozenTrial) -> int:
        key = self._get_generation_key()
        generation = trial.system_attrs.get(key)
        if generation is not None:
            return int(generation)
        latest, count = 0, 0
        for member in self._members(study):
            g = member.system_attrs.get(key, -1)
            if g > latest:
                latest, count = g, 1
            elif g == latest:
                count += 1
        size = self.population_size
        assert size is not None  # NSGAIISampler always sets it
        generation = latest if count < size else latest + 1
        storage_of(study).set_trial_system_attr(trial_id_of(trial), key, generation)
        return generation

    def get_population(self, study: optuna.study.Study, generation: int) -> list[FrozenTrial]:
        key = self._get_generation_key()
        return [t for t in self._members(study) if t.system_attrs.get(key) == generation]

    def get_parent_population(
        self, study: optuna.study.Study, generation: int
    ) -> list[FrozenTrial]:
        # Optuna caches the parents' ids and reloads them as stored: pruned ones come back
        # without values and take their predicted ones again here.
        view = self._view(study)
        parents = super().get_parent_population(study, generation)
        return [m for t in parents if (m := view(t)) is not None]
