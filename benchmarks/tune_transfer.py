"""Choose transfer mode's learner settings on a proxy task: NAAP-440's TRAINING rows only.

Run: ``python benchmarks/tune_transfer.py``. The 400 training rows (IsTest == 0) are cut to 12
epochs (exact for the NAAP recipe) and replayed as an undeclared task, so NAAPPruner judges
them in transfer mode: the learner with an architecture-only prior fit on the other fold,
calibrated on the study's own trials. The grid: the MedianPruner floor (none, or from epoch 3),
the learnt rule's top-k bar and its confidence. The Fashion-MNIST figures in docs/transfer.md
are reported after this choice, once (benchmarks/transfer.py).
"""

from __future__ import annotations

import itertools
import warnings

import optuna

from optuna_naap import NAAPPruner, StudyLearner, load_naap440
from optuna_naap.benchmark import FitContext, PrunerFactory, run_benchmark, summarize


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    frame = load_naap440()
    train = frame[frame.IsTest == 0].reset_index(drop=True)
    grid: dict[str, PrunerFactory] = {}
    for floor, top_k, confidence in itertools.product((None, 50.0), (3, 10), (0.9, 0.95, 0.99)):

        def factory(
            c: FitContext,
            floor: float | None = floor,
            top_k: int = top_k,
            confidence: float = confidence,
        ) -> NAAPPruner:
            learner = StudyLearner(
                time_share=None,  # a replayed trial takes microseconds
                floor_percentile=floor,
                n_warmup_steps=3,
                top_k=top_k,
                confidence=confidence,
            )
            return NAAPPruner(learn=learner, transfer=c.prior())

        grid[f"floor={floor} top_k={top_k} confidence={confidence}"] = factory
    grid["median (warm-up 1)"] = lambda c: optuna.pruners.MedianPruner(
        n_startup_trials=5, n_warmup_steps=1
    )
    results = run_benchmark(
        train,
        pruners=grid,
        samplers=["random"],
        seeds=[0, 1, 2],
        folds=2,
        max_epochs=12,
        data="proxy",  # not NAAP-440's declared task: transfer mode
        predictor_options={"iterations": 100, "learning_rate": 0.15, "n_models": 1},
        progress=True,
    )
    for row in summarize(results):
        print(
            f"{row['pruner']:40s} compute {row['compute']:.3f} recall {row['recall']:.3f} "
            f"(min {row['min_recall']:.2f}) regret {100 * row['regret']:.2f} pp "
            f"first pruned at trial {row['first_pruned']:.1f}"
        )


if __name__ == "__main__":
    main()
