"""Choose how the learnt rule's measured trust is judged, on NAAP-440's TRAINING rows only.

Run: ``python benchmarks/tune_learnt_gate.py``. The 400 training rows (IsTest == 0) are replayed
twice: cut to 12 epochs as an undeclared task (transfer mode: ``NAAPPruner()`` with a prior fit
on the other fold, the proxy ``benchmarks/tune_transfer.py`` chose transfer mode's settings on)
and at 90 epochs with no predictors (``NAAPPruner(transfer=False)``, from scratch). For each
judgement of the learnt rule's trust (``optuna_naap._trust.LEARNT_GATE``: ``rank``, ``replay``,
``None``) it prints compute, top-10 recall, regret and the first pruned trial. The objectives
suite's side of the choice is ``benchmarks/tune_trust.py`` (tuning seeds 100-104).
"""

from __future__ import annotations

import warnings

import optuna

import optuna_naap._trust as trust
from optuna_naap import NAAPPruner, StudyLearner, load_naap440
from optuna_naap._transfer import TRANSFER_LEARNER
from optuna_naap.benchmark import run_benchmark, summarize


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    frame = load_naap440()
    train = frame[frame.IsTest == 0].reset_index(drop=True)
    for gate in ("rank", "replay", None):
        trust.LEARNT_GATE = gate
        for label, max_epochs, data, factory in (
            (
                "transfer, 12 epochs",
                12,
                "proxy",
                lambda c: NAAPPruner(
                    learn=StudyLearner(**{**TRANSFER_LEARNER, "risk": 0.05}), transfer=c.prior()
                ),
            ),
            (
                "scratch, 90 epochs",
                90,
                "cifar10",
                lambda c: NAAPPruner(learn=StudyLearner(risk=0.05), transfer=False),
            ),
        ):
            results = run_benchmark(
                train,
                pruners={label: factory},
                samplers=["random"],
                seeds=[0, 1, 2],
                folds=2,
                max_epochs=max_epochs,
                data=data,
                predictor_options={"iterations": 100, "learning_rate": 0.15, "n_models": 1},
            )
            for row in summarize(results):
                print(
                    f"gate={gate!s:7s} {row['pruner']:22s} compute {row['compute']:.3f} "
                    f"recall {row['recall']:.3f} (min {row['min_recall']:.2f}) "
                    f"regret {100 * row['regret']:.2f} pp first pruned {row['first_pruned']:.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
