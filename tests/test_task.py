"""The task a trial declares (record_task) and how it is compared with the knowledge's."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest

from optuna_naap import CIFAR10Objective, Recipe, record_task
from optuna_naap.data import synthetic_images
from optuna_naap.record import DATA_ATTR, RECIPE_ATTR, KnowledgeTask, task_mismatch

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _trial(**declared: Any) -> optuna.trial.FrozenTrial:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    if declared:
        record_task(trial, **declared)
    study.tell(trial, 0.5)
    return study.trials[0]


def test_record_task_writes_data_and_recipe() -> None:
    trial = _trial(data="cifar10", epochs=90, recipe=Recipe())
    assert trial.user_attrs[DATA_ATTR] == "cifar10"
    assert trial.user_attrs[RECIPE_ATTR] == Recipe().to_json()
    own = _trial(data="my-images", epochs=np.int64(12))  # a numpy integer, as from a frame
    assert own.user_attrs[RECIPE_ATTR] == {"name": "own", "epochs": 12}
    assert isinstance(own.user_attrs[RECIPE_ATTR]["epochs"], int)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"data": "", "epochs": 12}, "data must be the data's name"),
        ({"data": 3, "epochs": 12}, "data must be the data's name"),
        ({"data": "x", "epochs": 0}, "epochs must be a positive integer, but got epochs=0"),
        ({"data": "x", "epochs": True}, "epochs must be a positive integer"),
        ({"data": "x", "epochs": 12.0}, "epochs must be a positive integer"),
        ({"data": "x", "epochs": float("nan")}, "epochs must be a positive integer"),
        ({"data": "x", "epochs": 12, "recipe": {"lr": 0.1}}, "recipe must be a Recipe or None"),
    ],
)
def test_record_task_refuses_bad_input_and_writes_nothing(
    declared: dict[str, Any], message: str
) -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    with pytest.raises(ValueError, match=message):
        record_task(trial, **declared)
    assert study.trials[0].user_attrs == {}


@pytest.mark.parametrize(
    ("declared", "said"),
    [
        ({"data": "cifar10", "epochs": 90, "recipe": Recipe()}, None),
        ({"data": "fashion-mnist", "epochs": 90, "recipe": Recipe()}, "data fashion-mnist"),
        ({"data": "cifar10", "epochs": 30, "recipe": Recipe()}, "30 epochs"),
        ({"data": "cifar10", "epochs": 90, "recipe": Recipe(lr=0.05)}, "recipe lr=0.05"),
        ({"data": "cifar10", "epochs": 90}, "recipe own"),
        ({}, "task undeclared"),
    ],
)
def test_mismatch_names_each_difference(declared: dict[str, Any], said: str | None) -> None:
    mismatch = KnowledgeTask().mismatch(_trial(**declared))
    assert mismatch is None if said is None else said in str(mismatch)
    assert task_mismatch(_trial(**declared), 90) == mismatch


def test_knowledge_of_another_task() -> None:
    """A Fashion-MNIST dataset's knowledge: Fashion-MNIST trials are its own task."""
    task = KnowledgeTask("fashion-mnist", 12)
    assert task.mismatch(_trial(data="fashion-mnist", epochs=12, recipe=Recipe())) is None
    assert "data cifar10" in str(task.mismatch(_trial(data="cifar10", epochs=12, recipe=Recipe())))
    assert task.describe() == "fashion-mnist, NAAP recipe, 12 epochs"


def test_cifar10_objective_declares_its_task() -> None:
    data = synthetic_images(n_train=64, n_test=32, seed=0)
    objective = CIFAR10Objective(data, Recipe(epochs=1), "cpu")
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert KnowledgeTask("synthetic", 1).mismatch(trial) is None
    assert "data synthetic; 1 epochs" in str(KnowledgeTask().mismatch(trial))
    # The same run judged by a pruner fit for another batch size: another recipe.
    other = CIFAR10Objective(data, Recipe(epochs=1, batch_size=32), "cpu")
    study.optimize(other, n_trials=1)
    assert "recipe batch_size=32" in str(KnowledgeTask("synthetic", 1).mismatch(study.trials[1]))
