"""The replay protocol: folds of recorded rows, the pruners by name as factories of what they
may learn from, and run_benchmark over pruners, samplers and seeds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.pruners import BasePruner

from optuna_naap._data import truncate_curves
from optuna_naap._features import available_epochs
from optuna_naap._learner import StudyLearner
from optuna_naap._pareto import (
    ParetoObjectives,
    ParetoReferences,
)
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._pruner import NAAPPruner
from optuna_naap._rule import WIDE_BAR, SchemeRule, default_decision_epochs
from optuna_naap._sampler import BASE_SAMPLERS
from optuna_naap._task import NAAP440_DATA
from optuna_naap._transfer import TRANSFER_LEARNER
from optuna_naap.benchmark._baselines import (
    AccuracyMedianPruner,
    EarlyTopKPruner,
    OraclePruner,
    optuna_pruners,
)
from optuna_naap.benchmark._replay import (
    BenchmarkError,
    ReplayResult,
    _check_frame,
    replay_study,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FitContext", "PrunerFactory", "builtin_pruners", "run_benchmark"]

#: The samplers run_benchmark uses by default: single-objective, multi-objective.
_DEFAULTBASE_SAMPLERS = (("random", "tpe"), ("random", "tpe", "nsga2"))


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
        pool: The rows replayed with these pruners (the fold), which only the oracle reads.
    """

    rows: pd.DataFrame
    max_epochs: int
    predictor_options: Mapping[str, Any] = field(default_factory=dict)
    data: str = NAAP440_DATA
    knowledge: pd.DataFrame | None = None
    pool: pd.DataFrame | None = None
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
        rule = SchemeRule(
            {e: self.predictor(e) for e in epochs}, max_epochs=self.max_epochs, **options
        )
        return NAAPPruner(rule)

    def oracle(self, **options: Any) -> OraclePruner:
        """The :class:`OraclePruner` of :attr:`pool` (multi-objective: with the rows' finals
        as reference rows, as :meth:`naap` gives NAAPPruner)."""
        if self.pool is None:
            raise BenchmarkError("the oracle needs the replayed rows: FitContext(pool=...)")
        return OraclePruner(self.pool, **options)


PrunerFactory = Callable[[FitContext], BasePruner]


def _learning_nothing(make: Callable[[], BasePruner]) -> PrunerFactory:
    """A factory of a pruner that learns nothing from the other folds."""
    return lambda context: make()


def builtin_pruners(
    max_epochs: int = 90, *, multi_objective: bool = False
) -> dict[str, PrunerFactory]:
    """The pruners the benchmark compares, by name, as factories of a :class:`FitContext`,
    with settings for ``max_epochs`` epochs of full training.

    Optuna's pruners with their usual settings for a 90-epoch budget (warm-up of 10% of
    training), the early top-k baseline, and NAAPPruner: ``naap`` (the defaults, a top-10 bar at
    confidence 0.95, predictors fit on the other folds), ``naap-transfer`` (``NAAPPruner()`` as
    on a new task: no predictors, the architecture-only prior of :meth:`FitContext.prior`
    calibrated on the study's own trials, with
    :data:`~optuna_naap._transfer.TRANSFER_LEARNER`'s settings), ``naap-scratch``
    (``NAAPPruner(transfer=False)``: the study's own trials alone, the default StudyLearner),
    ``naap-at-10%`` (one decision at 10%), ``naap-cautious`` (top_k 20 with confidence 0.99),
    ``naap-top10`` (top_k 10 with confidence 0.99), ``naap-wide``
    (:data:`~optuna_naap.WIDE_BAR`: top_k 20 with confidence 0.9, the defaults before
    2026-12-04), and ``oracle`` (:class:`OraclePruner`: knows the finals, trains only the fold's
    10 best beyond epoch 1; the floor).

    For multi-objective replays (``multi_objective=True``): ``nop`` (no pruning: Optuna's only
    option there), ``median-accuracy`` (a naive scalarised rule: MedianPruner's rule on the
    accuracy alone, :class:`AccuracyMedianPruner`), ``NAAPPruner`` (the Pareto rule with the
    defaults: decisions after epoch 1 and at 10%, confidence 0.9, reference rows k=3) and
    ``NAAPPruner-lean`` (decisions at 1, 10% and a third of training, confidence 0.8, k=5:
    less compute for a little front recall, chosen with ``benchmarks/tune_pareto.py``) and
    ``oracle`` (:class:`OraclePruner`: the Pareto rule's protocol knowing every final).
    """
    warmup = max(1, round(0.1 * max_epochs))
    if multi_objective:
        return {
            "nop": lambda c: optuna.pruners.NopPruner(),
            "median-accuracy": lambda c: AccuracyMedianPruner(n_warmup_steps=warmup),
            "NAAPPruner": lambda c: c.naap(),
            "oracle": lambda c: c.oracle(references=ParetoReferences(c.rows)),
            "NAAPPruner-lean": lambda c: c.naap(
                sorted({1, warmup, max(1, round(max_epochs / 3))}),
                confidence=0.8,
                pareto_references=ParetoReferences(c.rows, k=5),
            ),
        }

    baselines = {
        name: _learning_nothing(make)
        for name, make in optuna_pruners(warmup=warmup, max_resource=max_epochs).items()
    }
    return {
        **baselines,
        "top10-after-1": lambda c: EarlyTopKPruner(10, epoch=1),
        "oracle": lambda c: c.oracle(),
        "naap": lambda c: c.naap(),
        "naap-transfer": lambda c: NAAPPruner(
            learn=StudyLearner(**TRANSFER_LEARNER), transfer=c.prior()
        ),
        "naap-scratch": lambda c: NAAPPruner(transfer=False),
        "naap-at-10%": lambda c: c.naap((warmup,)),
        "naap-cautious": lambda c: c.naap(top_k=20, confidence=0.99),
        "naap-top10": lambda c: c.naap(top_k=10, confidence=0.99),
        "naap-wide": lambda c: c.naap(**WIDE_BAR),
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
        samplers: Among ``"random"``, ``"tpe"``, ``"nsga2"`` (NSGA-II counting pruned
            trials) and ``"nsga2-optuna"`` (Optuna's own; default: random and tpe; with
            ``objectives``, random, tpe and nsga2).
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

    pareto = _parse_objectives(objectives)
    if not isinstance(data, str) or not data.strip():
        raise BenchmarkError(f"data must be the rows' data name, but got {data=}")
    if knowledge is not None:
        _check_frame(knowledge, "knowledge")
    if samplers is None:
        samplers = _DEFAULTBASE_SAMPLERS[pareto is not None]
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
    unknown = [s for s in samplers if s not in BASE_SAMPLERS]
    if unknown or not samplers:
        raise BenchmarkError(
            f"samplers must be among {', '.join(BASE_SAMPLERS)}, "
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
                        pool=frame.iloc[parts[fold]],
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
                    # the rows a multi-objective pruner's references come from
                    known=contexts[fold].rows if pareto is not None else None,
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
