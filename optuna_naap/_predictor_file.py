"""NAAPPredictor's file: one self-describing JSON document (no pickle), written atomically and
checked on reading (a missing, foreign, corrupt or newer-format file is one clear error)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["PredictorFileError", "read_predictor_file", "write_predictor_file"]

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
