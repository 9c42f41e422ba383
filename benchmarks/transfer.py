"""The transfer benchmark: NAAP-440's knowledge on another task, and on a shorter budget.

Run: ``python benchmarks/transfer.py [--fashion-mnist benchmarks/data/fashion-mnist-12.csv]
[--plot docs/images/transfer_fashion_mnist.png]``. Prints, as markdown for docs/transfer.md:

1. the Fashion-MNIST replay (the project's own 12-epoch curves of the NAAP-440 schemes; each
   replayed trial declares ``fashion-mnist``): nop, Optuna's pruners, ``naap-scratch``,
   ``naap-transfer`` (the packaged NAAP-440 training rows as the prior) and ``naap`` (predictors
   fit on the other fold of the Fashion-MNIST rows);
2. the same learner settings as ``naap-transfer`` without the prior (what the prior adds);
3. NAAP-440 at a 30-epoch budget (its rows cut to 30 epochs, exact for the NAAP recipe);
4. Kendall tau of the same schemes' finals across tasks and of early accuracy against finals;
5. with ``--equal-recall [--equal-recall-plot PNG]``: each family swept over its own knob on the
   Fashion-MNIST replay (MedianPruner's and PercentilePruner(75)'s ``n_warmup_steps``,
   ``naap-scratch``'s ``risk``, ``naap-transfer``'s confidence), and the compute each family
   needs to keep as many of the 10 best as ``naap-transfer`` does with its defaults, and 0.95
   (linear between swept points).

Random sampler, 2 folds x 3 seeds. MaxAccuracy is the best of the test-set evaluations of each
run (CIFAR-10's test set for NAAP-440, a 2,000-image Fashion-MNIST test subset for the other).
"""

from __future__ import annotations

import argparse
import itertools
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from scipy.stats import kendalltau

from optuna_naap import NAAPPruner, StudyLearner, load_naap440
from optuna_naap._optuna_pruners import optuna_pruners
from optuna_naap._pruner import TRANSFER_LEARNER
from optuna_naap.benchmark import (
    PrunerFactory,
    builtin_pruners,
    plot_pareto,
    run_benchmark,
    summarize,
)
from optuna_naap.data import curve_epochs, truncate_curves

REPO = Path(__file__).resolve().parent.parent
PRUNERS = ("nop", "median", "percentile75", "successive-halving", "naap-scratch", "naap-transfer")


def cells(row: dict[str, Any]) -> str:
    """A summary row's compute, recall, regret and first prune as markdown cells."""
    first = row["first_pruned"]
    return (
        f"{100 * row['compute']:.1f}% | {row['recall']:.3f} ({row['min_recall']:.2f}) | "
        f"{100 * row['regret']:.2f} ({100 * row['max_regret']:.2f}) | "
        f"{'-' if first != first else f'{first:.1f}'} |"
    )


def table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| pruner | compute | top-10 recall (min) | regret, pp (max) | 1st prune |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| `{row['pruner']}` | {cells(row)}" for row in summary]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fashion-mnist", type=Path, default=REPO / "benchmarks/data/fashion-mnist-12.csv"
    )
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument(
        "--skip-budget", action="store_true", help="leave out NAAP-440 at 30 epochs (part 3)"
    )
    parser.add_argument("--equal-recall", action="store_true", help="run part 5 only")
    parser.add_argument("--equal-recall-plot", type=Path, default=None)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)

    naap = load_naap440()
    knowledge = naap[naap.IsTest == 0]
    fm = load_naap440(args.fashion_mnist)
    epochs = curve_epochs(fm)
    pruners = {n: builtin_pruners(epochs)[n] for n in (*PRUNERS, "naap")}
    pruners["transfer settings, no prior"] = lambda c: NAAPPruner(
        learn=StudyLearner(time_share=None, **TRANSFER_LEARNER), transfer=False
    )
    common: dict[str, Any] = {"samplers": ["random"], "seeds": [0, 1, 2], "folds": 2}
    if args.equal_recall:
        equal_recall(fm, knowledge, common, args.equal_recall_plot)
        return
    fm_summary = summarize(
        run_benchmark(fm, pruners=pruners, data="fashion-mnist", knowledge=knowledge, **common)
    )
    print(f"Fashion-MNIST replay, {len(fm)} schemes, {epochs} epochs:\n")
    print(table(fm_summary))
    if args.plot is not None:
        plot_pareto(
            [r for r in fm_summary if r["pruner"] != "transfer settings, no prior"],
            str(args.plot),
            title=f"Fashion-MNIST replay ({len(fm)} schemes, {epochs} epochs)",
        )
        print(f"\nwrote {args.plot}")

    if not args.skip_budget:
        c30 = {n: builtin_pruners(30)[n] for n in (*PRUNERS, "naap")}
        c30_summary = summarize(run_benchmark(naap, pruners=c30, max_epochs=30, **common))
        print(f"\nNAAP-440 replay at 30 epochs, {len(naap)} schemes:\n")
        print(table(c30_summary))

    merged = fm.merge(naap, on="ModelId", suffixes=("_fm", "_c10"))
    cut = truncate_curves(naap, epochs).merge(fm, on="ModelId", suffixes=("_c10", "_fm"))
    pairs = [
        (f"Fashion-MNIST {epochs} ep. vs CIFAR-10 90 ep. finals", merged, "MaxAccuracy"),
        (f"Fashion-MNIST {epochs} ep. vs CIFAR-10 {epochs} ep. finals", cut, "MaxAccuracy"),
    ]
    print(f"\nKendall tau, {len(merged)} schemes:\n\n| pair | tau |\n|---|---|")
    for name, frame, column in pairs:
        tau = kendalltau(frame[f"{column}_fm"], frame[f"{column}_c10"])[0]
        print(f"| {name} | {tau:.2f} |")
    for e in (1, 2, 3, 6):
        fm_tau = kendalltau(merged[f"e{e}Accuracy_fm"], merged["MaxAccuracy_fm"])[0]
        c10_tau = kendalltau(merged[f"e{e}Accuracy_c10"], merged["MaxAccuracy_c10"])[0]
        print(
            f"| epoch-{e} accuracy vs final: Fashion-MNIST / CIFAR-10 | {fm_tau:.2f} / "
            f"{c10_tau:.2f} |"
        )
    macs = kendalltau(merged["MaxAccuracy_fm"], merged["NumMACs_fm"])[0]
    print(f"| Fashion-MNIST final vs NumMACs | {macs:.2f} |")


def sweeps(epochs: int) -> dict[str, dict[str, PrunerFactory]]:
    """Each family's settings along its knob, by family and setting: Optuna's pruners built as
    for the tables above (``optuna_pruners``), at warm-ups up to 10 epochs; the learner's
    defaults (``risk=0.075``) and transfer mode's (confidence 0.95) among them."""

    def optuna_pruner(name: str, warmup: int) -> PrunerFactory:
        make = optuna_pruners(warmup=warmup, max_resource=epochs)[name]
        return lambda c: make()

    def transfer(confidence: float) -> PrunerFactory:
        settings = {**TRANSFER_LEARNER, "confidence": confidence}
        return lambda c: NAAPPruner(learn=StudyLearner(**settings), transfer=c.prior())

    def scratch(risk: float) -> PrunerFactory:
        return lambda c: NAAPPruner(learn=StudyLearner(risk=risk), transfer=False)

    warmups = [w for w in (1, 2, 3, 4, 6, 8, 10) if w < epochs]
    warmed = {
        f"{name} (n_warmup_steps)": {
            f"n_warmup_steps {w}": optuna_pruner(name, w) for w in warmups
        }
        for name in ("median", "percentile75")
    }
    builtin = builtin_pruners(epochs)
    return {
        **warmed,
        "naap-scratch (risk)": {f"risk {r:g}": scratch(r) for r in (0.2, 0.1, 0.075, 0.05, 0.02)},
        "naap-transfer (confidence)": {
            f"confidence {q:g}": transfer(q) for q in (0.8, 0.9, 0.95, 0.99)
        },
        # for reference, one point each: knowledge of the task itself, and the floor
        "naap (the task's own rows)": {"defaults": builtin["naap"]},
        "oracle": {"knows the finals": builtin["oracle"]},
    }


def compute_at_recall(points: list[tuple[float, float]], recall: float) -> str:
    """The compute a family needs for ``recall``, as text: linear between the two swept
    (compute, recall) points, in order of compute, where its recall first reaches ``recall``;
    "at most" the cheapest setting's compute when that one already does; "not reached"."""
    points = sorted(points)
    recall -= 1e-9  # recalls are means over studies: the same share can differ in the last bit
    if points[0][1] >= recall:
        return f"at most {100 * points[0][0]:.1f}%"
    for (c0, r0), (c1, r1) in itertools.pairwise(points):
        if r1 >= recall:
            return f"{100 * (c0 + (c1 - c0) * (recall - r0) / (r1 - r0)):.1f}%"
    return "not reached"


def equal_recall(
    fm: pd.DataFrame, knowledge: pd.DataFrame, common: dict[str, Any], plot: Path | None
) -> None:
    epochs = curve_epochs(fm)
    curves: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for family, settings in sweeps(epochs).items():
        summary = summarize(
            run_benchmark(
                fm, pruners=settings, data="fashion-mnist", knowledge=knowledge, **common
            )
        )
        curves[family] = [(row["pruner"], row) for row in summary]
    print(f"Fashion-MNIST replay, {len(fm)} schemes, {epochs} epochs, each family swept:\n")
    print("| family | setting | compute | top-10 recall (min) | regret, pp (max) | 1st prune |")
    print("|---|---|---|---|---|---|")
    for family, rows in curves.items():
        for setting, row in rows:
            print(f"| {family} | {setting} | {cells(row)}")
    target = dict(curves["naap-transfer (confidence)"])[
        f"confidence {TRANSFER_LEARNER['confidence']:g}"
    ]["recall"]
    print(
        f"\nCompute for a top-10 recall of {target:.3f} (naap-transfer's defaults) and of 0.95:\n"
    )
    print(f"| family | recall {target:.3f} | recall 0.95 |\n|---|---|---|")
    for family, rows in curves.items():
        points = [(r["compute"], r["recall"]) for _, r in rows]
        at = [compute_at_recall(points, recall) for recall in (target, 0.95)]
        print(f"| {family} | {at[0]} | {at[1]} |")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 5.5))
        for family, rows in curves.items():
            xs = [100 * r["compute"] for _, r in rows]
            ys = [r["recall"] for _, r in rows]
            marker = "*" if family.startswith("naap") else "o"
            ax.plot(xs, ys, marker=marker, markersize=10 if len(xs) == 1 else 6, label=family)
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("compute (% of training every scheme fully)")
        ax.set_ylabel("top-10 recall (mean of 6 studies)")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(f"Fashion-MNIST replay ({len(fm)} schemes, {epochs} epochs): each knob swept")
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
        print(f"\nwrote {plot}")


if __name__ == "__main__":
    main()
