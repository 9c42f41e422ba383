"""The pruners the benchmarks compare NAAPPruner with: Optuna's own by name (re-exported from
``optuna_naap._optuna_pruners``), two baselines of the replay (an early top-k rule,
MedianPruner's rule on the accuracy of a multi-objective study), and the oracle that knows
every replayed final (the floor)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._checks import check_int
from optuna_naap._optuna_pruners import optuna_pruners
from optuna_naap._pareto import ParetoObjectives, ParetoReferences, judge_pareto, trial_costs
from optuna_naap._record import MODEL_ID_ATTR, new_decision
from optuna_naap._trial import accuracy_curve, latest_epoch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AccuracyMedianPruner", "EarlyTopKPruner", "OraclePruner", "optuna_pruners"]


class EarlyTopKPruner(BasePruner):
    """Keep only trials whose value at ``epoch`` is among the ``k`` best seen at that epoch.

    The "train everything one epoch, keep the top k" baseline: at step ``epoch`` a trial is
    pruned unless its value ranks among the ``k`` best values any trial of the study reported
    at that step (itself included); it never prunes at other steps.

    Args:
        k: How many of the best early values survive.
        epoch: The step at which the cut is made.
    """

    def __init__(self, k: int = 10, *, epoch: int = 1) -> None:
        check_int("k", k, low=1)
        check_int("epoch", epoch, low=1)
        self._k = k
        self._epoch = epoch

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        if trial.last_step != self._epoch:
            return False
        value = trial.intermediate_values[self._epoch]
        if not math.isfinite(value):
            return True
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        better = 0
        for other in study.get_trials(deepcopy=False):
            if other.number == trial.number:
                continue
            seen = other.intermediate_values.get(self._epoch)
            if seen is not None and math.isfinite(seen) and sign * seen > sign * value:
                better += 1
        return better >= self._k


class AccuracyMedianPruner(BasePruner):
    """MedianPruner's rule on the first objective alone, in multi-objective studies too.

    The naive scalarised baseline of the multi-objective replay: a trial whose best
    intermediate value (the accuracy :func:`~optuna_naap.report_epoch` stores) is below the
    median of the completed trials' at the same step is pruned, whatever its costs.
    Asked through :func:`~optuna_naap.should_prune`.

    Args:
        n_startup_trials: Completed trials before any pruning.
        n_warmup_steps: Steps before any pruning.
    """

    #: :func:`~optuna_naap.should_prune` asks it in multi-objective studies.
    multi_objective = True

    def __init__(self, *, n_startup_trials: int = 5, n_warmup_steps: int = 0) -> None:
        self._n_startup_trials = n_startup_trials
        self._n_warmup_steps = n_warmup_steps

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        curve = accuracy_curve(trial)
        if not curve or max(curve) < self._n_warmup_steps:
            return False
        step = max(curve)
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(done) < self._n_startup_trials:
            return False
        others = [accuracy_curve(t).get(step) for t in done]
        finite = [v for v in others if v is not None and math.isfinite(v)]
        if not finite:
            return False
        best = max((v for v in curve.values() if math.isfinite(v)), default=-math.inf)
        return best < float(np.median(finite))


class OraclePruner(BasePruner):
    """The floor of the replay: a pruner that knows the final of every scheme it judges.

    Single objective: after the first epoch, a trial is pruned unless its scheme is among the
    ``top_k`` best finals of ``pool`` (every scheme is looked at for one epoch, only the best
    are trained: the least compute that keeps the top-``top_k`` recall at 1, in any order).
    Multi-objective (asked through :func:`~optuna_naap.should_prune`): after the first epoch,
    a trial is pruned when a completed trial of the study that costs no more ended better than
    the trial's own final, or ``references.k`` reference rows that cost no more did: the Pareto
    rule's protocol with a perfect predictor and no margin, so its compute depends on the
    order schemes arrive in, as NAAPPruner's does. No real pruner can know the finals; the
    oracle says how far each is from what knowing them would save.

    Args:
        pool: The replayed rows (``ModelId``, ``MaxAccuracy``); trials name their row with
            the ``naap:model_id`` user attribute (:class:`ReplayObjective` records it).
        top_k: Single objective: how many of the pool's best are trained.
        references: Multi-objective: the reference rows NAAPPruner is given too.
    """

    #: :func:`~optuna_naap.should_prune` asks it in multi-objective studies.
    multi_objective = True

    def __init__(
        self,
        pool: pd.DataFrame,
        *,
        top_k: int = 10,
        references: ParetoReferences | None = None,
    ) -> None:
        check_int("top_k", top_k, low=1)
        missing = {"ModelId", "MaxAccuracy"} - set(pool.columns)
        if missing:
            raise ValueError(f"the oracle's pool needs {', '.join(sorted(missing))} columns")
        ids = pool["ModelId"].astype(int)
        self._final = dict(zip(ids, pool["MaxAccuracy"].astype(float), strict=True))
        self._top = set(pool.nlargest(top_k, "MaxAccuracy")["ModelId"].astype(int))
        self._references = references

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        model = trial.user_attrs.get(MODEL_ID_ATTR)
        if not accuracy_curve(trial) or model is None or int(model) not in self._final:
            return False
        if len(study.directions) == 1:
            return int(model) not in self._top
        objectives = ParetoObjectives.of_study(study)
        costs = trial_costs(trial, objectives)
        if isinstance(costs, str):
            return False
        # NAAPPruner's own Pareto rule, given the true final as its prediction and no margin.
        decision = new_decision(int(latest_epoch(trial) or 0), trial=trial)
        judge_pareto(
            decision,
            study,
            objectives,
            costs,
            predicted=self._final[int(model)],
            std=0.0,
            margin=0.0,
            references=self._references,
        )
        return bool(decision["verdict"] == "pruned")
