"""Replaying recorded curves as an Optuna study: one trial runs the nearest scheme of the pool
that has not run yet and reports its recorded epochs, asking the pruner after each."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._features import available_epochs
from optuna_naap._front import hypervolume, pareto_mask
from optuna_naap._optuna import quiet_experimental
from optuna_naap._pareto import (
    EXACT_COSTS,
    ParetoObjectives,
    objective_values,
    scheme_costs,
)
from optuna_naap._recipe import Recipe
from optuna_naap._record import MODEL_ID_ATTR
from optuna_naap._sampler import BASE_SAMPLERS, base_sampler
from optuna_naap._scheme import scheme_to_dicts
from optuna_naap._should_prune import should_prune
from optuna_naap._space import SchemeSpace
from optuna_naap._task import NAAP440_DATA, record_task
from optuna_naap._trial import (
    ATTRIBUTES,
    accuracy_curve,
    record_scheme,
    report_epoch,
    screen_scheme,
    suggest_scheme,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BenchmarkError", "ReplayObjective", "ReplayResult", "replay_study"]


class BenchmarkError(ValueError):
    """Benchmark input that cannot be used (one line says what and what to do)."""


def _scheme_key(scheme: list[dict[str, Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(block[a] for a in ATTRIBUTES) for block in scheme)


def _distance(a: tuple[tuple[Any, ...], ...], b: tuple[tuple[Any, ...], ...]) -> int:
    """Options that differ, position by position (a missing block differs in all four)."""
    common = sum(x != y for p, q in zip(a, b, strict=False) for x, y in zip(p, q, strict=True))
    return common + len(ATTRIBUTES) * abs(len(a) - len(b))


class ReplayObjective:
    """An Optuna objective that replays recorded NAAP-440 curves instead of training.

    Each call lets the study's sampler propose a scheme (:func:`~optuna_naap.suggest_scheme`),
    runs the nearest scheme of ``pool`` that has not run yet (fewest differing options; ties in
    an order fixed by ``seed``), records it (``naap:scheme`` and ``naap:model_id``), reports its
    recorded epochs with :func:`~optuna_naap.report_epoch` and asks the pruner after each.
    It returns the row's ``MaxAccuracy``; with ``objectives`` (a multi-objective study), the
    row's ``MaxAccuracy`` and the scheme's exact costs, and it asks
    :func:`~optuna_naap.should_prune` (Optuna's ``trial.should_prune`` refuses such studies).
    One instance serves one study of at most ``len(pool)`` trials.

    Args:
        pool: Rows in the NAAP-440 layout with a ``Scheme`` column (:func:`load_naap440`).
        max_epochs: Epochs replayed (default: all the rows hold).
        space: The space the sampler proposes from (default: the NAAP-440 space).
        seed: Fixes the order among equally near schemes.
        objectives: The study's objectives, for a multi-objective replay (accuracy and exact
            costs only: the pool holds no measured cost).
        in_order: Replay the pool's rows in their order, one per trial, without asking the
            sampler (the first trial the first row): a fixed list of schemes, as in tests.
        data: The name of the data the pool's rows were trained on, declared on each trial
            with :func:`~optuna_naap.record_task` (with the NAAP recipe and ``max_epochs``),
            as a study that trains them would: ``"cifar10"`` for NAAP-440, ``None`` to declare
            nothing (an unknown task).
    """

    def __init__(
        self,
        pool: pd.DataFrame,
        *,
        max_epochs: int | None = None,
        space: SchemeSpace | None = None,
        seed: int = 0,
        objectives: ParetoObjectives | None = None,
        in_order: bool = False,
        data: str | None = NAAP440_DATA,
    ) -> None:
        _check_frame(pool, "pool")
        if data is not None and (not isinstance(data, str) or not data.strip()):
            raise BenchmarkError(f"data must be the rows' data name or None, but got {data=}")
        have = available_epochs(pool.columns)
        if max_epochs is None:
            max_epochs = have
        if not isinstance(max_epochs, int) or not 1 <= max_epochs <= have:
            raise BenchmarkError(
                f"max_epochs must be between 1 and the {have} epochs the rows hold, "
                f"but got {max_epochs=}"
            )
        order = (
            np.arange(len(pool))
            if in_order
            else np.random.default_rng(seed).permutation(len(pool))
        )
        self.pool = pool.iloc[order].reset_index(drop=True)
        self.in_order = in_order
        self.max_epochs = max_epochs
        self.space = space or SchemeSpace()
        self._schemes = [scheme_to_dicts(json.loads(s)) for s in self.pool["Scheme"]]
        self._keys = [_scheme_key(s) for s in self._schemes]
        self._curves = {
            metric: self.pool[[f"e{e}{metric}" for e in range(1, max_epochs + 1)]].to_numpy(
                "float64"
            )
            for metric in ("Accuracy", "LossMean", "LossMedian")
        }
        self._unrun = list(range(len(self.pool)))
        if objectives is not None:
            measured = [c for c in objectives.costs if c not in EXACT_COSTS]
            if measured:
                raise BenchmarkError(
                    f"a replay knows only exact costs ({', '.join(EXACT_COSTS)}), "
                    f"not {', '.join(measured)}"
                )
        self.objectives = objectives
        self.data = data
        self._recipe = Recipe(epochs=max_epochs)

    def _pick(self, proposal: list[dict[str, Any]]) -> int:
        if not self._unrun:
            raise BenchmarkError(
                f"every one of the {len(self.pool)} schemes of the pool has run; "
                "a replay study has at most len(pool) trials"
            )
        key = _scheme_key(proposal)
        best = min(self._unrun, key=lambda i: _distance(key, self._keys[i]))
        self._unrun.remove(best)
        return best

    def __call__(self, trial: optuna.trial.Trial) -> float | tuple[float, ...]:
        if self.in_order:
            if not self._unrun:
                self._pick([])  # says the pool is spent
            index = self._unrun.pop(0)
        else:
            index = self._pick(suggest_scheme(trial, self.space, screen=False))
        record_scheme(trial, self._schemes[index])
        if self.data is not None:
            record_task(trial, self.data, epochs=self.max_epochs, recipe=self._recipe)
        trial.set_user_attr(MODEL_ID_ATTR, int(self.pool["ModelId"].iloc[index]))
        # A NAAPSampler pre-screen judges the scheme that is replayed, not the proposal.
        screen_scheme(trial, self._schemes[index])
        for epoch in range(1, self.max_epochs + 1):
            report_epoch(
                trial,
                epoch,
                accuracy=float(self._curves["Accuracy"][index, epoch - 1]),
                loss_mean=float(self._curves["LossMean"][index, epoch - 1]),
                loss_median=float(self._curves["LossMedian"][index, epoch - 1]),
            )
            if should_prune(trial):
                raise optuna.TrialPruned()
        accuracy = float(self.pool["MaxAccuracy"].iloc[index])
        if self.objectives is None:
            return accuracy
        return objective_values(trial, accuracy, objectives=self.objectives)

    def front(self) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """The pool's accuracies, exact costs (rows in :attr:`pool` order) and true front."""
        if self.objectives is None:
            raise BenchmarkError("the pool's front needs objectives")
        accuracy = self.pool["MaxAccuracy"].to_numpy("float64")
        costs = np.array(
            [scheme_costs(s, self.objectives) for s in self._schemes], dtype="float64"
        )
        return accuracy, costs, pareto_mask(list(accuracy), costs.tolist())


@dataclass(frozen=True)
class ReplayResult:
    """The figures of one replay study.

    Attributes:
        pruner: The pruner's name.
        sampler: The sampler's name.
        fold: The replayed fold.
        seed: The seed of the sampler and of the replay order.
        trials: Trials run (one per scheme of the fold).
        pruned: Trials pruned.
        compute: Epochs run / epochs of training every scheme of the fold fully.
        regret: Best ``MaxAccuracy`` of the fold minus the study's best accuracy.
        recall: Share of the fold's 10 best schemes (by ``MaxAccuracy``) that completed.
        wall_s: Wall time of the study, in seconds.
        best: The study's best accuracy.
        first_top10: Trials run until the first of the fold's 10 best completed (NaN if none).
        first_pruned: Trials run until the first pruned one, the pruner's first saving (NaN
            if it pruned none).
        objectives: The study's objectives (``"accuracy"`` for a single-objective replay).
        front_recall: Multi-objective: share of the fold's true front that completed.
        front_recall_known: Multi-objective, with ``known`` rows (:func:`replay_study`): share
            of the fold's schemes on the front of the fold and the known rows together that
            completed (the front a user who knows those rows is after; NaN without them).
        hv_regret: Multi-objective: hypervolume missed, as a share of the true front's.
        hv_regret_half: Multi-objective: the same, of the trials completed among the study's
            first half (an anytime view: how soon the sampler and pruner find the front).
    """

    pruner: str
    sampler: str
    fold: int
    seed: int
    trials: int
    pruned: int
    compute: float
    regret: float
    recall: float
    wall_s: float
    best: float
    first_top10: float = math.nan
    first_pruned: float = math.nan
    objectives: str = "accuracy"
    front_recall: float = math.nan
    front_recall_known: float = math.nan
    hv_regret: float = math.nan
    hv_regret_half: float = math.nan

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check_frame(frame: pd.DataFrame, what: str) -> None:
    missing = [c for c in ("ModelId", "MaxAccuracy", "Scheme") if c not in frame.columns]
    if missing:
        raise BenchmarkError(
            f"the {what} rows lack the column(s) {', '.join(missing)}; "
            "load them with optuna_naap.load_naap440 (schemes=True)"
        )


def replay_study(
    pool: pd.DataFrame,
    pruner: BasePruner,
    *,
    sampler: str | optuna.samplers.BaseSampler = "random",
    seed: int = 0,
    max_epochs: int | None = None,
    name: str = "",
    fold: int = 0,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    objectives: str | Sequence[str] | ParetoObjectives | None = None,
    data: str | None = NAAP440_DATA,
    known: pd.DataFrame | None = None,
) -> ReplayResult:
    """Replay every scheme of ``pool`` once under ``pruner`` and return the study's figures
    (named ``name``, default the pruner's class, for ``fold``; ``max_epochs``: epochs of full
    training replayed, default all the rows hold).

    ``sampler`` is ``"random"``, ``"tpe"``, ``"nsga2"``
    (:class:`~optuna_naap.PruningAwareNSGAIISampler`), ``"nsga2-optuna"`` (Optuna's NSGA-II,
    which stalls under pruning; seeded with ``seed``) or any Optuna sampler, for example a
    :class:`~optuna_naap.NAAPSampler` with ``refine=`` or ``prescreen=``. The study is in
    memory unless ``storage`` (and ``study_name``) say where to keep it, for example to browse
    the replay in optuna-dashboard. ``first_top10`` of the result is the number of trials run
    until the first of the pool's 10 best schemes completed (NaN if none did).

    With ``objectives`` (``"accuracy,macs"``, ...) the study is multi-objective (accuracy
    against exact costs) and the result also holds ``front_recall`` (share of the pool's true
    Pareto-front schemes trained to completion) and ``hv_regret`` (the hypervolume the study's
    completed trials miss, as a share of the true front's; costs divided by the pool's largest,
    reference point at the pool's worst accuracy and largest costs).

    ``data`` names the data the pool was trained on; each trial declares it (with the NAAP
    recipe and ``max_epochs``), as :class:`ReplayObjective` says.

    ``known``: rows known beside the pool (in a multi-objective replay, the reference rows the
    pruner compares with, for example the other folds). A scheme of the pool's front that
    known rows beat at no more cost is off the front of everything known, and a pruner is
    right not to train it; ``front_recall_known`` counts only the pool's schemes on the front
    of the pool and ``known`` together.
    """
    if objectives is not None and not isinstance(objectives, ParetoObjectives):
        objectives = ParetoObjectives.parse(objectives)
    if isinstance(sampler, optuna.samplers.BaseSampler):
        sampler_object, sampler = sampler, type(sampler).__name__
    elif sampler in BASE_SAMPLERS:
        sampler_object = base_sampler(sampler, seed)
    else:
        raise BenchmarkError(
            f"sampler must be one of {', '.join(BASE_SAMPLERS)} or an Optuna sampler, "
            f"but got {sampler!r}"
        )
    objective = ReplayObjective(
        pool, max_epochs=max_epochs, seed=seed, objectives=objectives, data=data
    )
    # A fixed name: HyperbandPruner assigns brackets by hashing the study name.
    study = optuna.create_study(
        storage=storage,
        study_name=study_name or f"replay-{name or type(pruner).__name__}-{sampler}-{fold}-{seed}",
        directions=objectives.directions if objectives is not None else [StudyDirection.MAXIMIZE],
        sampler=sampler_object,
        pruner=pruner,
    )
    if objectives is not None:
        with quiet_experimental():  # experimental in Optuna; the replay knows
            study.set_metric_names(list(objectives.names))
    started = time.perf_counter()
    with warnings.catch_warnings():
        if sampler == "nsga2-optuna":  # the baseline that stalls under pruning, run knowingly
            warnings.filterwarnings("ignore", message=".* with completed trials only")
        study.optimize(objective, n_trials=len(objective.pool))
    wall = time.perf_counter() - started

    trials = study.get_trials(deepcopy=False)
    epochs_run = sum(len(accuracy_curve(t)) for t in trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    i = objectives.accuracy_index if objectives is not None else 0
    best = max((t.values[i] for t in complete if t.values), default=math.nan)
    top = set(objective.pool.nlargest(10, "MaxAccuracy")["ModelId"].astype(int))
    finished = {int(t.user_attrs[MODEL_ID_ATTR]) for t in complete}
    first_top10 = next(
        (t.number + 1 for t in complete if int(t.user_attrs[MODEL_ID_ATTR]) in top), math.nan
    )
    first_pruned = next((t.number + 1 for t in trials if t.state == TrialState.PRUNED), math.nan)
    first_half = [t for t in complete if t.number < len(trials) // 2]
    return ReplayResult(
        pruner=name or type(pruner).__name__,
        sampler=sampler,
        fold=fold,
        seed=seed,
        trials=len(trials),
        pruned=sum(t.state == TrialState.PRUNED for t in trials),
        compute=epochs_run / (len(objective.pool) * objective.max_epochs),
        regret=float(objective.pool["MaxAccuracy"].max() - best),
        recall=len(top & finished) / len(top),
        wall_s=wall,
        best=best,
        first_top10=float(first_top10),
        first_pruned=float(first_pruned),
        **(
            _front_figures(objective, complete, first_half, known)
            if objectives is not None
            else {}
        ),
    )


def _front_figures(
    objective: ReplayObjective,
    complete: Sequence[optuna.trial.FrozenTrial],
    first_half: Sequence[optuna.trial.FrozenTrial],
    known: pd.DataFrame | None,
) -> dict[str, Any]:
    """front_recall, front_recall_known, hv_regret and hv_regret_half of a multi-objective
    replay (see :func:`replay_study`): the true front and its hypervolume computed once for
    both sets."""
    assert objective.objectives is not None
    accuracy, costs, front = objective.front()
    ids = objective.pool["ModelId"].astype(int).to_numpy()
    on_front = {int(ids[k]) for k, flag in enumerate(front) if flag}
    on_known_front: set[int] = set()
    if known is not None and len(known):
        other, other_costs, _ = ReplayObjective(known, objectives=objective.objectives).front()
        both = pareto_mask([*accuracy, *other], np.concatenate([costs, other_costs]).tolist())
        on_known_front = {int(ids[k]) for k in range(len(ids)) if both[k]}
    scale = costs.max(axis=0)
    reference = (float(accuracy.min()), [1.0] * costs.shape[1])
    true_hv = hypervolume(list(accuracy), (costs / scale).tolist(), reference=reference)

    def regret(trials: Sequence[optuna.trial.FrozenTrial]) -> float:
        finished = {int(t.user_attrs[MODEL_ID_ATTR]) for t in trials}
        found = [k for k in range(len(ids)) if int(ids[k]) in finished]
        found_hv = hypervolume(
            list(accuracy[found]), (costs[found] / scale).tolist(), reference=reference
        )
        return (true_hv - found_hv) / true_hv if true_hv > 0 else 0.0

    finished = {int(t.user_attrs[MODEL_ID_ATTR]) for t in complete}
    return {
        "objectives": ",".join(objective.objectives.names),
        "front_recall": len(on_front & finished) / len(on_front),
        "front_recall_known": (
            len(on_known_front & finished) / len(on_known_front) if on_known_front else math.nan
        ),
        "hv_regret": regret(complete),
        "hv_regret_half": regret(first_half),
    }
