"""Does a 0-epoch pre-screen in NAAPSampler save compute on top of NAAPPruner?

Run: ``python benchmarks/prescreen.py [--rows train|all] [--epsilon] [--max-epochs N]
[--architecture-model catboost|gp]``.

The replay protocol of ``optuna-naap benchmark`` (2 disjoint folds; everything that learns is fit
on the other fold): NAAPPruner with its defaults alone, and with ``NAAPSampler(base,
prescreen=SchemePrescreen(...))`` at several confidence levels, which skips schemes before their
first epoch when the 0-epoch predictor says they cannot reach the top-20. ``--epsilon`` fits the
0-epoch predictor with the zero-cost epsilon score (grey-scale batch) as an extra feature.
``--rows train`` replays the 400 training rows (IsTest == 0) to choose; ``--rows all`` reports.
``--objectives accuracy,macs`` (or ``accuracy,params``) replays the multi-objective study: the
pruner's Pareto rule and the pre-screen on the front (both with the other fold's rows as
reference results), figures as ``optuna-naap benchmark --objectives``. ``--max-epochs N``
replays a shorter budget: the rows cut to it (exact for the NAAP recipe), so
predictors, references and finals are all N-epoch ones, as ``optuna-naap search --epochs N``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import optuna
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from optuna_naap import DECISION_ATTR, NAAPPredictor, NAAPSampler, SchemePrescreen, load_naap440
from optuna_naap.benchmark import FitContext, ReplayResult, replay_study, summarize
from optuna_naap.data import truncate_curves
from optuna_naap.pareto import ParetoReferences

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", choices=("train", "all"), default="train")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--confidence", type=float, nargs="*", default=[0.9, 0.95, 0.99])
    parser.add_argument("--epsilon", action="store_true", help="epsilon as a 0-epoch feature")
    parser.add_argument("--max-epochs", type=int, default=90, help="budget (default 90)")
    parser.add_argument("--objectives", default=None, help="e.g. accuracy,macs")
    parser.add_argument(
        "--architecture-model",
        choices=("catboost", "gp"),
        default="catboost",
        help="the pre-screen's 0-epoch predictor (default catboost)",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    if args.epsilon:
        from optuna_naap.epsilon import add_epsilon

        frame = add_epsilon(frame)
    rows = frame[frame.IsTest == 0].reset_index(drop=True) if args.rows == "train" else frame
    if args.max_epochs < 90:
        rows = truncate_curves(rows, args.max_epochs)
    settings: list[float | None] = [None, *args.confidence]
    order = np.random.default_rng(0).permutation(len(rows))
    parts = np.array_split(order, 2)
    runs = list(itertools.product(range(2), settings, ("random", "tpe"), range(args.seeds)))
    results: list[ReplayResult] = []
    screened: dict[str, list[float]] = {}
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replay studies", total=len(runs))
        contexts: dict[int, tuple[FitContext, NAAPPredictor]] = {}
        for fold, confidence, sampler, seed in runs:
            if fold not in contexts:
                fit_rows = rows.iloc[parts[1 - fold]]
                extra = ("Epsilon",) if args.epsilon else ()
                zero = NAAPPredictor(
                    0, extra_features=extra, architecture_model=args.architecture_model
                ).fit(fit_rows)
                contexts = {fold: (FitContext(fit_rows, args.max_epochs), zero)}
            context, zero = contexts[fold]
            base = (
                optuna.samplers.RandomSampler(seed=seed)
                if sampler == "random"
                else optuna.samplers.TPESampler(seed=seed)
            )
            prescreen = (
                None
                if confidence is None
                else SchemePrescreen(
                    zero,
                    confidence=confidence,
                    reference_values=context.rows["MaxAccuracy"].to_numpy("float64"),
                    pareto_references=ParetoReferences(context.rows),
                )
            )
            setting = "naap" if confidence is None else f"naap + prescreen c{confidence:g}"
            name = f"{setting} / {sampler}"
            storage = optuna.storages.InMemoryStorage()
            result = replay_study(
                rows.iloc[parts[fold]],
                context.naap(),
                sampler=NAAPSampler(base, prescreen=prescreen),
                seed=seed,
                max_epochs=args.max_epochs,
                objectives=args.objectives,
                name=name,
                fold=fold,
                storage=storage,
                study_name="prescreen",
            )
            results.append(result)
            study = optuna.load_study(study_name="prescreen", storage=storage)
            skipped = sum(
                t.user_attrs.get(DECISION_ATTR, {}).get("epoch") == 0 and not t.intermediate_values
                for t in study.trials
            )
            screened.setdefault(name, []).append(skipped / len(study.trials))
            bar.advance(task)

    pareto = args.objectives is not None
    table = Table(
        title=f"Pre-screen on the NAAP-440 replay ({args.rows} rows: {len(rows)}, "
        f"{args.max_epochs} epochs{', ' + args.objectives if pareto else ''})"
    )
    figures = (
        ("front recall", "min", "HV regret %") if pareto else ("recall", "min recall", "regret")
    )
    for column in ("setting / base sampler", "compute %", *figures):
        table.add_column(column, justify="right")
    table.add_column("skipped before training %", justify="right")
    for row in summarize(results):
        values = (
            (f"{row['front_recall']:.3f}", f"{row['min_front_recall']:.2f}",
             f"{100 * row['hv_regret']:.3f}")
            if pareto
            else (f"{row['recall']:.3f}", f"{row['min_recall']:.2f}", f"{row['regret']:.4f}")
        )  # fmt: skip
        table.add_row(
            row["pruner"],
            f"{100 * row['compute']:.1f}",
            *values,
            f"{100 * np.mean(screened[row['pruner']]):.1f}",
        )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
