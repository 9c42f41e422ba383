from __future__ import annotations

from typing import Any

import pytest

from optuna_naap import validate_scheme
from optuna_naap.scheme import Block, scheme_to_dicts


def _b(k: int = 3, w: int = 16, s: int = 1, r: bool = False) -> dict[str, Any]:
    return {"kernel_size": k, "width": w, "stride": s, "residual": r}


def test_valid_scheme_round_trips() -> None:
    scheme = [_b(3, 12, 2), _b(1, 12, 1, True), _b(5, 32, 2)]
    blocks = validate_scheme(scheme)
    assert blocks == (Block(3, 12, 2, False), Block(1, 12, 1, True), Block(5, 32, 2, False))
    assert scheme_to_dicts(blocks) == scheme
    assert scheme_to_dicts(scheme) == scheme


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        ([], "at least one block"),
        ("abc", "list of blocks"),
        (None, "list of blocks"),
        ([_b(r=True)], "block 0: residual is not allowed on the first block"),
        ([_b(w=12), _b(w=16, r=True)], "block 1: residual needs the previous width 12"),
        ([_b(w=12), _b(w=12, s=2, r=True)], "block 1: residual needs stride 1"),
        ([_b(k=2)], "block 0: kernel_size must be a positive odd integer"),
        ([_b(k=0)], "block 0: kernel_size"),
        ([_b(), _b(w=0)], "block 1: width must be a positive integer"),
        ([_b(s=0)], "block 0: stride"),
        ([_b(w=True)], "block 0: width"),  # bools are not widths
        ([_b(r=1)], "block 0: residual must be true or false"),
        ([{"kernel_size": 3, "width": 16, "stride": 1}], "block 0 is missing residual"),
        ([{**_b(), "groups": 2}], "block 0 has unknown keys groups"),
        ([[3, 16, 1, False]], "block 0 must be a mapping"),
    ],
)
def test_invalid_schemes_say_which_block_and_why(scheme: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_scheme(scheme)


def test_numpy_scalars_are_the_numbers_they_stand_for() -> None:
    """Schemes read from a DataFrame carry numpy scalars: the same scheme, the same JSON."""
    import json

    import numpy as np
    import optuna

    from optuna_naap import SchemeSpace, record_scheme, scheme_features

    scheme = SchemeSpace().enumerate()[5]
    as_numpy = [
        {
            k: np.bool_(v) if isinstance(v, bool) else np.int64(v) if isinstance(v, int) else v
            for k, v in block.items()
        }
        for block in scheme
    ]
    assert validate_scheme(as_numpy) == validate_scheme(scheme)
    assert scheme_features(as_numpy) == scheme_features(scheme)
    study = optuna.create_study()
    record_scheme(study.ask(), as_numpy)
    stored = study.trials[0].user_attrs["naap:scheme"]
    assert stored == scheme and json.dumps(stored) == json.dumps(scheme)
    with pytest.raises(
        ValueError, match="kernel_size must be a positive odd integer, but got 3.0"
    ):
        validate_scheme(
            [{"kernel_size": np.float64(3.0), "width": 12, "stride": 2, "residual": False}]
        )
