"""Multi-objective NAS: accuracy against exact costs, and the Pareto rule that prunes on them.

A scheme's costs (MACs, parameters, layers) are known exactly before its first step
(:func:`~optuna_naap.scheme_features`); only its accuracy is uncertain. A trial whose predicted
accuracy plus a margin is beaten by a completed trial that costs no more, in every cost, is
dominated by the study's front wherever its accuracy ends up, and can stop.

Optuna's ``Trial.report`` and ``Trial.should_prune`` raise ``NotImplementedError`` in
multi-objective studies; :func:`~optuna_naap.report_epoch` stores the accuracy in the trial's
``naap:accuracies`` user attribute there, and :func:`~optuna_naap.should_prune` asks the
study's pruner.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._checks import check_int
from optuna_naap._features import scheme_features
from optuna_naap._record import COSTS_ATTR, keep_rule
from optuna_naap._trial import trial_scheme

if TYPE_CHECKING:
    import optuna
    import pandas as pd

__all__ = [
    "ACCURACY",
    "EXACT_COSTS",
    "ParetoObjectives",
    "ParetoReferences",
    "dominating_trial",
    "objective_values",
    "record_cost",
    "scheme_costs",
    "trial_costs",
]

#: The objective name of the accuracy (maximised).
ACCURACY = "accuracy"
#: Objective names of the exact costs (minimised), and their column of scheme_features.
EXACT_COSTS: dict[str, str] = {"macs": "NumMACs", "params": "NumParams", "layers": "NumLayers"}


@dataclass(frozen=True)
class ParetoObjectives:
    """The objectives of a multi-objective NAS study, in the order of its values.

    ``accuracy`` once (maximised), then costs (minimised): the exact ones of
    :data:`EXACT_COSTS`, or any other name for a cost the objective measures and records with
    :func:`record_cost` (latency on the user's device, ...).

    Attributes:
        names: The objective names, in the order of the study's values (lower case).
    """

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        names = self.names
        if len(names) < 2 or names.count(ACCURACY) != 1 or len(set(names)) != len(names):
            raise ValueError(
                "objectives must name 'accuracy' once and at least one cost (macs, params, "
                f"layers, or a measured cost), without repeats, but got {','.join(names)!r}"
            )
        for name in names:
            if not name or not name.replace("_", "").isalnum():
                raise ValueError(
                    f"objective names are words (letters, digits, _), but got {name!r}"
                )

    @classmethod
    def parse(cls, text: str | Sequence[str]) -> ParetoObjectives:
        """Parse ``text``: ``"accuracy,macs"`` or a sequence of names (case-insensitive)."""
        parts = text.split(",") if isinstance(text, str) else list(text)
        return cls(tuple(str(p).strip().lower() for p in parts))

    @classmethod
    def of_study(cls, study: optuna.study.Study) -> ParetoObjectives:
        """The objectives a study names with ``study.set_metric_names`` (checked against its
        directions).

        Raises:
            ValueError: when the study does not name them, or a direction is wrong.
        """
        names = study.metric_names
        if names is None:
            raise ValueError(
                "name the study's objectives, e.g. study.set_metric_names(['accuracy', 'macs'])"
            )
        objectives = cls.parse(names)
        objectives.check_directions(study.directions)
        return objectives

    @property
    def directions(self) -> list[StudyDirection]:
        """The study directions: maximize the accuracy, minimize the costs."""
        return [
            StudyDirection.MAXIMIZE if n == ACCURACY else StudyDirection.MINIMIZE
            for n in self.names
        ]

    @property
    def costs(self) -> tuple[str, ...]:
        """The cost names, in order."""
        return tuple(n for n in self.names if n != ACCURACY)

    @property
    def accuracy_index(self) -> int:
        """The position of the accuracy among the values."""
        return self.names.index(ACCURACY)

    def check_directions(self, directions: Sequence[StudyDirection]) -> None:
        """Raise ``ValueError`` unless ``directions`` are :attr:`directions`."""
        if list(directions) != self.directions:
            want = ",".join(d.name.lower() for d in self.directions)
            got = ",".join(d.name.lower() for d in directions)
            raise ValueError(
                f"objectives {','.join(self.names)} need directions {want}, "
                f"but the study has {got}"
            )

    def split(self, values: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        """A trial's values as (accuracy, costs)."""
        i = self.accuracy_index
        return float(values[i]), tuple(float(v) for j, v in enumerate(values) if j != i)


def record_cost(trial: optuna.trial.Trial, name: str, value: float) -> None:
    """Record a cost the objective measured (latency on the user's device, energy, ...).

    The Pareto rule reads it from the trial's ``naap:costs`` user attribute, so record it
    before the first :func:`report_epoch` (measure once before training), and return the same
    number among the trial's values (:func:`objective_values` does both).

    Raises:
        ValueError: if ``name`` is an exact cost (those come from the scheme) or ``value`` is
            not a finite number >= 0.
    """
    if name == ACCURACY or name in EXACT_COSTS:
        raise ValueError(f"{name!r} is not a measured cost: it comes from the scheme itself")
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"a cost must be a finite number >= 0, but got {name}={value!r}")
    costs = dict(trial.user_attrs.get(COSTS_ATTR) or {})
    costs[name] = float(value)
    trial.set_user_attr(COSTS_ATTR, costs)


def scheme_costs(scheme: list[dict[str, Any]], objectives: ParetoObjectives) -> tuple[float, ...]:
    """A scheme's exact costs in the order of ``objectives.costs``.

    Raises:
        ValueError: if a cost is a measured one (it is not in the scheme).
    """
    measured = [n for n in objectives.costs if n not in EXACT_COSTS]
    if measured:
        raise ValueError(f"{', '.join(measured)} must be measured (record_cost), not computed")
    return _exact_costs(scheme_features(scheme), objectives.costs)


def _exact_costs(features: Mapping[str, Any], names: Sequence[str]) -> tuple[float, ...]:
    """The exact costs ``names`` from a scheme's ``scheme_features``."""
    return tuple(float(features[EXACT_COSTS[n]]) for n in names)


def trial_costs(
    trial: optuna.trial.FrozenTrial | optuna.trial.Trial,
    objectives: ParetoObjectives,
    scheme: list[dict[str, Any]] | None = None,
) -> tuple[float, ...] | str:
    """A trial's costs in the order of ``objectives.costs``, or why they are not known.

    Exact costs come from ``scheme`` (default: the scheme the trial recorded); measured ones
    from :func:`record_cost`.
    """
    if scheme is None:
        scheme = trial_scheme(trial)  # type: ignore[arg-type]
    features = scheme_features(scheme) if scheme is not None else None
    measured = trial.user_attrs.get(COSTS_ATTR) or {}
    costs: list[float] = []
    for name in objectives.costs:
        if name in EXACT_COSTS:
            if features is None:
                return "no valid scheme recorded (use suggest_scheme or record_scheme)"
            costs.extend(_exact_costs(features, (name,)))
        else:
            value = measured.get(name) if isinstance(measured, Mapping) else None
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"the measured cost {name!r} is not recorded (use record_cost first)"
            costs.append(float(value))
    return tuple(costs)


def objective_values(
    trial: optuna.trial.Trial, accuracy: float, *, objectives: ParetoObjectives | None = None
) -> tuple[float, ...]:
    """What a multi-objective NAS objective returns: ``accuracy`` and the trial's costs, in the
    order the study names them (``study.set_metric_names``), or as ``objectives`` says.

    Raises:
        ValueError: when a cost is not known (no scheme recorded, a measured cost missing).
    """
    objectives = objectives or ParetoObjectives.of_study(trial.study)
    costs = trial_costs(trial, objectives)
    if isinstance(costs, str):
        raise ValueError(costs)
    values = list(costs)
    values.insert(objectives.accuracy_index, float(accuracy))
    return tuple(values)


def dominating_trial(
    done: Sequence[optuna.trial.FrozenTrial],
    objectives: ParetoObjectives,
    costs: Sequence[float],
) -> tuple[float, optuna.trial.FrozenTrial | None, int]:
    """The best accuracy among the completed trials ``done`` that cost no more than ``costs``
    (in the order of ``objectives.costs``) in every cost, that trial, and how many completed
    trials have finite values (NaN and ``None`` when no completed trial is as cheap)."""
    width = len(objectives.names)
    usable = [t for t in done if t.values and len(t.values) == width]
    if not usable:
        return math.nan, None, 0
    # Vectorised: this runs at every decision, over every completed trial.
    values = np.array([t.values for t in usable], dtype="float64")
    finite = np.isfinite(values).all(axis=1)
    accuracy = values[:, objectives.accuracy_index]
    theirs = np.delete(values, objectives.accuracy_index, axis=1)
    cheap = finite & (theirs <= np.asarray(costs, dtype="float64")).all(axis=1)
    known = int(finite.sum())
    if not cheap.any():
        return math.nan, None, known
    best = int(np.argmax(np.where(cheap, accuracy, -np.inf)))  # the first of equals
    return float(accuracy[best]), usable[best], known


class ParetoReferences:
    """Known results from elsewhere (NAAP-440 rows, another study) for the Pareto rule: their
    accuracies and exact costs.

    A trial is pruned when ``k`` of them beat its predicted accuracy plus margin while costing
    no more: the rows come from another recipe, space or fold, so one of them alone is not
    taken as proof that a scheme is off this study's front.

    Args:
        frame: Rows with ``MaxAccuracy`` and the cost columns (``NumMACs``, ``NumParams``,
            ``NumLayers``; or a ``Scheme`` column to compute them from).
        k: How many reference rows must dominate a trial to prune it (3 was chosen with
            ``benchmarks/tune_pareto.py`` on NAAP-440's training rows: no scheme of one fold's
            front had 3 dominators in the other fold).
    """

    def __init__(self, frame: pd.DataFrame, *, k: int = 3) -> None:
        check_int("k", k, low=1)
        if "MaxAccuracy" not in frame.columns:
            raise ValueError("reference rows need a MaxAccuracy column")
        self.k = k
        self.accuracy = frame["MaxAccuracy"].to_numpy(dtype="float64")
        self.costs: dict[str, np.ndarray] = {}
        for name, column in EXACT_COSTS.items():
            if column in frame.columns:
                self.costs[name] = frame[column].to_numpy(dtype="float64")
            elif "Scheme" in frame.columns:
                self.costs[name] = np.array(
                    [scheme_features(json.loads(s))[column] for s in frame["Scheme"]],
                    dtype="float64",
                )
        if not np.isfinite(self.accuracy).all():
            raise ValueError("reference rows need finite MaxAccuracy values")

    def bar(self, objectives: ParetoObjectives, costs: Sequence[float]) -> tuple[float, int]:
        """The ``k``-th best accuracy among rows costing no more than ``costs`` (in the order
        of ``objectives.costs``; NaN when fewer than ``k``, or when a cost is not known for the
        rows), and how many rows cost no more."""
        if any(name not in self.costs for name in objectives.costs):
            return math.nan, 0
        cheap = np.ones(len(self.accuracy), dtype=bool)
        for name, cost in zip(objectives.costs, costs, strict=True):
            cheap &= self.costs[name] <= cost
        accuracies = np.sort(self.accuracy[cheap])[::-1]
        count = len(accuracies)
        return (float(accuracies[self.k - 1]) if count >= self.k else math.nan), count


def judge_pareto(
    decision: dict[str, Any],
    study: optuna.study.Study,
    objectives: ParetoObjectives,
    costs: Sequence[float],
    *,
    predicted: float,
    std: float,
    margin: float,
    references: ParetoReferences | None = None,
    prefix: str = "",
) -> None:
    """Prune when ``predicted`` + ``margin`` cannot reach the accuracy of a completed trial of
    the study that costs no more in every cost (the trial would be dominated by the study's
    front at its own cost), or the ``k``-th best of the reference rows that cost no more.
    Fills ``decision`` (the pruner's and the pre-screen's shared rule)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    own, rival, known = dominating_trial(done, objectives, costs)
    shared, cheap = references.bar(objectives, costs) if references is not None else (math.nan, 0)
    decision.update(
        predicted=predicted, std=std, margin=margin, known_finals=known, costs=list(costs)
    )
    at = _costs_text(objectives, costs)
    if rival is None and math.isnan(shared):
        decision["reason"] = f"{prefix}no completed trial costs as little as {at}"
        return
    by_reference = rival is None or (not math.isnan(shared) and shared > own)
    threshold = shared if by_reference else own
    reach = predicted + margin
    hopeless = keep_rule(
        decision,
        predicted=predicted,
        margin=margin,
        threshold=threshold,
        maximize=True,
        bar="front",
        known=known,
        prefix=prefix,
    )
    verb = "is dominated by" if hopeless else "can pass"
    if by_reference:
        assert references is not None
        decision["dominated_by"] = "references"
        rivals = (
            f"the {references.k} reference results that cost no more (of {cheap}; the "
            f"{_ordinal(references.k)} best: {threshold:.4f})"
        )
    else:
        assert rival is not None
        decision["dominated_by"] = rival.number
        _, theirs = objectives.split(rival.values)
        rivals = f"trial {rival.number}: {threshold:.4f} at {_costs_text(objectives, theirs)}" + (
            "" if hopeless else ", the best that costs no more"
        )
    decision["reason"] = (
        f"{prefix}predicted {predicted:.4f} + margin {margin:.4f} = {reach:.4f} at {at} "
        f"{verb} {rivals}"
    )


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _costs_text(objectives: ParetoObjectives, costs: Sequence[float]) -> str:
    names = {"macs": "MACs", "params": "params", "layers": "layers"}
    return ", ".join(
        f"{_short(c)} {names.get(n, n)}" for n, c in zip(objectives.costs, costs, strict=True)
    )


def _short(value: float) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.4g}"
