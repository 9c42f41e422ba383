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

        frame = load_naap440("naap440v2.csv")
        results = run_benchmark(frame, pruners=["nop", "median", "naap"], seeds=[0])
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
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._pruner import NAAPPruner, default_decision_epochs
from optuna_naap._record import MODEL_ID_ATTR
from optuna_naap._scheme import scheme_to_dicts
from optuna_naap._space import SchemeSpace
from optuna_naap._trial import (
    ATTRIBUTES,
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
    "EarlyTopKPruner",
    "FitContext",
    "ReplayObjective",
    "ReplayResult",
    "builtin_pruners",
    "pareto_front",
    "plot_pareto",
    "replay_study",
    "run_benchmark",
    "summarize",
]

_SAMPLERS = ("random", "tpe")


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
    It returns the row's ``MaxAccuracy``. One instance serves one study of at most
    ``len(pool)`` trials.

    Args:
        pool: Rows in the NAAP-440 layout with a ``Scheme`` column (:func:`load_naap440`).
        max_epochs: Epochs replayed (default: all the rows hold).
        space: The space the sampler proposes from (default: the NAAP-440 space).
        seed: Fixes the order among equally near schemes.
    """

    def __init__(
        self,
        pool: pd.DataFrame,
        *,
        max_epochs: int | None = None,
        space: SchemeSpace | None = None,
        seed: int = 0,
    ) -> None:
        _check_frame(pool, "pool")
        have = available_epochs(pool.columns)
        if max_epochs is None:
            max_epochs = have
        if not isinstance(max_epochs, int) or not 1 <= max_epochs <= have:
            raise BenchmarkError(
                f"max_epochs must be between 1 and the {have} epochs the rows hold, "
                f"but got {max_epochs=}"
            )
        order = np.random.default_rng(seed).permutation(len(pool))
        self.pool = pool.iloc[order].reset_index(drop=True)
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

    def __call__(self, trial: optuna.trial.Trial) -> float:
        index = self._pick(suggest_scheme(trial, self.space, screen=False))
        record_scheme(trial, self._schemes[index])
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
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(self.pool["MaxAccuracy"].iloc[index])


@dataclass(frozen=True)
class ReplayResult:
    """The figures of one replay study."""

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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitContext:
    """What a pruner factory gets: the rows it may learn from, and cached predictors."""

    rows: pd.DataFrame
    max_epochs: int
    predictor_options: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict[int, NAAPPredictor] = field(default_factory=dict, repr=False)

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
        return NAAPPruner(
            {e: self.predictor(e) for e in epochs}, max_epochs=self.max_epochs, **options
        )


PrunerFactory = Callable[[FitContext], BasePruner]


def builtin_pruners(max_epochs: int = 90) -> dict[str, PrunerFactory]:
    """The pruners the benchmark compares, by name, as factories of a :class:`FitContext`.

    Optuna's pruners with their usual settings for a 90-epoch budget (warm-up of 10% of
    training), the early top-k baseline, and NAAPPruner: ``naap`` (the defaults),
    ``naap-at-10%`` (one decision at 10%), ``naap-cautious`` (confidence 0.99) and
    ``naap-top10`` (top_k 10 with confidence 0.99).
    """
    warmup = max(1, round(0.1 * max_epochs))
    from optuna import pruners as p

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
        "naap-at-10%": lambda c: c.naap((warmup,)),
        "naap-cautious": lambda c: c.naap(confidence=0.99),
        "naap-top10": lambda c: c.naap(top_k=10, confidence=0.99),
    }


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
) -> ReplayResult:
    """Replay every scheme of ``pool`` once and return the study's figures.

    ``sampler`` is ``"random"``, ``"tpe"`` (seeded with ``seed``) or any Optuna sampler, for
    example a :class:`~optuna_naap.NAAPSampler` with ``refine=`` or ``prescreen=``. The study
    is in memory unless ``storage`` (and ``study_name``) say where to keep it, for example to
    browse the replay in optuna-dashboard. ``first_top10`` of the result is the number of
    trials run until the first of the pool's 10 best schemes completed (NaN if none did).
    """
    if isinstance(sampler, optuna.samplers.BaseSampler):
        sampler_object, sampler = sampler, type(sampler).__name__
    elif sampler in _SAMPLERS:
        sampler_object = _make_sampler(sampler, seed)
    else:
        raise BenchmarkError(
            f"sampler must be one of {', '.join(_SAMPLERS)} or an Optuna sampler, "
            f"but got {sampler!r}"
        )
    objective = ReplayObjective(pool, max_epochs=max_epochs, seed=seed)
    # A fixed name: HyperbandPruner assigns brackets by hashing the study name.
    study = optuna.create_study(
        storage=storage,
        study_name=study_name or f"replay-{name or type(pruner).__name__}-{sampler}-{fold}-{seed}",
        direction="maximize",
        sampler=sampler_object,
        pruner=pruner,
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=len(objective.pool))
    wall = time.perf_counter() - started

    trials = study.get_trials(deepcopy=False)
    epochs_run = sum(len(t.intermediate_values) for t in trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = max((t.value for t in complete if t.value is not None), default=math.nan)
    top = set(objective.pool.nlargest(10, "MaxAccuracy")["ModelId"].astype(int))
    finished = {int(t.user_attrs[MODEL_ID_ATTR]) for t in complete}
    first_top10 = next(
        (t.number + 1 for t in complete if int(t.user_attrs[MODEL_ID_ATTR]) in top), math.nan
    )
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
    )


def run_benchmark(
    frame: pd.DataFrame,
    *,
    pruners: Iterable[str] | Mapping[str, PrunerFactory] | None = None,
    samplers: Sequence[str] = _SAMPLERS,
    seeds: Sequence[int] = (0, 1, 2),
    folds: int = 2,
    split_seed: int = 0,
    max_epochs: int | None = None,
    predictor_options: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> list[ReplayResult]:
    """Run the replay protocol and return one :class:`ReplayResult` per study.

    The rows are shuffled (``split_seed``) into ``folds`` disjoint parts; for each part, the
    pruners are built from the other parts (:class:`FitContext`) and replayed over it, once per
    sampler and seed.

    Args:
        frame: NAAP-440 rows with their ``Scheme`` column (:func:`~optuna_naap.load_naap440`).
        pruners: Names of :func:`builtin_pruners`, or a mapping of names to factories
            (default: all built-in ones).
        samplers: ``"random"`` and/or ``"tpe"``.
        seeds: Seeds of the samplers and of the replay order.
        folds: Number of disjoint parts (at least 2).
        split_seed: Seed of the split.
        max_epochs: Epochs of full training replayed (default: all the rows hold).
        predictor_options: Keyword arguments of the NAAPPredictors fit per fold.
        progress: Show a rich progress bar.
    """
    _check_frame(frame, "data")
    have = available_epochs(frame.columns)
    max_epochs = have if max_epochs is None else max_epochs
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
    available = builtin_pruners(max_epochs)
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
                contexts = {fold: FitContext(fit_rows, max_epochs, dict(predictor_options or {}))}
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
                )
            )
            bar.advance(task)
    return results


def summarize(results: Sequence[ReplayResult]) -> list[dict[str, Any]]:
    """Mean figures per pruner and sampler (over folds and seeds), in first-seen order."""
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
            }
        )
    return summary


def _mean_finite(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def pareto_front(summary: Sequence[Mapping[str, Any]]) -> list[bool]:
    """Whether each row is Pareto-optimal: no other row has less compute and more recall."""
    flags = []
    for row in summary:
        dominated = any(
            other["compute"] <= row["compute"]
            and other["recall"] >= row["recall"]
            and (other["compute"] < row["compute"] or other["recall"] > row["recall"])
            for other in summary
            if other["sampler"] == row["sampler"]
        )
        flags.append(not dominated)
    return flags


def plot_pareto(summary: Sequence[Mapping[str, Any]], path: str) -> None:
    """Write a PNG of compute (x) against top-10 recall (y), one marker per pruner."""
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
        ax.set_title(f"NAAP-440 replay, {sampler} sampler (outlined: Pareto front)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
