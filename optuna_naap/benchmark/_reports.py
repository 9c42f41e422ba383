"""The benchmark's reports: a summary row per pruner and sampler, the compute-recall front, and
plots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from optuna_naap._features import available_epochs
from optuna_naap._front import front_points, pareto_mask
from optuna_naap._pareto import (
    ParetoObjectives,
)

if TYPE_CHECKING:
    import pandas as pd

from optuna_naap.benchmark._protocol import FitContext, _parse_objectives
from optuna_naap.benchmark._replay import (
    BenchmarkError,
    ReplayObjective,
    ReplayResult,
    replay_study,
)

__all__ = ["pareto_front", "plot_fronts", "plot_pareto", "summarize"]


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
                front_recall_known=_mean_finite([r.front_recall_known for r in rows]),
                min_front_recall_known=_min_finite([r.front_recall_known for r in rows]),
                hv_regret=float(np.mean([r.hv_regret for r in rows])),
                max_hv_regret=float(np.max([r.hv_regret for r in rows])),
                hv_regret_half=float(np.mean([r.hv_regret_half for r in rows])),
            )
    return summary


def _mean_finite(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _min_finite(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.min(finite)) if finite else math.nan


def pareto_front(summary: Sequence[Mapping[str, Any]], *, key: str = "recall") -> list[bool]:
    """Whether each row of ``summary`` (:func:`summarize`) is Pareto-optimal: no other row of
    its sampler has less compute and more ``key`` (``recall``, or ``front_recall`` for
    multi-objective replays)."""
    flags = [False] * len(summary)
    for sampler in {row["sampler"] for row in summary}:
        rows = [i for i, row in enumerate(summary) if row["sampler"] == sampler]
        mask = pareto_mask(
            [summary[i][key] for i in rows], [[summary[i]["compute"]] for i in rows]
        )
        for i, on_front in zip(rows, mask, strict=True):
            flags[i] = on_front
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
        ax.set_title(f"{title}, {sampler} sampler\n(outlined: on the Pareto front)")
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
