"""Replay benchmark: compare pruners on NAAP-440's recorded curves, without a GPU.

One trial replays one scheme: the study's sampler proposes a scheme with
:func:`~optuna_naap.suggest_scheme`, the replay runs the nearest scheme of the pool that has not
run yet (so every study visits each scheme of the pool once, in an order the sampler decides),
records it and reports its 90 recorded epochs through :func:`~optuna_naap.report_epoch`, asking
the pruner after each. The protocol splits the rows into disjoint folds: pruners that learn
(NAAPPruner) are fit on the other folds and replayed over one, for several seeds and samplers.

Figures per run: *compute* (epochs run / epochs of full training of the pool), *regret* (best
``MaxAccuracy`` of the pool minus the study's best value), *top-10 recall* (share of the pool's 10
best schemes that ran to completion) and wall time. ``MaxAccuracy`` is the best of 90 CIFAR-10
test-set evaluations, as in the NAAP-440 CSV: the replay returns it as the trial's value.

Example:
    .. code-block:: python

        from optuna_naap import load_naap440
        from optuna_naap.benchmark import run_benchmark, summarize

        frame = load_naap440()
        results = run_benchmark(
            frame, pruners=["nop", "median", "naap"], samplers=["random"], seeds=[0]
        )
        for row in summarize(results):
            print(row)
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._features import available_epochs
from optuna_naap._learner import StudyLearner
from optuna_naap._pareto import (
    EXACT_COSTS,
    ParetoObjectives,
    ParetoReferences,
    hypervolume,
    objective_values,
    pareto_mask,
    scheme_costs,
    should_prune,
)
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._pruner import TRANSFER_LEARNER, NAAPPruner, default_decision_epochs
from optuna_naap._recipe import Recipe
from optuna_naap._record import MODEL_ID_ATTR
from optuna_naap._scheme import scheme_to_dicts
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

__all__ = [
    "MODEL_ID_ATTR",
    "BenchmarkError",
    "AccuracyMedianPruner",
    "EarlyTopKPruner",
    "FitContext",
    "ReplayObjective",
    "ReplayResult",
    "builtin_pruners",
    "pareto_front",
    "plot_fronts",
    "plot_pareto",
    "replay_study",
    "run_benchmark",
    "summarize",
]

_SAMPLERS = ("random", "tpe", "nsga2")
#: The samplers run_benchmark uses by default: single-objective, multi-objective.
_DEFAULT_SAMPLERS = (("random", "tpe"), ("random", "tpe", "nsga2"))


class BenchmarkError(ValueError):
    """Benchmark input that cannot be used (one line says what and what to do)."""


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
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer, but got {k=}")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
            raise ValueError(f"epoch must be a positive integer, but got {epoch=}")
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
        hv_regret: Multi-objective: hypervolume missed, as a share of the true front's.
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
    hv_regret: float = math.nan

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitContext:
    """What a pruner factory gets: the rows it may learn from, and cached predictors.

    Attributes:
        rows: The rows the pruner may learn from (the other folds).
        max_epochs: Epochs of full training in the replay.
        predictor_options: Keyword arguments of the NAAPPredictors it fits.
        data: The data the replayed rows were trained on (their task's name).
        knowledge: Rows of another task to transfer from (NAAP-440 in a replay of other
            data), or ``None``: transfer pruners then take their prior from :attr:`rows`.
    """

    rows: pd.DataFrame
    max_epochs: int
    predictor_options: Mapping[str, Any] = field(default_factory=dict)
    data: str = NAAP440_DATA
    knowledge: pd.DataFrame | None = None
    _cache: dict[int, NAAPPredictor] = field(default_factory=dict, repr=False)
    _prior: list[NAAPPredictor] = field(default_factory=list, repr=False)

    def prior(self) -> NAAPPredictor:
        """The architecture-only NAAPPredictor (``epochs=0``) of transfer mode, fit on
        :attr:`knowledge` (else :attr:`rows`) once, then cached."""
        if not self._prior:
            rows = self.knowledge if self.knowledge is not None else self.rows
            self._prior.append(NAAPPredictor(0, **dict(self.predictor_options)).fit(rows))
        return self._prior[0]

    def predictor(self, epochs: int) -> NAAPPredictor:
        """A NAAPPredictor for ``epochs`` epochs fit on :attr:`rows` (fit once, then cached)."""
        if epochs not in self._cache:
            options = dict(self.predictor_options)
            self._cache[epochs] = NAAPPredictor(epochs, **options).fit(self.rows)
        return self._cache[epochs]

    def naap(self, epochs: Sequence[int] | None = None, **options: Any) -> NAAPPruner:
        """A NAAPPruner on the cached predictors, with the rows' finals as references
        (``epochs``: decision epochs, default as :meth:`NAAPPruner.from_frame`)."""
        if epochs is None:
            epochs = default_decision_epochs(self.max_epochs)
        options.setdefault("reference_values", self.rows["MaxAccuracy"].to_numpy("float64"))
        options.setdefault("pareto_references", ParetoReferences(self.rows))
        options.setdefault("data", self.data)
        return NAAPPruner(
            {e: self.predictor(e) for e in epochs}, max_epochs=self.max_epochs, **options
        )


PrunerFactory = Callable[[FitContext], BasePruner]


def builtin_pruners(
    max_epochs: int = 90, *, multi_objective: bool = False
) -> dict[str, PrunerFactory]:
    """The pruners the benchmark compares, by name, as factories of a :class:`FitContext`,
    with settings for ``max_epochs`` epochs of full training.

    Optuna's pruners with their usual settings for a 90-epoch budget (warm-up of 10% of
    training), the early top-k baseline, and NAAPPruner: ``naap`` (the defaults, predictors
    fit on the other folds), ``naap-transfer`` (``NAAPPruner()`` as on a new task: no
    predictors, the architecture-only prior of :meth:`FitContext.prior` calibrated on the
    study's own trials, with :data:`~optuna_naap._pruner.TRANSFER_LEARNER`'s settings),
    ``naap-scratch`` (``NAAPPruner(transfer=False)``: the study's own trials alone, the default
    StudyLearner); both without the learner's time budget, which a replay's microsecond trials
    would exhaust,
    ``naap-at-10%`` (one decision at 10%), ``naap-cautious`` (confidence 0.99) and
    ``naap-top10`` (top_k 10 with confidence 0.99).

    For multi-objective replays (``multi_objective=True``): ``nop`` (no pruning: Optuna's only
    option there), ``median-accuracy`` (a naive scalarised rule: MedianPruner's rule on the
    accuracy alone, :class:`AccuracyMedianPruner`), ``NAAPPruner`` (the Pareto rule with the
    defaults: decisions after epoch 1 and at 10%, confidence 0.9, reference rows k=3) and
    ``NAAPPruner-lean`` (decisions at 1, 10% and a third of training, confidence 0.8, k=5:
    less compute for a little front recall, chosen with ``benchmarks/tune_pareto.py``).
    """
    warmup = max(1, round(0.1 * max_epochs))
    from optuna import pruners as p

    if multi_objective:
        return {
            "nop": lambda c: p.NopPruner(),
            "median-accuracy": lambda c: AccuracyMedianPruner(n_warmup_steps=warmup),
            "NAAPPruner": lambda c: c.naap(),
            "NAAPPruner-lean": lambda c: c.naap(
                sorted({1, warmup, max(1, round(max_epochs / 3))}),
                confidence=0.8,
                pareto_references=ParetoReferences(c.rows, k=5),
            ),
        }

    return {
        "nop": lambda c: p.NopPruner(),
        "median": lambda c: p.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup),
        "percentile75": lambda c: p.PercentilePruner(75.0, n_warmup_steps=warmup),
        "successive-halving": lambda c: p.SuccessiveHalvingPruner(
            min_resource=warmup, reduction_factor=4
        ),
        "hyperband": lambda c: p.HyperbandPruner(
            min_resource=warmup, max_resource=max_epochs, reduction_factor=3
        ),
        "wilcoxon": lambda c: _quietly(p.WilcoxonPruner, p_threshold=0.1, n_startup_steps=warmup),
        "patient-median": lambda c: _quietly(
            p.PatientPruner, p.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup), patience=3
        ),
        "top10-after-1": lambda c: EarlyTopKPruner(10, epoch=1),
        "naap": lambda c: c.naap(),
        "naap-transfer": lambda c: NAAPPruner(
            max_epochs=max_epochs,
            # A replayed trial takes microseconds: the learner's time budget (a share of the
            # study's wall time) would starve its refits, which real training never does.
            learn=StudyLearner(time_share=None, **TRANSFER_LEARNER),
            transfer=c.prior(),
        ),
        "naap-scratch": lambda c: NAAPPruner(
            max_epochs=max_epochs, learn=StudyLearner(time_share=None), transfer=False
        ),
        "naap-at-10%": lambda c: c.naap((warmup,)),
        "naap-cautious": lambda c: c.naap(confidence=0.99),
        "naap-top10": lambda c: c.naap(top_k=10, confidence=0.99),
    }


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


def _quietly(cls: Callable[..., BasePruner], *args: Any, **kwargs: Any) -> BasePruner:
    # Optuna marks some pruners experimental; the benchmark knows, users need not be told.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(*args, **kwargs)


def _check_frame(frame: pd.DataFrame, what: str) -> None:
    missing = [c for c in ("ModelId", "MaxAccuracy", "Scheme") if c not in frame.columns]
    if missing:
        raise BenchmarkError(
            f"the {what} rows lack the column(s) {', '.join(missing)}; "
            "load them with optuna_naap.load_naap440 (schemes=True)"
        )


def _make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


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
) -> ReplayResult:
    """Replay every scheme of ``pool`` once under ``pruner`` and return the study's figures
    (named ``name``, default the pruner's class, for ``fold``; ``max_epochs``: epochs of full
    training replayed, default all the rows hold).

    ``sampler`` is ``"random"``, ``"tpe"``, ``"nsga2"`` (seeded with ``seed``) or any Optuna
    sampler, for example a :class:`~optuna_naap.NAAPSampler` with ``refine=`` or
    ``prescreen=``. The study is in memory unless ``storage`` (and ``study_name``) say where to
    keep it, for example to browse the replay in optuna-dashboard. ``first_top10`` of the
    result is the number of trials run until the first of the pool's 10 best schemes completed
    (NaN if none did).

    With ``objectives`` (``"accuracy,macs"``, ...) the study is multi-objective (accuracy
    against exact costs) and the result also holds ``front_recall`` (share of the pool's true
    Pareto-front schemes trained to completion) and ``hv_regret`` (the hypervolume the study's
    completed trials miss, as a share of the true front's; costs divided by the pool's largest,
    reference point at the pool's worst accuracy and largest costs).

    ``data`` names the data the pool was trained on; each trial declares it (with the NAAP
    recipe and ``max_epochs``), as :class:`ReplayObjective` says.
    """
    if objectives is not None and not isinstance(objectives, ParetoObjectives):
        objectives = ParetoObjectives.parse(objectives)
    if isinstance(sampler, optuna.samplers.BaseSampler):
        sampler_object, sampler = sampler, type(sampler).__name__
    elif sampler in _SAMPLERS:
        sampler_object = _make_sampler(sampler, seed)
    else:
        raise BenchmarkError(
            f"sampler must be one of {', '.join(_SAMPLERS)} or an Optuna sampler, "
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
        with warnings.catch_warnings():  # experimental in Optuna; the replay knows
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(objectives.names))
    started = time.perf_counter()
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
        **(_front_figures(objective, complete) if objectives is not None else {}),
    )


def _front_figures(
    objective: ReplayObjective, complete: Sequence[optuna.trial.FrozenTrial]
) -> dict[str, Any]:
    """front_recall and hv_regret of a multi-objective replay (see :func:`replay_study`)."""
    assert objective.objectives is not None
    accuracy, costs, front = objective.front()
    ids = objective.pool["ModelId"].astype(int).to_numpy()
    on_front = {int(ids[k]) for k, flag in enumerate(front) if flag}
    finished = {int(t.user_attrs[MODEL_ID_ATTR]) for t in complete}
    scale = costs.max(axis=0)
    reference = (float(accuracy.min()), [1.0] * costs.shape[1])
    true_hv = hypervolume(list(accuracy), (costs / scale).tolist(), reference=reference)
    found = [k for k in range(len(ids)) if int(ids[k]) in finished]
    found_hv = hypervolume(
        list(accuracy[found]), (costs[found] / scale).tolist(), reference=reference
    )
    return {
        "objectives": ",".join(objective.objectives.names),
        "front_recall": len(on_front & finished) / len(on_front),
        "hv_regret": (true_hv - found_hv) / true_hv if true_hv > 0 else 0.0,
    }


def run_benchmark(
    frame: pd.DataFrame,
    *,
    pruners: Iterable[str] | Mapping[str, PrunerFactory] | None = None,
    samplers: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    folds: int = 2,
    split_seed: int = 0,
    max_epochs: int | None = None,
    predictor_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    objectives: str | Sequence[str] | ParetoObjectives | None = None,
    data: str = NAAP440_DATA,
    knowledge: pd.DataFrame | None = None,
) -> list[ReplayResult]:
    """Run the replay protocol and return one :class:`ReplayResult` per study.

    The rows are shuffled (``split_seed``) into ``folds`` disjoint parts; for each part, the
    pruners are built from the other parts (:class:`FitContext`) and replayed over it, once per
    sampler and seed.

    Args:
        frame: NAAP-440 rows with their ``Scheme`` column (:func:`~optuna_naap.load_naap440`).
        pruners: Names of :func:`builtin_pruners`, or a mapping of names to factories
            (default: all built-in ones).
        samplers: Among ``"random"``, ``"tpe"`` and ``"nsga2"`` (default: random and tpe;
            with ``objectives``, all three).
        seeds: Seeds of the samplers and of the replay order.
        folds: Number of disjoint parts (at least 2).
        split_seed: Seed of the split.
        max_epochs: Epochs of full training replayed (default: all the rows hold).
        predictor_options: Keyword arguments of the NAAPPredictors fit per fold.
        progress: Show a rich progress bar.
        objectives: Multi-objective replays, e.g. ``"accuracy,macs"`` (see
            :func:`replay_study`); the pruners are then those of
            ``builtin_pruners(multi_objective=True)``.
        data: The data ``frame``'s rows were trained on (``"cifar10"`` for NAAP-440; the name
            each replayed trial declares, see :class:`ReplayObjective`).
        knowledge: Rows of another task to transfer from (for example NAAP-440 in a replay of
            Fashion-MNIST curves): the prior of ``naap-transfer``.

    Rows with more epochs than ``max_epochs`` are cut to it
    (:func:`~optuna_naap.data.truncate_curves`: ``MaxAccuracy`` becomes the best of the epochs
    kept), so a shorter budget is replayed and learnt as a run of that budget.
    """
    from optuna_naap._data import truncate_curves

    pareto = _parse_objectives(objectives)
    if not isinstance(data, str) or not data.strip():
        raise BenchmarkError(f"data must be the rows' data name, but got {data=}")
    if knowledge is not None:
        _check_frame(knowledge, "knowledge")
    if samplers is None:
        samplers = _DEFAULT_SAMPLERS[pareto is not None]
    _check_frame(frame, "data")
    have = available_epochs(frame.columns)
    max_epochs = have if max_epochs is None else max_epochs
    if isinstance(max_epochs, int) and 1 <= max_epochs < have:
        frame = truncate_curves(frame, max_epochs)
    if len(frame) < 20:
        raise BenchmarkError(
            f"the data has {len(frame)} rows; a replay needs at least 20 (2 folds of 10 rows)"
        )
    if not isinstance(folds, int) or folds < 2 or folds > len(frame) // 10:
        raise BenchmarkError(
            f"folds must be between 2 and {len(frame) // 10} (10 rows per fold at least), "
            f"but got {folds=}"
        )
    unknown = [s for s in samplers if s not in _SAMPLERS]
    if unknown or not samplers:
        raise BenchmarkError(
            f"samplers must be among {', '.join(_SAMPLERS)}, "
            f"but got {', '.join(samplers) or 'none'}"
        )
    if not seeds:
        raise BenchmarkError("give at least one seed")
    available = builtin_pruners(max_epochs, multi_objective=pareto is not None)
    if pruners is None:
        factories = available
    elif isinstance(pruners, Mapping):
        factories = dict(pruners)
    else:
        names = list(pruners)
        wrong = [n for n in names if n not in available]
        if wrong or not names:
            raise BenchmarkError(
                f"unknown pruner(s) {', '.join(wrong) or '(none given)'}; "
                f"choose among {', '.join(available)}"
            )
        factories = {n: available[n] for n in names}

    order = np.random.default_rng(split_seed).permutation(len(frame))
    parts = np.array_split(order, folds)
    runs = [
        (f, n, s, seed)
        for f in range(folds)
        for n in factories
        for s in samplers
        for seed in seeds
    ]
    results: list[ReplayResult] = []

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not progress,
    ) as bar:
        task = bar.add_task("replay studies", total=len(runs))
        contexts: dict[int, FitContext] = {}
        for fold, name, sampler, seed in runs:
            if fold not in contexts:
                fit_rows = frame.iloc[
                    np.concatenate([p for i, p in enumerate(parts) if i != fold])
                ]
                contexts = {
                    fold: FitContext(
                        fit_rows,
                        max_epochs,
                        dict(predictor_options or {}),
                        data=data,
                        knowledge=knowledge,
                    )
                }
            bar.update(task, description=f"fold {fold + 1}/{folds} {name} {sampler} seed {seed}")
            pruner = factories[name](contexts[fold])
            pool = frame.iloc[parts[fold]]
            results.append(
                replay_study(
                    pool,
                    pruner,
                    sampler=sampler,
                    seed=seed,
                    max_epochs=max_epochs,
                    name=name,
                    fold=fold,
                    objectives=pareto,
                    data=data,
                )
            )
            bar.advance(task)
    return results


def _parse_objectives(
    objectives: str | Sequence[str] | ParetoObjectives | None,
) -> ParetoObjectives | None:
    """``None`` for a single-objective replay (no objectives, or ``accuracy`` alone)."""
    if objectives is None or isinstance(objectives, ParetoObjectives):
        return objectives
    parts = objectives.split(",") if isinstance(objectives, str) else list(objectives)
    if [str(p).strip().lower() for p in parts] == ["accuracy"]:
        return None
    try:
        return ParetoObjectives.parse(parts)
    except ValueError as exc:
        raise BenchmarkError(str(exc)) from None


def summarize(results: Sequence[ReplayResult]) -> list[dict[str, Any]]:
    """Mean figures of ``results`` per pruner and sampler (over folds and seeds), in
    first-seen order."""
    groups: dict[tuple[str, str], list[ReplayResult]] = {}
    for r in results:
        groups.setdefault((r.pruner, r.sampler), []).append(r)
    summary = []
    for (pruner, sampler), rows in groups.items():
        summary.append(
            {
                "pruner": pruner,
                "sampler": sampler,
                "studies": len(rows),
                "compute": float(np.mean([r.compute for r in rows])),
                "regret": float(np.mean([r.regret for r in rows])),
                "max_regret": float(np.max([r.regret for r in rows])),
                "recall": float(np.mean([r.recall for r in rows])),
                "min_recall": float(np.min([r.recall for r in rows])),
                "wall_s": float(np.mean([r.wall_s for r in rows])),
                "first_top10": _mean_finite([r.first_top10 for r in rows]),
                "first_pruned": _mean_finite([r.first_pruned for r in rows]),
            }
        )
        if any(math.isfinite(r.front_recall) for r in rows):
            summary[-1].update(
                objectives=rows[0].objectives,
                front_recall=float(np.mean([r.front_recall for r in rows])),
                min_front_recall=float(np.min([r.front_recall for r in rows])),
                hv_regret=float(np.mean([r.hv_regret for r in rows])),
                max_hv_regret=float(np.max([r.hv_regret for r in rows])),
            )
    return summary


def _mean_finite(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def pareto_front(summary: Sequence[Mapping[str, Any]], *, key: str = "recall") -> list[bool]:
    """Whether each row of ``summary`` (:func:`summarize`) is Pareto-optimal: no other row of
    its sampler has less compute and more ``key`` (``recall``, or ``front_recall`` for
    multi-objective replays)."""
    flags = []
    for row in summary:
        dominated = any(
            other["compute"] <= row["compute"]
            and other[key] >= row[key]
            and (other["compute"] < row["compute"] or other[key] > row[key])
            for other in summary
            if other["sampler"] == row["sampler"]
        )
        flags.append(not dominated)
    return flags


def plot_pareto(
    summary: Sequence[Mapping[str, Any]], path: str, *, title: str = "NAAP-440 replay"
) -> None:
    """Write a PNG to ``path`` of compute (x) against top-10 recall (y), one marker per row of
    ``summary`` (:func:`summarize`), one panel per sampler titled ``title`` and the sampler."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samplers = list(dict.fromkeys(row["sampler"] for row in summary))
    pruners = list(dict.fromkeys(str(row["pruner"]) for row in summary))
    colours = plt.get_cmap("tab20")
    fig, axes = plt.subplots(1, len(samplers), figsize=(7 * len(samplers), 5.5), squeeze=False)
    front = pareto_front(summary)
    for ax, sampler in zip(axes[0], samplers, strict=True):
        rows = [(r, f) for r, f in zip(summary, front, strict=True) if r["sampler"] == sampler]
        for row, on_front in rows:
            name = str(row["pruner"])
            naap = name.startswith("naap")
            ax.scatter(
                100 * row["compute"],
                row["recall"],
                marker="*" if naap else "o",
                s=220 if naap else 70,
                color=colours(pruners.index(name) % 20),
                edgecolors="black" if on_front else "none",
                linewidths=1.5,
                label=name + (" (Pareto)" if on_front else ""),
                zorder=3,
            )
        ax.legend(loc="lower right", fontsize=8, ncol=2)
        ax.set_xscale("log")
        ax.set_xlabel("compute (% of training every scheme fully, log scale)")
        ax.set_ylabel("top-10 recall")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(True, alpha=0.3)
        ax.set_title(f"{title}, {sampler} sampler (outlined: Pareto front)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_fronts(
    frame: pd.DataFrame,
    objectives: str | Sequence[str] | ParetoObjectives,
    path: str,
    *,
    sampler: str = "random",
    seed: int = 0,
    split_seed: int = 0,
    max_epochs: int | None = None,
    predictor_options: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Replay fold 1 of 2 under the default multi-objective NAAPPruner (fit on fold 2) and
    write a PNG per cost: every scheme of the fold, the fold's true front, the trials trained
    to completion (the front the study found outlined) and the pruned trials at their predicted
    accuracy. Returns the study's figures.

    Args:
        frame: NAAP-440 rows with their ``Scheme`` column.
        objectives: The objectives (accuracy and at least one exact cost).
        path: Where to write the PNG.
        sampler: ``"random"``, ``"tpe"`` or ``"nsga2"``.
        seed: Seed of the sampler and of the replay order.
        split_seed: Seed of the split into two folds.
        max_epochs: Epochs replayed (default: all the rows hold).
        predictor_options: Keyword arguments of the NAAPPredictors fit on fold 2.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from optuna_naap._pareto import front_points

    pareto = (
        objectives if isinstance(objectives, ParetoObjectives) else _parse_objectives(objectives)
    )
    if pareto is None:
        raise BenchmarkError("plot_fronts needs a cost among the objectives")
    order = np.random.default_rng(split_seed).permutation(len(frame))
    fold, rest = np.array_split(order, 2)
    have = available_epochs(frame.columns)
    context = FitContext(frame.iloc[rest], max_epochs or have, dict(predictor_options or {}))
    storage = optuna.storages.InMemoryStorage()
    result = replay_study(
        frame.iloc[fold],
        context.naap(),
        sampler=sampler,
        seed=seed,
        max_epochs=max_epochs,
        name="NAAPPruner",
        objectives=pareto,
        storage=storage,
        study_name="fronts",
    )
    study = optuna.load_study(study_name="fronts", storage=storage)
    points = front_points(study, pareto)
    pool = ReplayObjective(frame.iloc[fold], objectives=pareto)
    accuracy, costs, true_front = pool.front()
    fig, axes = plt.subplots(
        1, len(pareto.costs), figsize=(8 * len(pareto.costs), 5.5), squeeze=False
    )
    for j, (ax, cost) in enumerate(zip(axes[0], pareto.costs, strict=True)):
        ax.scatter(costs[:, j], accuracy, s=12, color="0.8", label="schemes of the fold")
        on = np.array(true_front)
        line = np.argsort(costs[on, j])
        ax.step(
            costs[on, j][line],
            accuracy[on][line],
            where="post",
            color="black",
            linewidth=1,
            label="true front",
        )
        done = points["complete"]
        ax.scatter(
            [c[j] for _, _, c, _ in done],
            [a for _, a, _, _ in done],
            s=36,
            color="tab:blue",
            label=f"trained to completion ({len(done)})",
        )
        found = [p for p in done if p[3]]
        ax.scatter(
            [c[j] for _, _, c, _ in found],
            [a for _, a, _, _ in found],
            s=80,
            facecolors="none",
            edgecolors="tab:green",
            linewidths=1.5,
            label=f"front found ({len(found)})",
        )
        pruned = points["pruned"]
        ax.scatter(
            [c[j] for _, _, c, _ in pruned],
            [a for _, a, _, _ in pruned],
            s=14,
            marker="x",
            color="tab:red",
            alpha=0.6,
            label=f"pruned, at predicted accuracy ({len(pruned)})",
        )
        ax.set_xscale("log")
        ax.set_xlabel(f"{cost} (exact, log scale)")
        ax.set_ylabel("accuracy (MaxAccuracy for trained schemes)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(
            f"NAAP-440 fold 1/2, {sampler} sampler: compute {100 * result.compute:.1f}%, "
            f"front recall {result.front_recall:.2f}, HV regret {100 * result.hv_regret:.2f}%"
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return result
