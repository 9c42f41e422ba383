"""Schemes (stacks of conv-BN-ReLU blocks) and scheme spaces."""

from __future__ import annotations

from optuna_naap._scheme import Block, Scheme, SchemeLike, scheme_to_dicts, validate_scheme
from optuna_naap._space import PositionChoices, SchemeSpace

__all__ = [
    "Block",
    "PositionChoices",
    "Scheme",
    "SchemeLike",
    "SchemeSpace",
    "scheme_to_dicts",
    "validate_scheme",
]
