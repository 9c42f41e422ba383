"""The transfer benchmark: NAAP-440's knowledge on another task, and on a shorter budget.

Run: ``python benchmarks/transfer.py [--fashion-mnist benchmarks/data/fashion-mnist-12.csv]
[--plot docs/images/transfer_fashion_mnist.png]``. Prints, as markdown for docs/transfer.md:

1. the Fashion-MNIST replay (the project's own 12-epoch curves of the NAAP-440 schemes; each
   replayed trial declares ``fashion-mnist``): nop, Optuna's pruners, ``naap-scratch``,
   ``naap-transfer`` (the packaged NAAP-440 training rows as the prior) and ``naap`` (predictors
   fit on the other fold of the Fashion-MNIST rows);
2. the same learner settings as ``naap-transfer`` without the prior (what the prior adds);
3. NAAP-440 at a 30-epoch budget (its rows cut to 30 epochs, exact for the NAAP recipe);
4. Kendall tau of the same schemes' finals across tasks and of early accuracy against finals.

Random sampler, 2 folds x 3 seeds. MaxAccuracy is the best of the test-set evaluations of each
run (CIFAR-10's test set for NAAP-440, a 2,000-image Fashion-MNIST test subset for the other).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import optuna
from scipy.stats import kendalltau

from optuna_naap import NAAPPruner, StudyLearner, load_naap440
from optuna_naap._pruner import TRANSFER_LEARNER
from optuna_naap.benchmark import builtin_pruners, plot_pareto, run_benchmark, summarize
from optuna_naap.data import curve_epochs, truncate_curves

REPO = Path(__file__).resolve().parent.parent
PRUNERS = ("nop", "median", "percentile75", "successive-halving", "naap-scratch", "naap-transfer")


def table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| pruner | compute | top-10 recall (min) | regret, pp (max) | 1st prune |",
        "|---|---|---|---|---|",
    ]
    for row in summary:
        first = row["first_pruned"]
        lines.append(
            f"| `{row['pruner']}` | {100 * row['compute']:.1f}% | {row['recall']:.3f} "
            f"({row['min_recall']:.2f}) | {100 * row['regret']:.2f} "
            f"({100 * row['max_regret']:.2f}) | {'-' if first != first else f'{first:.1f}'} |"
        )
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


if __name__ == "__main__":
    main()
