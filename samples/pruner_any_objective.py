"""NAAPPruner on an objective that is not a NAAP scheme: a small MLP on scikit-learn's digits.

``NAAPPruner()`` with no arguments: the MedianPruner rule at every epoch, and at 10%, 25% and 50%
of training a model learnt from the study's own completed trials (their params and first epochs)
that prunes trials whose predicted final accuracy cannot reach the study's top 5. The same study
is then run with MedianPruner and without pruning, with the same sampler seed.

Run: ``python samples/pruner_any_objective.py [--trials 60] [--epochs 30] [--fast]``
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np
import optuna
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from optuna_naap import DECISION_ATTR, NAAPPruner


def make_objective(epochs: int) -> Callable[[optuna.trial.Trial], float]:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x / 16.0, y, test_size=0.3, random_state=0, stratify=y
    )
    classes = np.unique(y)

    def objective(trial: optuna.trial.Trial) -> float:
        width = trial.suggest_categorical("width", [8, 16, 32, 64])
        lr = trial.suggest_float("learning_rate_init", 1e-5, 1e-1, log=True)
        alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        model = MLPClassifier(
            hidden_layer_sizes=(width,),
            learning_rate_init=lr,
            alpha=alpha,
            batch_size=64,
            random_state=trial.number,
        )
        best = 0.0
        for epoch in range(1, epochs + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(x_train, y_train, classes=classes)
            accuracy = float(model.score(x_test, y_test))
            best = max(best, accuracy)
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return best

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--fast", action="store_true", help="20 trials of 10 epochs (CI)")
    args = parser.parse_args()
    if args.fast:
        args.trials, args.epochs = 20, 10
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def run(pruner: optuna.pruners.BasePruner) -> optuna.study.Study:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=0), pruner=pruner
        )
        study.optimize(make_objective(args.epochs), n_trials=args.trials)
        return study

    print(f"{args.trials} trials of up to {args.epochs} epochs (TPE, seed 0)")
    for name, pruner in (
        ("NAAPPruner()", NAAPPruner()),
        ("MedianPruner()", optuna.pruners.MedianPruner()),
        ("no pruning", optuna.pruners.NopPruner()),
    ):
        study = run(pruner)
        epochs_run = sum(len(t.intermediate_values) for t in study.trials)
        n_pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
        print(
            f"{name:15s} {n_pruned:3d} pruned, {epochs_run / (args.trials * args.epochs):4.0%} "
            f"of the epochs, best {study.best_value:.4f}"
        )
        if isinstance(pruner, NAAPPruner):
            decided = [t for t in study.trials if DECISION_ATTR in t.user_attrs]
            last = decided[-1].user_attrs[DECISION_ATTR] if decided else {}
            print(f"  last decision: {last.get('verdict')} - {last.get('reason')}")


if __name__ == "__main__":
    main()
