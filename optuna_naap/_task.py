"""The task a trial trains on (data, recipe, epochs), and whether it is the task of some knowledge.

NAAP-440's results hold for one task: CIFAR-10, the NAAP recipe, 90 epochs. A prediction or a
final from it is on another task's scale only by luck, so the pruner applies knowledge as it is
only to trials of the knowledge's own task, and uses it as a prior otherwise (see
:class:`~optuna_naap.NAAPPruner`). The task is read from what the trial recorded:
``naap:data`` (the images' name) and ``naap:recipe`` (the recipe, epochs included), written by
:class:`~optuna_naap.CIFAR10Objective` or by :func:`record_task`. A trial that records neither
has an unknown task, which is never taken for NAAP-440's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna_naap._checks import check_int
from optuna_naap._recipe import Recipe
from optuna_naap._record import DATA_ATTR, RECIPE_ATTR
from optuna_naap._scheme import _plain

if TYPE_CHECKING:
    import optuna

__all__ = ["NAAP440_DATA", "OWN_RECIPE", "KnowledgeTask", "record_task", "task_mismatch"]

#: The data NAAP-440 was trained on, as trials record it in ``naap:data``.
NAAP440_DATA = "cifar10"
#: The ``name`` a recipe other than the NAAP recipe is recorded with.
OWN_RECIPE = "own"
#: The recipe fields that make a run's task (seed, evaluation batch and the speed options change
#: no task).
TASK_FIELDS = ("batch_size", "lr", "momentum", "weight_decay", "lr_gamma", "restart_every")
_NAAP_RECIPE = Recipe().to_json()  # read per decision: built once


def record_task(
    trial: optuna.trial.Trial,
    data: str,
    *,
    epochs: int,
    recipe: Recipe | None = None,
) -> None:
    """Declare the task ``trial`` trains on: the name of its ``data``, its ``epochs`` of full
    training, and the NAAP ``recipe`` when it trains with one (``None``: a recipe of its own).

    :class:`~optuna_naap.CIFAR10Objective` records its task itself. A hand-written objective
    that records a scheme (:func:`~optuna_naap.record_scheme`) should declare its task too:
    NAAPPruner applies NAAP-440's knowledge as it is only to trials that declare NAAP-440's task
    (``record_task(trial, "cifar10", epochs=90, recipe=Recipe())``) and uses it as a prior,
    calibrated on the study's own trials, for every other task, an undeclared one included.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import record_task

            def objective(trial):
                record_task(trial, "my-images", epochs=12)  # own data, own recipe
                return 0.5

            optuna.create_study(direction="maximize").optimize(objective, n_trials=1)

    Raises:
        ValueError: if ``data`` is not a non-empty string, ``epochs`` not a positive integer, or
            ``recipe`` not a :class:`~optuna_naap.Recipe` (nothing is written then).
    """
    if not isinstance(data, str) or not data.strip():
        raise ValueError(f"data must be the data's name (a non-empty string), but got {data=}")
    epochs = _plain(epochs)  # a numpy integer, as read from a DataFrame
    check_int("epochs", epochs, low=1)
    if recipe is not None and not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a Recipe or None, but got {type(recipe).__name__}")
    record = (
        {"name": OWN_RECIPE, "epochs": epochs}
        if recipe is None
        else {**recipe.to_json(), "epochs": epochs}
    )
    trial.set_user_attr(DATA_ATTR, data)
    trial.set_user_attr(RECIPE_ATTR, record)


@dataclass(frozen=True)
class KnowledgeTask:
    """The task some knowledge (fitted predictors, reference finals) comes from.

    Attributes:
        data: The data's name (``naap:data``), ``"cifar10"`` for NAAP-440.
        epochs: Epochs of full training of its rows.
    """

    data: str = NAAP440_DATA
    epochs: int = 90

    def describe(self) -> str:
        """``"cifar10, NAAP recipe, 90 epochs"``."""
        return f"{self.data}, NAAP recipe, {self.epochs} epochs"

    def mismatch(self, trial: optuna.trial.FrozenTrial) -> str | None:
        """How ``trial``'s recorded task differs from this one (``None``: the same task).

        An undeclared task (no ``naap:data``) differs: nothing says the trial's results are on
        this knowledge's scale.
        """
        data = trial.user_attrs.get(DATA_ATTR)
        if not isinstance(data, str):
            return "task undeclared: no naap:data, see record_task"
        differences = []
        if data != self.data:
            differences.append(f"data {data}")
        recipe = trial.user_attrs.get(RECIPE_ATTR)
        if not isinstance(recipe, dict):
            differences.append("recipe undeclared")
        else:
            missing = [f for f in TASK_FIELDS if f not in recipe]
            if missing:
                differences.append(f"recipe {recipe.get('name', OWN_RECIPE)}")
            else:
                other = [f for f in TASK_FIELDS if recipe[f] != _NAAP_RECIPE[f]]
                if other:
                    differences.append("recipe " + ", ".join(f"{f}={recipe[f]}" for f in other))
            epochs = recipe.get("epochs")
            if epochs != self.epochs:
                differences.append(f"{epochs} epochs")
        return "; ".join(differences) or None


def task_mismatch(
    trial: optuna.trial.FrozenTrial, max_epochs: int, *, data: str = NAAP440_DATA
) -> str | None:
    """Why ``trial``'s recorded task is not the knowledge's (``data``, the NAAP recipe,
    ``max_epochs`` epochs), or ``None`` when it is."""
    return KnowledgeTask(data, max_epochs).mismatch(trial)


def describe_task(user_attrs: dict[str, Any]) -> str:
    """A trial's task in words, for messages: ``"data fashion-mnist, 12 epochs"``."""
    data = user_attrs.get(DATA_ATTR, "undeclared")
    recipe = user_attrs.get(RECIPE_ATTR)
    epochs = recipe.get("epochs") if isinstance(recipe, dict) else None
    return f"data {data}" + (f", {epochs} epochs" if isinstance(epochs, int) else "")
