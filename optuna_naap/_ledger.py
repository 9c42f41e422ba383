"""Which schemes a study holds: the rule behind "one scheme is trained at most once per study".

A trial holds its scheme while it is waiting, running, complete or pruned; a failed trial does
not (its scheme may be retried, up to :data:`MAX_FAILURES` failed attempts), nor does a trial
that gave its scheme up as a duplicate (``naap:duplicate_of``). The sampler reads this ledger
to propose only free schemes, and ``suggest_scheme`` to catch the race of two workers that
sampled the same scheme at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from optuna_naap._optuna import trial_id_of
from optuna_naap._record import DUPLICATE_ATTR, PLANNED_ATTR, SCHEME_ATTR
from optuna_naap._scheme import scheme_key
from optuna_naap._trial import trial_scheme

__all__ = [
    "HOLDING_STATES",
    "MAX_FAILURES",
    "Slot",
    "consistent",
    "held_schemes",
    "param_slot",
    "param_slots",
    "slot_value",
]

#: Trial states in which a trial holds its scheme.
HOLDING_STATES = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)
#: Failed attempts after which a scheme is not retried.
MAX_FAILURES = 2

#: Where a parameter of ``suggest_scheme`` sits: ``(-1, "depth")`` or ``(position, attribute)``.
Slot = tuple[int, str]

_PARAM = re.compile(r"^naap_(?:(depth)|b(\d+)_(kernel_size|width|stride|residual))(?:_.*)?$")


def param_slot(name: str) -> Slot | None:
    """The slot of a ``suggest_scheme`` parameter name (restricted names included), or None."""
    match = _PARAM.match(name)
    if match is None:
        return None
    if match.group(1):
        return (-1, "depth")
    return (int(match.group(2)), match.group(3))


def param_slots(params: Mapping[str, Any]) -> dict[Slot, Any]:
    """The ``suggest_scheme`` parameters among ``params``, by slot."""
    slots: dict[Slot, Any] = {}
    for name, value in params.items():
        slot = param_slot(name)
        if slot is not None:
            slots[slot] = value
    return slots


def slot_value(scheme: Sequence[Mapping[str, Any]], slot: Slot) -> Any:
    """The scheme's value at ``slot`` (None where the scheme has no such block)."""
    position, attribute = slot
    if position < 0:
        return len(scheme)
    return scheme[position][attribute] if position < len(scheme) else None


def consistent(scheme: Sequence[Mapping[str, Any]], constraints: Mapping[Slot, Any]) -> bool:
    """Whether ``scheme`` agrees with every constraint that applies to it (a block position
    beyond its depth does not apply)."""
    for (position, attribute), value in constraints.items():
        if position < 0:
            if len(scheme) != value:
                return False
        elif position < len(scheme) and scheme[position][attribute] != value:
            return False
    return True


def held_schemes(
    trials: Iterable[FrozenTrial],
    from_params: Callable[[dict[str, Any]], list[dict[str, Any]] | None],
    *,
    exclude: int | None = None,
    cache: dict[int, str | None] | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """The schemes the trials hold (key -> number of the first holder) and the failed
    attempts per scheme, leaving out the trial whose storage id is ``exclude``. ``cache``
    keeps the keys of finished trials (they do not change) between calls."""
    held: dict[str, int] = {}
    failures: dict[str, int] = {}
    for trial in trials:
        if trial_id_of(trial) == exclude:
            continue
        if cache is not None and trial_id_of(trial) in cache:
            key = cache[trial_id_of(trial)]
        else:
            key = _held_key(trial, from_params)
            if cache is not None and trial.state.is_finished():
                cache[trial_id_of(trial)] = key
        if key is None:
            continue
        if trial.state == TrialState.FAIL:
            failures[key] = failures.get(key, 0) + 1
        elif trial.state in HOLDING_STATES:
            held.setdefault(key, trial.number)
    return held, failures


def _held_key(
    trial: FrozenTrial, from_params: Callable[[dict[str, Any]], list[dict[str, Any]] | None]
) -> str | None:
    if trial.user_attrs.get(DUPLICATE_ATTR) is not None:
        return None
    # A popped or queued trial holds its scheme before its objective records it.
    scheme = trial.user_attrs.get(SCHEME_ATTR)
    if not isinstance(scheme, list):  # stored as recorded; only text needs parsing
        scheme = trial_scheme(trial)
    scheme = scheme or trial.system_attrs.get(PLANNED_ATTR)
    fixed = trial.system_attrs.get("fixed_params")
    if scheme is None and fixed:
        scheme = from_params(fixed)
    return None if scheme is None else scheme_key(scheme)
