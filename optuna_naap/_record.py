"""The trial record: every ``naap:`` key, the decision record and the keep rule, in one place.

What the project stores lives in the trial's (and study's) attributes under the ``naap:``
namespace, as JSON, so that the pruner, the sampler, the export, the CLI and optuna-dashboard
read it from any storage and any process. Code elsewhere names these constants, never the text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from optuna_naap._optuna import trial_id_of

if TYPE_CHECKING:
    import optuna

__all__ = [
    "ACCURACY_ATTR",
    "BUILD_ATTR",
    "COSTS_ATTR",
    "CURVE_ATTR",
    "DECISION_ATTR",
    "DATA_ATTR",
    "DEVICE_ATTR",
    "DUPLICATE_ATTR",
    "EXHAUSTED_ATTR",
    "FAILURE_ATTR",
    "FLAT_DECISION_KEYS",
    "IS_TEST_ATTR",
    "MODEL_ID_ATTR",
    "NOTED_ATTR",
    "PLANNED_ATTR",
    "PREDICTED_ATTR",
    "QUEUED_ATTR",
    "RECIPE_ATTR",
    "REFINED_SPACE_ATTR",
    "RETRY_ATTR",
    "SCHEME_ATTR",
    "SPACE_ATTR",
    "STUDY_ATTR",
    "WORKER_ATTR",
    "bound_decision",
    "keep_rule",
    "new_decision",
    "record_decision",
]

# -- trial user attributes written by the objective side ------------------------------------
#: The trial's scheme (JSON list of blocks).
SCHEME_ATTR = "naap:scheme"
#: The epochs' losses: ``{"1": [loss_mean, loss_median], ...}``.
CURVE_ATTR = "naap:losses"
#: The epochs' accuracies in a multi-objective study, where Optuna stores no intermediate
#: values: ``{"1": 0.41, ...}``.
ACCURACY_ATTR = "naap:accuracies"
#: Costs the objective measured itself (latency, ...): ``{"latency": 0.0042}``.
COSTS_ATTR = "naap:costs"
#: Why the objective failed the trial (non-finite loss, out of memory, ...).
FAILURE_ATTR = "naap:failure"
#: The recipe the objective trained with (JSON).
RECIPE_ATTR = "naap:recipe"
#: The device the objective trained on.
DEVICE_ATTR = "naap:device"
#: The images the objective trained on (``ImageData.name``: cifar10, fashion-mnist, ...).
DATA_ATTR = "naap:data"
#: NAAP-440's ModelId of an imported or replayed row.
MODEL_ID_ATTR = "naap:model_id"
#: Whether an imported row is in NAAP-440's test split.
IS_TEST_ATTR = "naap:is_test"

# -- written by the sampler -----------------------------------------------------------------
#: Set on a trial that started after an exhaustive NAAPSampler ran every scheme.
EXHAUSTED_ATTR = "naap:space_exhausted"
#: Trial system attribute: the refined space a NAAPSampler(refine=...) chose for the trial.
REFINED_SPACE_ATTR = "naap:refined_space"
#: Trial system attribute: the space a NAAPSampler sampled the trial from.
SPACE_ATTR = "naap:space"
#: The scheme an exhaustive sampler planned for the trial.
PLANNED_ATTR = "naap:planned_scheme"
#: Set on a trial pruned before training because another trial of the study holds its scheme
#: (the other trial's number): it does not hold the scheme itself.
DUPLICATE_ATTR = "naap:duplicate_of"

# -- written by the command line ------------------------------------------------------------
#: Study system attribute: what the study is, ``{"kind": "search" | "build-dataset" |
#: "import", ...}`` with the settings every later command on it must share (space, recipe,
#: data; an import's row count and whether it finished).
STUDY_ATTR = "naap:study"
#: Trial system attribute: the process that runs the trial (host, pid, start token), so that a
#: resumed command on the same host fails the trials of a process that is gone.
WORKER_ATTR = "naap:worker"
#: The number of the trial whose scheme this (queued) trial retries.
RETRY_ATTR = "naap:retry_of"
#: Study system attribute of build-dataset: set once the whole space is queued.
QUEUED_ATTR = "naap:queued"
#: What earlier versions wrote instead of ``naap:study`` on a dataset-building study (its
#: space, recipe and data); read for the studies they built.
BUILD_ATTR = "naap:build"

# -- decisions (pruner, pre-screen) ---------------------------------------------------------
#: The whole latest decision on a trial (JSON).
DECISION_ATTR = "naap:decision"
#: The decision fields also written flat, as ``naap:<field>`` (sortable dashboard columns).
FLAT_DECISION_KEYS = ("epoch", "predicted", "threshold", "verdict")
#: The latest predicted final (one of the flat keys; the refiner reads it).
PREDICTED_ATTR = "naap:predicted"
#: optuna-dashboard integration: the decision a note was last written for.
NOTED_ATTR = "naap:noted_decision"


def new_decision(
    epoch: int,
    predictor: str | None = None,
    *,
    trial: optuna.trial.FrozenTrial | optuna.trial.Trial | None = None,
) -> dict[str, Any]:
    """A decision record before deciding: kept, nothing predicted yet.

    With ``trial``, the record is bound to it (its storage id and number), so a copy of the
    record on another trial (``enqueue_trial(user_attrs=...)``, a retried trial) is not taken
    for a decision on that trial (see :func:`bound_decision`).
    """
    return {
        "epoch": epoch,
        "predictor": predictor,
        "predicted": None,
        "std": None,
        "margin": None,
        "threshold": None,
        "known_finals": None,
        "verdict": "kept",
        "reason": "",
        "trial_id": None if trial is None else trial_id_of(trial),
        "trial_number": None if trial is None else trial.number,
    }


def bound_decision(trial: optuna.trial.FrozenTrial) -> dict[str, Any] | None:
    """The decision recorded on ``trial`` about ``trial`` itself, or ``None``.

    A record copied from another trial carries that trial's id and does not count.
    """
    decision = trial.user_attrs.get(DECISION_ATTR)
    if not isinstance(decision, dict):
        return None
    if (
        decision.get("trial_id") != trial_id_of(trial)
        or decision.get("trial_number") != trial.number
    ):
        return None
    return decision


def record_decision(
    storage: optuna.storages.BaseStorage, trial_id: int, decision: dict[str, Any]
) -> None:
    """Write ``decision`` on the trial: the whole record and its flat sortable fields."""
    storage.set_trial_user_attr(trial_id, DECISION_ATTR, decision)
    for key in FLAT_DECISION_KEYS:
        storage.set_trial_user_attr(trial_id, f"naap:{key}", decision[key])


def keep_rule(
    decision: dict[str, Any],
    *,
    predicted: float,
    margin: float,
    threshold: float,
    maximize: bool,
    bar: str,
    known: int,
    prefix: str = "",
) -> bool:
    """The verdict every predictor-based decision uses: prune when the best the trial
    plausibly ends at (predicted final plus ``margin`` in the study's direction) cannot reach
    ``threshold``. Fills ``decision`` (threshold, verdict, reason) and returns whether to prune.
    """
    sign = 1.0 if maximize else -1.0
    reach = predicted + sign * margin
    hopeless = bool(sign * reach < sign * threshold) and math.isfinite(threshold)
    decision["threshold"] = threshold
    decision["verdict"] = "pruned" if hopeless else "kept"
    decision["reason"] = (
        f"{prefix}predicted final {predicted:.4f} {'+' if maximize else '-'} margin "
        f"{margin:.4f} = {reach:.4f} {'cannot reach' if hopeless else 'can reach'} the {bar} "
        f"threshold {threshold:.4f} of {known} known finals"
    )
    return hopeless
