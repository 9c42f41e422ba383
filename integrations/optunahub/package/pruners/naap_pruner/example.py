"""NAAPPruner from OptunaHub on Optuna's simple pruning example (SGDClassifier on digits)."""

import optuna
import optunahub
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

module = optunahub.load_module(package="pruners/naap_pruner")
NAAPPruner = module.NAAPPruner

x, y = load_digits(return_X_y=True)
x_train, x_valid, y_train, y_valid = train_test_split(x / 16.0, y, random_state=0)
classes = sorted(set(y))


def objective(trial: optuna.trial.Trial) -> float:
    alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
    penalty = trial.suggest_categorical("penalty", ["l2", "l1", "elasticnet", None])
    clf = SGDClassifier(alpha=alpha, penalty=penalty, random_state=trial.number)
    accuracy = 0.0
    for step in range(20):
        clf.partial_fit(x_train, y_train, classes=classes)
        accuracy = clf.score(x_valid, y_valid)
        trial.report(accuracy, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return accuracy


study = optuna.create_study(direction="maximize", pruner=NAAPPruner())
study.optimize(objective, n_trials=30)
pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
print(f"best accuracy {study.best_value:.4f}; {len(pruned)} of {len(study.trials)} trials pruned")
