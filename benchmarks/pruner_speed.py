"""How long NAAPPruner's decision takes: median ``should_prune`` with 1000 finished trials.

Run: ``python benchmarks/pruner_speed.py [--naap440 PATH] [--risk 0.05]``. Two parts:

* NAAP-440 mode: fits the default predictor for epoch 9 on NAAP-440's training rows, fills an
  in-memory study with 1000 COMPLETE trials, then times ``trial.should_prune()`` for trials
  replaying test-split curves: at the decision epoch (where the predictor runs) and at the other
  epochs (where the pruner only looks at the step).
* Multi-objective mode (accuracy against MACs): the same predictor and test-split curves in a
  study of 1000 COMPLETE (accuracy, MACs) trials, asked through ``optuna_naap.should_prune``.
* Generic mode (``NAAPPruner()``, no NAAP scheme): 1000 COMPLETE trials with three params and
  30-step curves, then every step of 200 new trials; the learnt model's refits are timed apart
  (they happen when the study has grown by 25%, not at every decision).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from optuna_naap import (
    NAAPPredictor,
    NAAPPruner,
    Recipe,
    SchemeRule,
    load_naap440,
    record_scheme,
    record_task,
    report_epoch,
)
from optuna_naap._optuna import quiet_experimental

DEFAULT_DATA = None  # the NAAP-440 copy shipped in the package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--finished", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument(
        "--risk", type=float, default=None, help="generic mode: StudyLearner(risk=...) too"
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    started = time.perf_counter()
    predictor = NAAPPredictor(9).fit(train)
    print(f"fit NAAPPredictor(9) on {len(train)} rows: {time.perf_counter() - started:.1f} s")
    pruner = NAAPPruner(SchemeRule(predictor, reference_values=train["MaxAccuracy"].to_numpy()))
    study = optuna.create_study(direction="maximize", pruner=pruner)
    rng = np.random.default_rng(0)
    study.add_trials(
        [
            optuna.trial.create_trial(value=float(v), state=optuna.trial.TrialState.COMPLETE)
            for v in rng.uniform(0.3, 0.8, args.finished)
        ]
    )

    decision: list[float] = []
    other: list[float] = []
    for i in range(args.decisions):
        row = test.iloc[i % len(test)]
        trial = study.ask()
        record_scheme(trial, json.loads(row["Scheme"]))
        record_task(trial, "cifar10", epochs=90, recipe=Recipe())  # NAAP-440's rule decides
        pruned = False
        for epoch in range(1, 10):
            report_epoch(
                trial,
                epoch,
                accuracy=float(row[f"e{epoch}Accuracy"]),
                loss_mean=float(row[f"e{epoch}LossMean"]),
                loss_median=float(row[f"e{epoch}LossMedian"]),
            )
            started = time.perf_counter()
            pruned = trial.should_prune()
            (decision if epoch == 9 else other).append(time.perf_counter() - started)
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, float(row["MaxAccuracy"]))

    def ms(values: list[float], q: float) -> float:
        return 1000 * float(np.quantile(values, q))

    print(f"{args.finished} finished trials in an in-memory study, {args.decisions} decisions")
    print(
        f"should_prune at the decision epoch: median {1000 * statistics.median(decision):.2f} ms, "
        f"p90 {ms(decision, 0.9):.2f} ms"
    )
    print(
        f"should_prune at other epochs:       median {1000 * statistics.median(other):.3f} ms, "
        f"p90 {ms(other, 0.9):.3f} ms"
    )

    pareto(predictor, train, test, args.finished, args.decisions)
    generic(args.finished, args.decisions)
    if args.risk is not None:
        generic(args.finished, args.decisions, args.risk)


def pareto(predictor: NAAPPredictor, train: Any, test: Any, finished: int, decisions: int) -> None:

    from optuna_naap import should_prune
    from optuna_naap.pareto import ParetoReferences

    pruner = NAAPPruner(SchemeRule(predictor, pareto_references=ParetoReferences(train)))
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=pruner)
    with quiet_experimental():
        study.set_metric_names(["accuracy", "macs"])
    rng = np.random.default_rng(0)
    study.add_trials(
        [
            optuna.trial.create_trial(values=[float(a), float(m)])
            for a, m in zip(
                rng.uniform(0.3, 0.8, finished), 10 ** rng.uniform(5, 9, finished), strict=True
            )
        ]
    )
    times: list[float] = []
    for i in range(decisions):
        row = test.iloc[i % len(test)]
        trial = study.ask()
        record_scheme(trial, json.loads(row["Scheme"]))
        record_task(trial, "cifar10", epochs=90, recipe=Recipe())  # NAAP-440's rule decides
        for epoch in range(1, 10):
            report_epoch(
                trial,
                epoch,
                accuracy=float(row[f"e{epoch}Accuracy"]),
                loss_mean=float(row[f"e{epoch}LossMean"]),
                loss_median=float(row[f"e{epoch}LossMedian"]),
            )
            if epoch == 9:
                started = time.perf_counter()
                should_prune(trial)
                times.append(time.perf_counter() - started)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    print(
        f"multi-objective (accuracy, MACs), {finished} finished trials: should_prune at the "
        f"decision epoch: median {1000 * statistics.median(times):.2f} ms, "
        f"p90 {1000 * float(np.quantile(times, 0.9)):.2f} ms"
    )


def generic(finished: int, decisions: int, risk: float | None = None) -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from optuna_naap import StudyLearner

    rng = np.random.default_rng(0)
    distributions = {
        "lr": FloatDistribution(1e-4, 1.0, log=True),
        "dropout": FloatDistribution(0.0, 0.5),
        "optimizer": CategoricalDistribution(["sgd", "adam", None]),
    }

    def curve(ceiling: float) -> dict[int, float]:
        speed = rng.uniform(2, 10)
        return {s: ceiling * (1 - np.exp(-(s + 1) / speed)) for s in range(30)}

    learner = StudyLearner(risk=risk)
    study = optuna.create_study(direction="maximize", pruner=NAAPPruner(learn=learner))
    trials = []
    for _ in range(finished):
        ceiling = float(rng.uniform(0.5, 0.95))
        params = {
            "lr": float(10 ** rng.uniform(-4, 0)),
            "dropout": float(rng.uniform(0, 0.5)),
            "optimizer": ["sgd", "adam", None][int(rng.integers(3))],
        }
        trials.append(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=ceiling,
                intermediate_values=curve(ceiling),
            )
        )
    study.add_trials(trials)
    times: list[float] = []
    refits: list[float] = []
    for _ in range(decisions):
        trial = study.ask(distributions)
        values = curve(float(rng.uniform(0.5, 0.95)))
        pruned = False
        for step, value in values.items():
            trial.report(float(value), step)
            fitted = learner._state(study).fit_seconds
            started = time.perf_counter()
            pruned = trial.should_prune()
            spent = time.perf_counter() - started
            refit = learner._state(study).fit_seconds - fitted
            (refits if refit > 0 else times).append(spent)
            if pruned:
                break
        study.tell(trial, state=optuna.trial.TrialState.PRUNED) if pruned else study.tell(
            trial, float(list(values.values())[-1])
        )
    name = "NAAPPruner()" if risk is None else f"NAAPPruner(learn=StudyLearner(risk={risk:g}))"
    print(f"generic mode, {name}: {finished} finished trials, {decisions} new trials")
    print(
        f"should_prune: median {1000 * statistics.median(times):.2f} ms, "
        f"p90 {1000 * float(np.quantile(times, 0.9)):.2f} ms over {len(times)} calls; "
        f"{len(refits)} call(s) refit the model: {', '.join(f'{r:.2f} s' for r in refits)}"
    )


if __name__ == "__main__":
    main()
