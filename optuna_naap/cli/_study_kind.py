"""What a study is (``naap:study``): a search, a dataset build or an import, with the settings
every later command on it must share; commands refuse a study of another kind in one line,
before they write anything."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from optuna_naap._optuna import storage_of, study_id_of
from optuna_naap._record import BUILD_ATTR, MODEL_ID_ATTR, SCHEME_ATTR, STUDY_ATTR

__all__ = ["check_kind", "set_kind", "study_kind"]

_NAMES = {
    "search": "a search study",
    "build-dataset": "a build-dataset study",
    "import": "an imported NAAP-440 CSV",
    "other": "a study of trials optuna-naap did not write",
}


def study_kind(study: optuna.study.Study) -> dict[str, Any] | None:
    """The study's ``naap:study`` record; for studies written before it existed, what their
    attributes and trials tell; ``None`` for a study without trials or record."""
    attrs = storage_of(study).get_study_system_attrs(study_id_of(study))
    if isinstance(attrs.get(STUDY_ATTR), dict):
        return dict(attrs[STUDY_ATTR])
    if isinstance(attrs.get(BUILD_ATTR), dict):
        return {"kind": "build-dataset", **attrs[BUILD_ATTR], "legacy": True}
    trials = study.get_trials(deepcopy=False)
    if not trials:
        return None
    if any(MODEL_ID_ATTR in t.user_attrs for t in trials):
        return {"kind": "import", "legacy": True}
    if all(SCHEME_ATTR in t.user_attrs for t in trials if t.state != TrialState.WAITING):
        return {"kind": "search", "legacy": True}
    return {"kind": "other", "legacy": True}


def _difference(part: str, have: Any, want: Any) -> str:
    if part == "recipe" and isinstance(have, dict) and have.get("epochs") != want.get("epochs"):
        have_n, want_n = have.get("epochs"), want.get("epochs")
        return f"trains with a {have_n}-epoch recipe, not a {want_n}-epoch one"
    if part == "data":
        return f"trains on {have} data, not {want}"
    return f"has another {part}"


def check_kind(
    study: optuna.study.Study, kind: str, settings: dict[str, Any], *, name: str, where: str
) -> dict[str, Any] | None:
    """Raise ValueError (one line) if the study is of another kind, or was made with other
    ``settings``; return its record (``None``: a new study). Writes nothing."""
    have = study_kind(study)
    if have is None:
        return None
    if have["kind"] != kind:
        raise ValueError(
            f"study {name!r} in {where} is {_NAMES.get(have['kind'], have['kind'])}, not "
            f"{_NAMES[kind]}; choose another --study-name"
        )
    for part, value in settings.items():
        if part in have and have[part] != value:
            raise ValueError(
                f"study {name!r} in {where} {_difference(part, have[part], value)}; use the "
                "same settings to resume it, or another --study-name"
            )
    return have


def set_kind(study: optuna.study.Study, kind: str, settings: dict[str, Any]) -> None:
    """Record what the study is."""
    storage_of(study).set_study_system_attr(
        study_id_of(study), STUDY_ATTR, {"kind": kind, **settings}
    )
