"""``optuna-naap benchmark``: NAAPPruner against Optuna's pruners (NAAP-440 replay, or real
objectives run offline)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_naap.cli._benchmark_options import ReplayOptions, SuiteOptions
from optuna_naap.cli._benchmark_tables import naap440_table, objectives_tables
from optuna_naap.cli._common import positive_int

if TYPE_CHECKING:
    pass

NAME = "benchmark"
HELP = "compare NAAPPruner with Optuna's pruners (NAAP-440 replay, or real objectives)"
DESCRIPTION = (
    "--suite naap440 (default): split the NAAP-440 rows into disjoint folds; for each "
    "fold, fit on the others and replay every scheme of the fold once per sampler and "
    "seed, under each pruner. Figures: compute (epochs run / full training of the "
    "fold), regret (best MaxAccuracy of the fold minus the study's best), top-10 "
    "recall, wall time. --suite objectives: run real objectives offline (scikit-learn, "
    "torch, LightGBM/XGBoost/CatBoost callbacks, a noisy minimize objective) under "
    "each pruner with default settings and a seeded TPE sampler. Figures: steps run, "
    "best value (and its shortfall against no pruning), wall time, time in the pruner."
)


#: The pruner names of each benchmark (a test checks them against the benchmark modules).
REPLAY_PRUNERS = (
    "nop", "median", "percentile75", "successive-halving", "hyperband", "wilcoxon",
    "patient-median", "top10-after-1", "oracle", "naap", "naap-transfer", "naap-scratch",
    "naap-at-10%", "naap-cautious", "naap-top10", "naap-wide",
)  # fmt: skip
PARETO_PRUNERS = ("nop", "median-accuracy", "NAAPPruner", "oracle", "NAAPPruner-lean")
SUITE_PRUNERS = (
    "nop", "median", "percentile25", "percentile75", "successive-halving", "hyperband",
    "wilcoxon", "patient-median", "tuned", "naap",
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suite",
        choices=("naap440", "objectives"),
        default="naap440",
        help="what to benchmark on (default naap440)",
    )
    parser.add_argument(
        "--objectives",
        metavar="NAMES",
        help="--suite naap440: the study's objectives, e.g. accuracy,macs or accuracy,params "
        "(a multi-objective replay: Pareto-front recall and hypervolume regret; default "
        "accuracy), as search's --objectives",
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="--suite objectives: run only these objectives (default: all of "
        "sgd-digits,mlp-digits,torch-digits,lightgbm-breast,xgboost-breast,xgboost-auc,"
        "catboost-breast,noisy-minimize,warmup-dip,crossing-curves)",
    )
    parser.add_argument(
        "--n-trials",
        type=positive_int,
        metavar="N",
        help="--suite objectives: trials per study (default 50; the naap440 replay runs every "
        "row of a fold)",
    )
    parser.add_argument(  # the old spelling, kept for a release
        "--trials", type=positive_int, dest="n_trials", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--naap440",
        metavar="PATH",
        help="a NAAP-440 CSV (v2); default: the published file shipped in the package",
    )
    parser.add_argument(
        "--task-data",
        metavar="NAME",
        default="cifar10",
        help="--suite naap440: the data the replayed rows were trained on, declared by each "
        "replayed trial (default cifar10: NAAP-440's rows); another name, e.g. fashion-mnist "
        "for benchmarks/data/fashion-mnist-12.csv, replays them as that task, and "
        "naap-transfer takes the packaged NAAP-440 rows as its prior",
    )
    parser.add_argument(
        "--pruners",
        metavar="NAMES",
        help=f"comma-separated pruner names (default: all). naap440: {', '.join(REPLAY_PRUNERS)} "
        f"(with --objectives: {', '.join(PARETO_PRUNERS)}); objectives: "
        f"{', '.join(SUITE_PRUNERS)}".replace("%", "%%"),
    )
    parser.add_argument(
        "--samplers",
        metavar="NAMES",
        help=(
            "among random,tpe,nsga2,nsga2-optuna (default random,tpe; with --objectives "
            "random,tpe,nsga2); nsga2 counts pruned trials at their predicted values, "
            "nsga2-optuna is Optuna's own, which counts completed trials only"
        ),
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=3, metavar="N", help="seeds (default 3)"
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        metavar="N",
        help="--suite objectives: the first seed (default 0; the learner's settings were "
        "chosen on seeds from 100)",
    )
    parser.add_argument(
        "--folds", type=positive_int, default=2, metavar="N", help="disjoint folds (default 2)"
    )
    parser.add_argument(
        "--max-epochs",
        type=positive_int,
        metavar="N",
        help="epochs of full training replayed (default: all 90)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="small predictors (for smoke runs; the figures in the docs use the defaults)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="how results are printed: table (default) or json",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="also write benchmark.json and pareto.png here"
    )


def take_action(args: argparse.Namespace) -> int:
    if args.suite == "objectives":
        return _objectives(SuiteOptions.from_args(args))
    return _naap440(ReplayOptions.from_args(args))


def _naap440(options: ReplayOptions) -> int:
    from optuna_naap._data import load_naap440
    from optuna_naap.benchmark import pareto_front, run_benchmark, summarize

    objectives = options.objectives
    frame = load_naap440(options.naap440)
    knowledge = None
    if options.task_data != "cifar10":
        knowledge = load_naap440()  # the packaged rows: transfer from NAAP-440
        knowledge = knowledge[knowledge["IsTest"] == 0]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per replayed trial is noise
    fast = {"iterations": 100, "learning_rate": 0.15, "n_models": 1}
    predictor_options = fast if options.fast else None
    results = run_benchmark(
        frame,
        pruners=options.pruners,
        samplers=options.samplers,
        seeds=list(range(options.seeds)),
        folds=options.folds,
        max_epochs=options.max_epochs,
        predictor_options=predictor_options,
        progress=True,
        objectives=objectives,
        data=options.task_data,
        knowledge=knowledge,
    )
    summary = summarize(results)
    front = pareto_front(summary, key="front_recall" if objectives else "recall")
    document = {
        "protocol": {
            "rows": len(frame),
            "folds": options.folds,
            "seeds": options.seeds,
            "samplers": sorted({r.sampler for r in results}),
            "objectives": ",".join(objectives.names) if objectives else "accuracy",
            "max_epochs": options.max_epochs,
            "task_data": options.task_data,
            "fast_predictors": options.fast,
        },
        "summary": [{**row, "pareto": flag} for row, flag in zip(summary, front, strict=True)],
        "studies": [r.to_json() for r in results],
    }
    if options.out is not None:
        _write_replay(options.out, document, summary, frame, options, predictor_options)
    if options.format == "json":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    naap440_table(summary, front, len(frame), options)
    return 0


def _write_replay(
    out: Path,
    document: dict[str, Any],
    summary: list[dict[str, Any]],
    frame: Any,
    options: ReplayOptions,
    predictor_options: dict[str, Any] | None,
) -> None:
    """benchmark.json and the plot: compute against recall, or the fronts of one replay."""
    from optuna_naap.benchmark import plot_fronts, plot_pareto

    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(document, indent=1))
    if options.objectives is None:
        what = "NAAP-440" if options.task_data == "cifar10" else options.task_data
        budget = f" at {options.max_epochs} epochs" if options.max_epochs else ""
        plot_pareto(summary, str(out / "pareto.png"), title=f"{what} replay{budget}")
    else:
        plot_fronts(
            frame,
            options.objectives,
            str(out / "pareto.png"),
            max_epochs=options.max_epochs,
            predictor_options=predictor_options,
        )


def _objectives(options: SuiteOptions) -> int:
    import optuna

    from optuna_naap.benchmark import plot_anytime, plot_suite, run_suite, summarize_suite, totals

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are counted instead
    results, notes = run_suite(
        objectives=options.only,
        pruners=options.pruners,
        seeds=list(range(options.first_seed, options.first_seed + options.seeds)),
        n_trials=options.n_trials,
        progress=options.format == "table",
    )
    summary = summarize_suite(results)
    document = {
        "protocol": {
            "suite": "objectives",
            "seeds": options.seeds,
            "first_seed": options.first_seed,
            "trials": options.n_trials,
        },
        "notes": notes,
        "summary": summary,
        "totals": totals(summary),
        "studies": [r.to_json() for r in results],
    }
    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / "suite.json").write_text(json.dumps(document, indent=1))
        plot_suite(summary, str(options.out / "suite.png"))
        plot_anytime(results, str(options.out / "anytime.png"))
    if options.format == "json":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    objectives_tables(summary, notes, options)
    return 0
