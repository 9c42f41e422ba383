"""The Optuna internals optuna-naap needs, in one place.

Optuna's public API has no way to reach a study's storage and ids from a ``Study`` or a
``Trial`` (a pruner is handed the study and a copy of the trial, and must write its decision
through the storage); these accessors are the only code of the package that touches
``_``-attributes of Optuna objects. ``SUPPORTED_OPTUNA`` is the range they were checked against
(``tests/test_optuna.py`` checks each accessor on the installed release).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import optuna

if TYPE_CHECKING:
    import numpy as np
    from optuna.storages import BaseStorage

__all__ = [
    "STORAGE_MODULES",
    "SUPPORTED_OPTUNA",
    "cached_frozen_trial",
    "compute_hypervolume",
    "latest_trial",
    "quiet_experimental",
    "quietly",
    "storage_of",
    "study_id_of",
    "trial_id_of",
]

#: Optuna releases whose internals below are known to work (major.minor, inclusive).
SUPPORTED_OPTUNA = ((4, 0), (5, 0))

#: Modules whose code writes to a study's storage (an interrupt there must not leave a trial
#: half-written): Optuna's storages, its tell, and the database drivers below them.
STORAGE_MODULES = ("sqlalchemy", "optuna.storages", "optuna.study._tell", "sqlite3", "psycopg2")

_T = TypeVar("_T")


def storage_of(study: optuna.study.Study) -> BaseStorage:
    """The storage object a study reads and writes (shared by every study on it)."""
    return study._storage


def study_id_of(study: optuna.study.Study) -> int:
    """The study's id in its storage."""
    return int(study._study_id)


def trial_id_of(trial: optuna.trial.BaseTrial | optuna.trial.FrozenTrial) -> int:
    """The trial's id in its storage (a ``Trial``'s or a ``FrozenTrial``'s)."""
    return int(trial._trial_id)  # type: ignore[union-attr]


def latest_trial(trial: optuna.trial.Trial) -> optuna.trial.FrozenTrial:
    """A running trial's frozen copy as the objective sees it, with what it reported so far
    (what ``Trial.should_prune`` hands the pruner)."""
    return trial._get_latest_trial()


def cached_frozen_trial(trial: optuna.trial.BaseTrial) -> optuna.trial.FrozenTrial | None:
    """The frozen copy a running ``Trial`` keeps of itself (``None`` for a FixedTrial, ...):
    its own intermediate values, without a storage read."""
    return getattr(trial, "_cached_frozen_trial", None)


def compute_hypervolume(losses: np.ndarray, reference: np.ndarray) -> float:
    """Optuna's exact hypervolume of minimised ``losses`` up to ``reference``."""
    from optuna._hypervolume import compute_hypervolume as optuna_hypervolume

    return float(optuna_hypervolume(losses, reference))


@contextlib.contextmanager
def quiet_experimental() -> Iterator[None]:
    """Silence Optuna's ExperimentalWarning inside the block (features the project chose
    knowingly: heartbeats, WilcoxonPruner, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def quietly(make: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``make(*args, **kwargs)`` without Optuna's ExperimentalWarning."""
    with quiet_experimental():
        return make(*args, **kwargs)


def supported(version: str | None = None) -> bool:
    """Whether an Optuna release (default: the installed one) is in :data:`SUPPORTED_OPTUNA`."""
    parts = (version or optuna.__version__).split(".")
    major_minor = (int(parts[0]), int(parts[1]))
    low, high = SUPPORTED_OPTUNA
    return low <= major_minor <= high
