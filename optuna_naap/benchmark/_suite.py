"""A benchmark of pruners on real objectives that run offline: NAAPPruner on your own objective.

Each objective is written the way Optuna's own pruning examples are (their reporting loops,
integration callbacks, intervals, categorical and conditional parameters), on scikit-learn's
bundled datasets, so the suite runs without a network. Every (objective, pruner, seed) is one
study of ``n_trials`` TPE trials; the figures are the steps run, the best value, the wall time
and the time spent inside the pruner.

``optuna-naap benchmark --suite objectives`` runs it; ``docs/own_objective.md`` has the table.
Objectives whose library is missing (LightGBM, XGBoost and optuna-integration are the extra
``bench``) are skipped with a note.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.trial import TrialState

from optuna_naap._pruner import NAAPPruner
from optuna_naap._record import DECISION_ATTR
from optuna_naap.benchmark._baselines import optuna_pruners
from optuna_naap.benchmark._suite_objectives import OBJECTIVES, Objective, SuiteObjective

__all__ = [
    "OBJECTIVES",
    "SuiteObjective",
    "SuiteResult",
    "best_within",
    "plot_anytime",
    "plot_suite",
    "run_one",
    "run_suite",
    "suite_pruners",
    "summarize_suite",
    "totals",
]


#: The pruner each objective's author would tune (SuiteObjective.tuned), by this name.
TUNED = "tuned"


def suite_pruners() -> dict[str, Callable[[], BasePruner]]:
    """The pruners the suite compares, each with Optuna's defaults, by name (``tuned``, the
    objective's own MedianPruner warm-up, is made per objective: here MedianPruner())."""

    return {**optuna_pruners(), TUNED: optuna.pruners.MedianPruner, "naap": NAAPPruner}


@dataclass
class SuiteResult:
    """One study of the suite.

    Attributes:
        objective: The objective's name.
        pruner: The pruner's name.
        seed: The TPE sampler's seed.
        direction: The study's direction.
        n_trials: Trials run.
        steps: Intermediate values reported over all trials.
        best: The study's best value.
        wall_s: Wall time of the study, in seconds.
        pruner_s: Time spent in the pruner, in seconds.
        pruned: Trials pruned.
        decided: Trials with a NAAPPruner decision recorded.
        failed: Trials that failed.
        anytime: After each finished trial (in trial order): the steps spent so far and the
            best value so far (NaN before the first completed trial).
    """

    objective: str
    pruner: str
    seed: int
    direction: str
    n_trials: int
    steps: int
    best: float
    wall_s: float
    pruner_s: float
    pruned: int
    decided: int
    failed: int
    anytime: list[tuple[int, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_one(
    objective: SuiteObjective,
    pruner_name: str,
    seed: int,
    *,
    n_trials: int,
    make_objective: Objective | None = None,
) -> SuiteResult:
    """Run one study of ``objective`` under the pruner named ``pruner_name`` (see
    :func:`suite_pruners`) with a TPE sampler seeded with ``seed``, for ``n_trials`` trials
    (``make_objective``: an objective built already, instead of ``objective.make()``)."""

    pruner = objective.tuned() if pruner_name == TUNED else suite_pruners()[pruner_name]()
    spent = [0.0]
    prune = pruner.prune

    def timed(study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        started = time.perf_counter()
        try:
            return prune(study, trial)
        finally:
            spent[0] += time.perf_counter() - started

    # On the instance, so that isinstance checks (TPE and HyperbandPruner) still hold.
    pruner.prune = timed  # type: ignore[method-assign]
    study = optuna.create_study(
        direction=objective.direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner,
        study_name=f"{objective.name}-{pruner_name}-{seed}",
    )
    run = make_objective or objective.make()
    started = time.perf_counter()
    study.optimize(run, n_trials=n_trials, catch=(Exception,))
    wall = time.perf_counter() - started
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    anytime, spent_steps, best = [], 0, math.nan
    better = max if objective.direction == "maximize" else min
    for t in trials:
        spent_steps += len(t.intermediate_values)
        if t.state == TrialState.COMPLETE and t.value is not None:
            best = t.value if math.isnan(best) else better(best, t.value)
        anytime.append((spent_steps, best))
    return SuiteResult(
        objective=objective.name,
        pruner=pruner_name,
        seed=seed,
        direction=objective.direction,
        n_trials=len(trials),
        steps=sum(len(t.intermediate_values) for t in trials),
        best=study.best_value if complete else math.nan,
        wall_s=wall,
        pruner_s=spent[0],
        pruned=sum(t.state == TrialState.PRUNED for t in trials),
        decided=sum(
            isinstance(t.user_attrs.get(DECISION_ATTR), dict)
            and t.user_attrs[DECISION_ATTR].get("predictor") is not None
            for t in trials
        ),
        failed=sum(t.state == TrialState.FAIL for t in trials),
        anytime=anytime,
    )


def run_suite(
    *,
    objectives: Sequence[str] | None = None,
    pruners: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    n_trials: int = 50,
    progress: bool = False,
) -> tuple[list[SuiteResult], list[str]]:
    """Run every (objective, pruner, seed) of ``objectives``, ``pruners`` (names; default all)
    and ``seeds``, ``n_trials`` trials each (``progress``: a rich progress bar); return the
    results and notes on skipped objectives. ``nop`` (no pruning) always runs: it is the
    reference of every shortfall.

    Raises:
        ValueError: for an unknown objective or pruner name.
    """
    known = suite_pruners()
    names = list(pruners) if pruners else list(known)
    chosen = list(objectives) if objectives else list(OBJECTIVES)
    for name in chosen:
        if name not in OBJECTIVES:
            raise ValueError(f"unknown objective {name!r}; choose among {', '.join(OBJECTIVES)}")
    for name in names:
        if name not in known:
            raise ValueError(f"unknown pruner {name!r}; choose among {', '.join(known)}")
    notes = []
    if "nop" not in names:
        names.insert(0, "nop")
        notes.append("nop: run as the reference of the shortfall column (no pruning)")
    runnable = []
    for name in chosen:
        missing = OBJECTIVES[name].missing()
        if missing:
            notes.append(
                f"{name}: skipped, needs {', '.join(missing)} (pip install 'optuna-naap[bench]')"
            )
        else:
            runnable.append(OBJECTIVES[name])
    jobs = [(o, p, s) for o in runnable for s in seeds for p in names]
    results: list[SuiteResult] = []
    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("objectives suite", total=len(jobs))
        made: dict[str, Objective] = {}
        for objective, pruner, seed in jobs:
            bar.update(task, description=f"{objective.name} / {pruner} / seed {seed}")
            if objective.name not in made:  # load each dataset once
                made = {objective.name: objective.make()}
            results.append(
                run_one(
                    objective, pruner, seed, n_trials=n_trials, make_objective=made[objective.name]
                )
            )
            bar.advance(task)
    return results, notes


def best_within(result: SuiteResult, steps: float) -> float:
    """The best value ``result``'s study had found once it had spent ``steps`` steps (NaN
    before its first completed trial, or when ``steps`` is NaN: no budget)."""
    best = math.nan
    if math.isnan(steps):
        return best
    for spent, value in result.anytime:
        if spent > steps:
            break
        best = value
    return best


def summarize_suite(results: Sequence[SuiteResult]) -> list[dict[str, Any]]:
    """Per objective and pruner of ``results``: seed means of steps, best value, wall and
    pruner time, the best value's shortfall against NopPruner's (in the objective's direction,
    relative), and ``anytime_shortfall``: the same for the best found within the steps
    MedianPruner's study of the same seed spent (an equal-budget comparison)."""
    groups: dict[tuple[str, str], list[SuiteResult]] = {}
    for r in results:
        groups.setdefault((r.objective, r.pruner), []).append(r)
    median_steps = {(r.objective, r.seed): r.steps for r in results if r.pruner == "median"}
    rows = []
    for (objective, pruner), group in groups.items():
        nop = groups.get((objective, "nop"))
        sign = 1.0 if group[0].direction == "maximize" else -1.0
        best = float(np.mean([r.best for r in group]))
        reference = float(np.mean([r.best for r in nop])) if nop else math.nan
        budget = [median_steps.get((r.objective, r.seed), math.nan) for r in group]
        within = float(np.mean([best_within(r, b) for r, b in zip(group, budget, strict=True)]))
        rows.append(
            {
                "objective": objective,
                "pruner": pruner,
                "seeds": len(group),
                "steps": float(np.mean([r.steps for r in group])),
                "best": best,
                "shortfall": sign * (reference - best) / abs(reference) if nop else math.nan,
                "anytime_shortfall": (
                    sign * (reference - within) / abs(reference) if nop else math.nan
                ),
                "wall_s": float(np.mean([r.wall_s for r in group])),
                "pruner_s": float(np.mean([r.pruner_s for r in group])),
                "pruner_share": float(np.mean([r.pruner_s / r.wall_s for r in group])),
                "pruned": float(np.mean([r.pruned for r in group])),
                "decided": float(np.mean([r.decided for r in group])),
                "failed": sum(r.failed for r in group),
            }
        )
    return rows


def totals(summary: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per pruner over the suite's ``summary`` (:func:`summarize_suite`): summed steps and
    wall time, worst shortfall."""
    out: dict[str, dict[str, Any]] = {}
    for row in summary:
        t = out.setdefault(
            row["pruner"], {"pruner": row["pruner"], "steps": 0.0, "wall_s": 0.0, "worst": 0.0}
        )
        t["steps"] += row["steps"]
        t["wall_s"] += row["wall_s"]
        t["worst"] = max(t["worst"], row["shortfall"])
    return list(out.values())


def plot_anytime(results: Sequence[SuiteResult], path: str) -> None:
    """Write a PNG to ``path``: per objective of ``results``, the seed-mean best value found
    against the steps spent (each pruner's studies, on NopPruner's step range); higher-left
    (lower-left when minimizing) is better at any budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(dict.fromkeys(r.objective for r in results))
    columns = min(4, len(objectives))
    rows = math.ceil(len(objectives) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False, constrained_layout=True
    )
    for ax, objective in zip(axes.ravel(), objectives, strict=False):
        mine = [r for r in results if r.objective == objective]
        end = max(r.steps for r in mine)
        grid = np.linspace(0, end, 200)
        for i, pruner in enumerate(dict.fromkeys(r.pruner for r in mine)):
            runs = [r for r in mine if r.pruner == pruner]
            curve = np.array([[best_within(r, g) for g in grid] for r in runs])
            with np.errstate(all="ignore"):
                seen = ~np.isnan(curve).any(axis=0)
                mean = np.where(seen, np.nanmean(np.where(np.isnan(curve), 0, curve), 0), np.nan)
            reach = grid <= max(r.steps for r in runs)
            ax.plot(
                grid[reach], mean[reach], label=pruner, color="C3" if pruner == "naap" else f"C{i}"
            )
        ax.set_title(objective)
        ax.set_xlabel("steps spent")
        ax.set_ylabel("best value (seed mean)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[len(objectives) :]:
        ax.axis("off")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_suite(summary: Sequence[Mapping[str, Any]], path: str) -> None:
    """Write a PNG to ``path``: one panel per objective of ``summary``
    (:func:`summarize_suite`), steps run (share of NopPruner's) against the best value's
    shortfall; the pruners on the lower left are the ones to want."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(dict.fromkeys(r["objective"] for r in summary))
    columns = min(4, len(objectives))
    rows = math.ceil(len(objectives) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3.4 * rows), squeeze=False, constrained_layout=True
    )
    for ax, objective in zip(axes.ravel(), objectives, strict=False):
        mine = [r for r in summary if r["objective"] == objective]
        nop = next((r["steps"] for r in mine if r["pruner"] == "nop"), None) or 1.0
        for r in mine:
            x, y = 100 * r["steps"] / nop, 100 * r["shortfall"]
            ax.scatter(x, y, color="C3" if r["pruner"] == "naap" else "C0", zorder=3)
            ax.annotate(r["pruner"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_title(objective)
        ax.set_xlabel("steps run, % of no pruning")
        ax.set_ylabel("best value shortfall, %")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(objectives) :]:
        ax.axis("off")
    fig.savefig(path, dpi=110)
    plt.close(fig)
