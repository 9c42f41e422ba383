"""Benchmarks of pruners without a GPU: the replay of recorded curves (NAAP-440's, or a data set
built with ``optuna-naap build-dataset``) and the suite of real objectives.

One trial replays one scheme: the study's sampler proposes a scheme with
:func:`~optuna_naap.suggest_scheme`, the replay runs the nearest scheme of the pool that has not
run yet (so every study visits each scheme of the pool once, in an order the sampler decides),
records it and reports its 90 recorded epochs through :func:`~optuna_naap.report_epoch`, asking
the pruner after each. The protocol splits the rows into disjoint folds: pruners that learn
(NAAPPruner) are fit on the other folds and replayed over one, for several seeds and samplers.

Figures per run: *compute* (epochs run / epochs of full training of the pool), *regret* (best
``MaxAccuracy`` of the pool minus the study's best value), *top-10 recall* (share of the pool's 10
best schemes that ran to completion) and wall time. ``MaxAccuracy`` is the best of 90 CIFAR-10
test-set evaluations, as in the NAAP-440 CSV: the replay returns it as the trial's value.

The suite of real objectives (:func:`run_suite`) is Optuna's own pruning examples, offline;
``optuna_naap.objective_suite`` is the same module under its older name.

Example:
    .. code-block:: python

        from optuna_naap import load_naap440
        from optuna_naap.benchmark import run_benchmark, summarize

        frame = load_naap440()
        results = run_benchmark(
            frame, pruners=["nop", "median", "naap"], samplers=["random"], seeds=[0]
        )
        for row in summarize(results):
            print(row)
"""

from __future__ import annotations

from optuna_naap._record import MODEL_ID_ATTR
from optuna_naap.benchmark._baselines import (
    AccuracyMedianPruner,
    EarlyTopKPruner,
    OraclePruner,
    optuna_pruners,
)
from optuna_naap.benchmark._protocol import (
    FitContext,
    PrunerFactory,
    builtin_pruners,
    run_benchmark,
)
from optuna_naap.benchmark._replay import (
    BenchmarkError,
    ReplayObjective,
    ReplayResult,
    replay_study,
)
from optuna_naap.benchmark._reports import pareto_front, plot_fronts, plot_pareto, summarize
from optuna_naap.benchmark._suite import (
    SuiteResult,
    best_within,
    plot_anytime,
    plot_suite,
    run_one,
    run_suite,
    suite_pruners,
    summarize_suite,
    totals,
)
from optuna_naap.benchmark._suite_objectives import OBJECTIVES, SuiteObjective

__all__ = [
    "MODEL_ID_ATTR",
    "OBJECTIVES",
    "AccuracyMedianPruner",
    "BenchmarkError",
    "EarlyTopKPruner",
    "OraclePruner",
    "FitContext",
    "PrunerFactory",
    "ReplayObjective",
    "ReplayResult",
    "SuiteObjective",
    "SuiteResult",
    "builtin_pruners",
    "optuna_pruners",
    "pareto_front",
    "plot_fronts",
    "plot_pareto",
    "best_within",
    "plot_anytime",
    "plot_suite",
    "replay_study",
    "run_benchmark",
    "run_one",
    "run_suite",
    "suite_pruners",
    "summarize",
    "summarize_suite",
    "totals",
]
