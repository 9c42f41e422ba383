"""``should_prune``: ``trial.should_prune()`` that also works in multi-objective studies, where
Optuna refuses it."""

from __future__ import annotations

import optuna

from optuna_naap._optuna import latest_trial
from optuna_naap._pruner import NAAPPruner
from optuna_naap._trial import is_multi_objective

__all__ = ["should_prune"]


def should_prune(trial: optuna.trial.Trial) -> bool:
    """``trial.should_prune()`` that also works in multi-objective studies.

    In a single-objective study this is ``trial.should_prune()``. In a multi-objective one,
    where Optuna raises ``NotImplementedError``, the study's pruner is asked directly: a
    :class:`~optuna_naap.NAAPPruner` judges the trial by the Pareto rule, a ``NopPruner``
    never prunes.

    Raises:
        ValueError: in a multi-objective study whose pruner cannot judge one.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPPruner, report_epoch, should_prune, suggest_scheme
            from optuna_naap.pareto import objective_values

            def objective(trial):
                suggest_scheme(trial)
                accuracy = 0.0
                for epoch in range(1, 6):
                    accuracy = 0.5 + 0.05 * epoch  # your training here
                    report_epoch(trial, epoch, accuracy=accuracy, loss_mean=1.0, loss_median=1.0)
                    if should_prune(trial):
                        raise optuna.TrialPruned()
                return objective_values(trial, accuracy)

            study = optuna.create_study(
                directions=["maximize", "minimize"], pruner=NAAPPruner()
            )
            study.set_metric_names(["accuracy", "macs"])
            study.optimize(objective, n_trials=3)
    """
    if not is_multi_objective(trial):
        return trial.should_prune()
    study = trial.study
    pruner = study.pruner
    if isinstance(pruner, optuna.pruners.NopPruner):
        return False
    if not isinstance(pruner, NAAPPruner) and not getattr(pruner, "multi_objective", False):
        raise ValueError(
            f"{type(pruner).__name__} cannot prune a multi-objective study (Optuna's pruners "
            "judge one value); use optuna_naap.NAAPPruner or NopPruner"
        )
    return bool(pruner.prune(study, latest_trial(trial)))
