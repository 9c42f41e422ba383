"""NAAPPredictor's file: one self-describing JSON document (no pickle), written atomically and
checked on reading (a missing, foreign, corrupt or newer-format file is one clear error)."""

from __future__ import annotations

import binascii
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from optuna_naap._component import Component
from optuna_naap._gp import GPComponent

__all__ = [
    "PredictorFileError",
    "learnt_state",
    "read_predictor_file",
    "restore_learnt_state",
    "write_predictor_file",
]

_FORMAT = "optuna-naap/predictor"
_FORMAT_VERSION = 1


class PredictorFileError(ValueError):
    """A predictor file that is not one, is corrupt, or is of an unknown format version."""


def write_predictor_file(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Write a predictor's ``document`` to ``path`` with the format's header, atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps({"format": _FORMAT, "format_version": _FORMAT_VERSION, **document}))
    tmp.replace(path)  # never a half-written predictor file


def read_predictor_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The document of a predictor file of this format version.

    Raises:
        PredictorFileError: a missing, foreign, unreadable or newer-format file.
    """
    path = Path(path)
    if path.is_dir():
        raise PredictorFileError(f"{path} is a folder, not a predictor file")
    if path.exists() and not path.is_file():
        # A FIFO or a device: reading it would block or never end.
        raise PredictorFileError(f"{path} is not a regular file, not a predictor file")
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise PredictorFileError(f"no predictor file at {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PredictorFileError(f"{path} is not a predictor file (not readable JSON)") from exc
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise PredictorFileError(f"{path} is not an optuna-naap predictor file")
    version = document.get("format_version")
    if version != _FORMAT_VERSION:
        raise PredictorFileError(
            f"{path} has predictor format version {version!r}; this optuna-naap reads "
            f"version {_FORMAT_VERSION}: upgrade optuna-naap or refit the predictor"
        )
    return document


def learnt_state(predictor: Any) -> dict[str, Any]:
    """A fitted NAAPPredictor's file document: its parameters and learnt state, read back by
    :func:`restore_learnt_state`."""
    import catboost

    return {
        "params": predictor.get_params(),
        "scheme_columns": predictor.scheme_columns_,
        "uses_schemes": predictor.uses_schemes_,
        "positions": predictor.positions_,
        "architecture_features": predictor.architecture_features_,
        "architecture_weight": predictor.architecture_weight_,
        "n_train_rows": predictor.n_train_rows_,
        "cv_residuals": predictor.cv_residuals_.tolist(),
        "catboost_version": catboost.__version__,
        "components": [c.to_json() for c in predictor.components_],
    }


def restore_learnt_state(predictor: Any, document: dict[str, Any], path: Path) -> None:
    """Set a NAAPPredictor's learnt state (the attributes ending in ``_``) from its file's
    ``document``, checking that the components match its parameters.

    Raises:
        PredictorFileError: a corrupt file (missing or mistyped fields, undecodable models,
            components that do not match ``n_models`` or ``architecture_weight``).
    """
    from catboost import CatBoostError

    try:
        predictor.scheme_columns_ = [str(c) for c in document["scheme_columns"]]
        predictor.uses_schemes_ = bool(document["uses_schemes"])
        predictor.positions_ = int(document["positions"])
        predictor.architecture_features_ = [str(c) for c in document["architecture_features"]]
        predictor.architecture_weight_ = float(document["architecture_weight"])
        predictor.n_train_rows_ = int(document["n_train_rows"])
        predictor.cv_residuals_ = np.asarray(document["cv_residuals"], dtype="float64")
        predictor.components_ = [
            GPComponent.from_json(c) if c.get("model") == "gp" else Component.from_json(c)
            for c in document["components"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error, CatBoostError) as exc:
        raise PredictorFileError(f"{path} is a corrupt predictor file ({exc})") from exc
    for component in predictor.components_:
        gp = component.epochs == 0 and predictor.architecture_model == "gp"
        if isinstance(component, GPComponent) != gp:
            raise PredictorFileError(
                f"{path} is a corrupt predictor file: its {component.epochs}-epoch component "
                f"does not match architecture_model={predictor.architecture_model!r}"
            )
        if isinstance(component, Component) and len(component.models) != predictor.n_models:
            raise PredictorFileError(
                f"{path} is a corrupt predictor file: a component holds "
                f"{len(component.models)} models for n_models={predictor.n_models}"
            )
    expected = [
        e
        for e, w in (
            (0, predictor.architecture_weight_),
            (predictor.epochs, 1 - predictor.architecture_weight_),
        )
        if w > 0
    ]
    if [c.epochs for c in predictor.components_] != expected:
        raise PredictorFileError(
            f"{path} is a corrupt predictor file: its components do not match "
            f"architecture_weight={predictor.architecture_weight_}"
        )
