"""NAAP-440 CSV <-> Optuna study: export a dataset-building study, import the published one."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from optuna_naap._data import NAAPDataError
from optuna_naap._features import (
    CURVE_METRICS,
    SCHEME_COLUMNS,
    SCHEME_COLUMNS_V2,
    available_epochs,
    scheme_features,
)
from optuna_naap._optuna import storage_of, study_id_of
from optuna_naap._record import IS_TEST_ATTR, MODEL_ID_ATTR, STUDY_ATTR
from optuna_naap._scheme import scheme_to_dicts
from optuna_naap._space import SchemeSpace
from optuna_naap._trial import CURVE_ATTR, SCHEME_ATTR, _params_and_distributions, trial_scheme

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["IS_TEST_ATTR", "MODEL_ID_ATTR", "frame_to_study", "study_to_frame", "write_naap_csv"]


def default_is_test(model_id: int) -> int:
    """A reproducible test split for exported rows without one: about 1 row in 11.

    A hash of the ModelId, so it does not depend on the order or number of trials.
    """
    digest = hashlib.sha256(f"optuna-naap/is-test/{model_id}".encode()).digest()
    return int(int.from_bytes(digest[:8], "big") % 11 == 0)


def frame_to_study(
    frame: pd.DataFrame,
    study: optuna.study.Study,
    *,
    space: SchemeSpace | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add to ``study`` one COMPLETE trial per row of a NAAP-440 ``frame`` (with its
    ``Scheme`` column); parameters as :func:`suggest_scheme` names them in ``space`` (default
    the NAAP-440 space); ``progress`` is called with the number of rows added so far.

    Each trial gets the row's scheme as parameters (the names :func:`suggest_scheme` uses) and in
    ``naap:scheme``, ``MaxAccuracy`` as its value, the epochs' accuracies as intermediate values,
    their losses in ``naap:losses``, and ``naap:model_id`` / ``naap:is_test``, so that
    :func:`study_to_frame` gives the frame back. Returns the number of trials added.

    Raises:
        NAAPDataError: a row without a valid scheme, or a study that is not one maximization.
    """
    space = space or SchemeSpace()
    if len(study.directions) != 1 or study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise NAAPDataError("import needs a study that maximizes one value (accuracy)")
    if "Scheme" not in frame.columns:
        raise NAAPDataError("the rows need their schemes (load_naap440 adds them)")
    epochs = available_epochs(frame.columns)
    trials = []
    for _, row in frame.iterrows():
        scheme = scheme_to_dicts(json.loads(row["Scheme"]))
        params, distributions = _params_and_distributions(scheme, space)
        losses = {
            str(e): [float(row[f"e{e}LossMean"]), float(row[f"e{e}LossMedian"])]
            for e in range(1, epochs + 1)
        }
        trials.append(
            optuna.trial.create_trial(
                state=TrialState.COMPLETE,
                value=float(row["MaxAccuracy"]),
                params=params,
                distributions=dict(distributions),
                intermediate_values={e: float(row[f"e{e}Accuracy"]) for e in range(1, epochs + 1)},
                user_attrs={
                    SCHEME_ATTR: scheme,
                    CURVE_ATTR: losses,
                    MODEL_ID_ATTR: int(row["ModelId"]),
                    IS_TEST_ATTR: int(row["IsTest"]),
                },
            )
        )
    # One write per batch: fast on RDB storages; a failure leaves whole batches only.
    for start in range(0, len(trials), 100):
        study.add_trials(trials[start : start + 100])
        if progress is not None:
            progress(min(start + 100, len(trials)))
    return len(trials)


def interrupted_import(study: optuna.study.Study) -> dict[str, Any] | None:
    """The ``naap:study`` record of an import that never reached its last row (``optuna-naap
    import`` marks a study unfinished until then), or ``None``."""
    record = storage_of(study).get_study_system_attrs(study_id_of(study)).get(STUDY_ATTR)
    if not isinstance(record, dict) or record.get("kind") != "import":
        return None
    return record if record.get("complete") is False else None


def study_to_frame(
    study: optuna.study.Study,
    *,
    version: int = 2,
    epochs: int | None = None,
    space: SchemeSpace | None = None,
) -> pd.DataFrame:
    """The study's COMPLETE trials with a recorded scheme as rows in the NAAP-440 layout.

    Scheme columns are computed from each scheme; ``MaxAccuracy`` is the trial's value; the
    curve comes from the intermediate values and ``naap:losses``. ``ModelId`` is the trial's
    ``naap:model_id``, else the scheme's place in the space's enumeration (NAAP-440's own ids
    for its space), else 100000 + the trial number; ``IsTest`` is the trial's ``naap:is_test``,
    else a reproducible hash of the ModelId (:func:`default_is_test`). A scheme that completed
    more than once is exported once (its first trial). A ``Scheme`` column is added.

    Args:
        study: The study.
        version: 1 or 2 (the v2 CSV adds NumSkipConnections and NumPartialRFLayers).
        epochs: Epochs per row (default: the most any COMPLETE trial reported).
        space: The space whose enumeration numbers the schemes (default: NAAP-440's).

    Raises:
        NAAPDataError: no exportable trial, a trial missing some of the epochs, or an import
            that was interrupted (``optuna-naap import`` marks a study unfinished until its
            last row is in).
    """
    import pandas as pd

    if version not in (1, 2):
        raise NAAPDataError(f"version must be 1 or 2, but got {version=}")
    record = interrupted_import(study)
    if record is not None:
        raise NAAPDataError(
            f"study {study.study_name!r} is an import that was interrupted "
            f"({len(study.get_trials(deepcopy=False))} of {record.get('rows')} rows): run the "
            "import again, it replaces the study"
        )
    space = space or SchemeSpace()
    index = {json.dumps(s, sort_keys=True): i + 1 for i, s in enumerate(space.enumerate())}
    complete = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if trial_scheme(t) is not None and t.value is not None
    ]
    if not complete:
        raise NAAPDataError(
            f"study {study.study_name!r} has no COMPLETE trial with a recorded scheme to export"
        )
    if epochs is None:
        epochs = max(len(t.intermediate_values) for t in complete)
    scheme_columns = list(SCHEME_COLUMNS_V2 if version == 2 else SCHEME_COLUMNS)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for trial in complete:
        scheme = trial_scheme(trial)
        assert scheme is not None
        key = json.dumps(scheme, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        losses = trial.user_attrs.get(CURVE_ATTR, {})
        curve: dict[str, float] = {}
        for e in range(1, epochs + 1):
            pair = losses.get(str(e)) if isinstance(losses, dict) else None
            accuracy = trial.intermediate_values.get(e)
            if accuracy is None or not isinstance(pair, (list, tuple)) or len(pair) != 2:
                have = sorted(trial.intermediate_values)
                raise NAAPDataError(
                    f"trial {trial.number} lacks epoch {e} of {epochs} (it has "
                    f"{len(have)} epochs); finish it (build-dataset resumes) or export fewer "
                    f"epochs (--epochs {e - 1})"
                )
            curve[f"e{e}LossMean"], curve[f"e{e}LossMedian"] = float(pair[0]), float(pair[1])
            curve[f"e{e}Accuracy"] = float(accuracy)
        model_id = trial.user_attrs.get(MODEL_ID_ATTR) or index.get(key) or 100000 + trial.number
        is_test = trial.user_attrs.get(IS_TEST_ATTR)
        features = scheme_features(scheme)
        rows.append(
            {
                "ModelId": int(model_id),
                "IsTest": int(is_test) if is_test is not None else default_is_test(int(model_id)),
                **{c: features[c] for c in scheme_columns},
                "MaxAccuracy": float(trial.value),  # type: ignore[arg-type]
                **curve,
                "Scheme": json.dumps(scheme, separators=(",", ":")),
            }
        )
    frame = pd.DataFrame(rows).sort_values("ModelId").reset_index(drop=True)
    if frame["ModelId"].duplicated().any():
        raise NAAPDataError("two exported schemes share a ModelId (naap:model_id attributes)")
    return frame


def write_naap_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the rows of ``frame`` to ``path`` in the NAAP-440 CSV layout (no ``Scheme``
    column), all at once or not at all, with the published file's CRLF line endings (the
    published NAAP-440 files round-trip byte for byte)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # write the file the link points to; the link stays a link
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise NAAPDataError(f"{path} is {kind}; give the path of a CSV file to write")
    if not path.parent.is_dir():
        raise NAAPDataError(f"{path.parent} is not a folder; create it first")
    columns = [c for c in frame.columns if c != "Scheme"]
    curve = [c for c in columns if c[0] == "e" and c.endswith(CURVE_METRICS)]
    if not curve or not math.isfinite(float(frame["MaxAccuracy"].min())):
        raise NAAPDataError("nothing to write: rows without curves or values")
    tmp = path.with_name(path.name + ".part")
    try:
        frame.loc[:, columns].to_csv(tmp, index=False, lineterminator="\r\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (disk full, ...) leaves nothing behind
