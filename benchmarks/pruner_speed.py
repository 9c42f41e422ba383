"""How long NAAPPruner's decision takes: median ``should_prune`` with 1000 finished trials.

Run: ``python benchmarks/pruner_speed.py [--naap440 PATH]``. Fits the default predictor for epoch 9
on NAAP-440's training rows, fills an in-memory study with 1000 COMPLETE trials, then times
``trial.should_prune()`` for trials replaying test-split curves: at the decision epoch (where the
predictor runs) and at the other epochs (where the pruner only looks at the step).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import optuna

from optuna_naap import NAAPPredictor, NAAPPruner, load_naap440, record_scheme, report_epoch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/naap440/naap440v2.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--finished", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    started = time.perf_counter()
    predictor = NAAPPredictor(9).fit(train)
    print(f"fit NAAPPredictor(9) on {len(train)} rows: {time.perf_counter() - started:.1f} s")
    pruner = NAAPPruner(predictor, reference_values=train["MaxAccuracy"].to_numpy())
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


if __name__ == "__main__":
    main()
