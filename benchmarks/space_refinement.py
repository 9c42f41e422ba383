"""Does refining the space (AutoSpace) reach NAAP-440's top schemes in fewer trials?

Run: ``python benchmarks/space_refinement.py [--rows train|all] [--out DIR]``.

The replay protocol of ``optuna-naap benchmark``: the rows are split into 2 disjoint folds; for
each fold, NAAPPruner (default settings) is fit on the other fold and a study replays the fold's
schemes through ``NAAPSampler(base, refine=...)``, once per base sampler (Random, TPE) and seed.
The refiner's fitness comes from the finals of completed trials and from the pruner's
predictions for pruned ones. Figures per setting, means over folds x seeds:

- *to top-10*: trials until the first of the fold's 10 best schemes ran to completion;
- *to best*: trials until the fold's best scheme ran to completion (its regret reached 0);
- *regret@50/100*: best MaxAccuracy of the fold minus the study's best after 50/100 trials;
- *compute*: epochs run / epochs of full training of the fold; *recall*: top-10 recall.

``--rows train`` replays the 400 training rows (IsTest == 0) to choose the settings;
``--rows all`` reports the chosen setting against the unrefined space over all 440 rows once.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from optuna_naap import NAAPSampler, SpaceRefiner, load_naap440
from optuna_naap._record import REFINED_SPACE_ATTR
from optuna_naap.benchmark import MODEL_ID_ATTR, FitContext, ReplayObjective

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package
BUDGETS = (50, 100)


def replay(
    pool: Any, context: FitContext, sampler: str, seed: int, refiner: SpaceRefiner | None
) -> dict[str, Any]:
    base = (
        optuna.samplers.RandomSampler(seed=seed)
        if sampler == "random"
        else optuna.samplers.TPESampler(seed=seed)
    )
    objective = ReplayObjective(pool, seed=seed)
    study = optuna.create_study(
        study_name=f"refine-{sampler}-{seed}",
        direction="maximize",
        sampler=NAAPSampler(base, refine=refiner),
        pruner=context.naap(),
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=len(objective.pool))
    wall = time.perf_counter() - started
    ranked = objective.pool.sort_values("MaxAccuracy", ascending=False)["ModelId"].astype(int)
    top10, top1 = set(ranked.iloc[:10]), int(ranked.iloc[0])
    pool_best = float(objective.pool["MaxAccuracy"].max())
    best_so_far, best, first_top10, first_best = [], -math.inf, math.nan, math.nan
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            model = int(trial.user_attrs[MODEL_ID_ATTR])
            best = max(best, float(trial.value))
            if model in top10 and math.isnan(first_top10):
                first_top10 = trial.number + 1
            if model == top1:
                first_best = trial.number + 1
        best_so_far.append(pool_best - best if best > -math.inf else math.nan)
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    complete = {
        int(t.user_attrs[MODEL_ID_ATTR])
        for t in study.trials
        if t.state == optuna.trial.TrialState.COMPLETE
    }
    refined = sum(1 for t in study.trials if REFINED_SPACE_ATTR in t.system_attrs)
    return {
        "to_top10": first_top10,
        "to_best": first_best,
        **{f"regret@{b}": best_so_far[b - 1] for b in BUDGETS},
        "compute": epochs / (len(objective.pool) * objective.max_epochs),
        "recall": len(top10 & complete) / 10,
        "refined_share": refined / len(study.trials),
        "wall_s": wall,
        "curve": best_so_far,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", choices=("train", "all"), default="train")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--after", type=int, nargs="*", default=[20, 40, 80])
    parser.add_argument("--keep", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--out", type=Path, default=None, help="JSON and a PNG of the curves")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    rows = frame[frame.IsTest == 0].reset_index(drop=True) if args.rows == "train" else frame
    settings: dict[str, SpaceRefiner | None] = {"unrefined": None}
    for after, keep in itertools.product(args.after, args.keep):
        settings[f"after {after} keep {keep}"] = SpaceRefiner(after_trials=after, keep=keep)
    order = np.random.default_rng(0).permutation(len(rows))
    parts = np.array_split(order, 2)
    runs = list(itertools.product(range(2), settings, ("random", "tpe"), range(args.seeds)))
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replay studies", total=len(runs))
        contexts: dict[int, FitContext] = {}
        for fold, name, sampler, seed in runs:
            if fold not in contexts:
                contexts = {fold: FitContext(rows.iloc[parts[1 - fold]], 90)}
            pool = rows.iloc[parts[fold]]
            outcome = replay(pool, contexts[fold], sampler, seed, settings[name])
            results.setdefault((name, sampler), []).append(outcome)
            bar.advance(task)

    table = Table(title=f"Space refinement on the NAAP-440 replay ({args.rows} rows: {len(rows)})")
    columns = ["setting", "sampler", "to top-10", "to best", "regret@50", "regret@100"]
    for column in [*columns, "compute %", "recall", "refined %", "wall s"]:
        table.add_column(column, justify="right")
    summary = []
    for (name, sampler), outcomes in results.items():
        row = {"setting": name, "sampler": sampler, "studies": len(outcomes)}
        for key in ("to_top10", "to_best", "regret@50", "regret@100", "compute", "recall"):
            values = [o[key] for o in outcomes if not math.isnan(o[key])]
            row[key] = float(np.mean(values)) if values else math.nan
        row["refined_share"] = float(np.mean([o["refined_share"] for o in outcomes]))
        row["wall_s"] = float(np.mean([o["wall_s"] for o in outcomes]))
        with warnings.catch_warnings():  # no trial has completed yet at the first trials
            warnings.simplefilter("ignore", RuntimeWarning)
            row["curve"] = np.nanmean([o["curve"] for o in outcomes], axis=0).tolist()
        summary.append(row)
        table.add_row(
            name,
            sampler,
            f"{row['to_top10']:.1f}",
            f"{row['to_best']:.1f}",
            f"{row['regret@50']:.4f}",
            f"{row['regret@100']:.4f}",
            f"{100 * row['compute']:.1f}",
            f"{row['recall']:.3f}",
            f"{100 * row['refined_share']:.0f}",
            f"{row['wall_s']:.1f}",
        )
    Console(width=150).print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "space_refinement.json").write_text(json.dumps(summary, indent=1))
        plot(summary, args.out / "space_refinement.png", args.rows)


def plot(summary: list[dict[str, Any]], path: Path, rows: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, sampler in zip(axes, ("random", "tpe"), strict=True):
        for row in summary:
            if row["sampler"] != sampler:
                continue
            curve = row["curve"]
            ax.plot(range(1, len(curve) + 1), curve, label=row["setting"])
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_title(f"NAAPSampler({'Random' if sampler == 'random' else 'TPE'})")
        ax.set_xlabel("trials")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("regret: best MaxAccuracy of the fold - study's best")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Space refinement, NAAP-440 replay ({rows} rows), mean of folds x seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
