from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from optuna_naap import SchemeSpace
from optuna_naap.scheme import PositionChoices


def test_default_space_reproduces_the_published_440(reference_schemes: list[Any]) -> None:
    schemes = SchemeSpace().enumerate()
    assert len(schemes) == 440
    for i, (got, expected) in enumerate(zip(schemes, reference_schemes, strict=True)):
        assert got == expected, f"scheme {i + 1} differs"


def test_every_published_scheme_is_in_the_space(reference_schemes: list[Any]) -> None:
    space = SchemeSpace()
    for scheme in reference_schemes:
        space.validate(scheme)


def _tiny(**kwargs: Any) -> SchemeSpace:
    return SchemeSpace(
        [
            PositionChoices((3,), (8,), (2,)),
            PositionChoices((1, 3), (8, 16), (1, 2), (False, True)),
            PositionChoices((3,), (16,), (1, 2), (False, True)),
        ],
        **kwargs,
    )


def test_other_settings_enumerate_other_spaces() -> None:
    space = _tiny(min_depth=1)
    schemes = space.enumerate()
    # depth 1: 1; depth 2: 2 kernels x (w8: s1 r/nr + s2; w16: s1 + s2) = 2 x 5 = 10
    assert sum(1 for s in schemes if len(s) == 1) == 1
    assert sum(1 for s in schemes if len(s) == 2) == 10
    assert all(space.contains(s) for s in schemes)
    assert len({str(s) for s in schemes}) == len(schemes)
    # Brute force over all block combinations agrees with the generator.
    brute = 0
    from itertools import product

    def options(p: PositionChoices) -> list[dict[str, Any]]:
        return [
            {"kernel_size": k, "width": w, "stride": s, "residual": r}
            for k, w, s, r in product(p.kernel_sizes, p.widths, p.strides, p.residuals)
        ]

    for depth in (1, 2, 3):
        for combo in product(*(options(p) for p in space.positions[:depth])):
            brute += space.contains(list(combo))
    assert brute == len(schemes)


def test_max_stages_and_consecutive_strides() -> None:
    limited = _tiny(min_depth=3, max_stages=1)
    assert all(sum(b["stride"] > 1 for b in s) <= 1 for s in limited.enumerate())
    no_consecutive = _tiny(min_depth=2, consecutive_strides=False)
    for scheme in no_consecutive.enumerate():
        strides = [b["stride"] for b in scheme]
        assert all(not (a > 1 and b > 1) for a, b in pairwise(strides))
    with pytest.raises(ValueError, match="block 1: a strided block right after"):
        no_consecutive.validate(
            [
                {"kernel_size": 3, "width": 8, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": 8, "stride": 2, "residual": False},
            ]
        )


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        ([{"kernel_size": 3, "width": 12, "stride": 2, "residual": False}], "has 1 blocks"),
        (
            [
                {"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
                {"kernel_size": 5, "width": 16, "stride": 1, "residual": False},
            ],
            r"block 2: kernel_size=5 is not among this position's choices \[1, 3\]",
        ),
        (
            [
                {"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": 32, "stride": 2, "residual": False},
            ],
            "block 3: more than max_stages=3 strided blocks",
        ),
    ],
)
def test_schemes_outside_the_space_are_named(scheme: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchemeSpace().validate(scheme)
    assert not SchemeSpace().contains(scheme)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"positions": []}, "at least one position"),
        ({"min_depth": 0}, "min_depth=0"),
        ({"min_depth": 5}, "min_depth=5"),
        ({"max_stages": -1}, "max_stages=-1"),
        (
            {
                "positions": [
                    {"kernel_size": [2], "width": [8], "stride": [1], "residual": [False]}
                ]
            },
            "position 0: kernel_sizes must be odd",
        ),
        (
            {
                "positions": [
                    {"kernel_size": [3], "width": [0], "stride": [1], "residual": [False]}
                ]
            },
            "position 0: widths has an invalid choice 0",
        ),
        (
            {"positions": [{"kernel_size": [3], "width": [], "stride": [1], "residual": [False]}]},
            "position 0: widths needs at least one choice",
        ),
        (
            {
                "positions": [
                    {"kernel_size": [3], "width": [8, 8], "stride": [1], "residual": [False]}
                ]
            },
            "repeats a choice",
        ),
        ({"positions": [{"kernel": [3]}]}, "exactly the keys"),
        ({"positions": "abc"}, "list of position choices"),
    ],
)
def test_invalid_settings_raise(kwargs: dict[str, Any], message: str) -> None:
    positions = kwargs.pop("positions", None)
    with pytest.raises(ValueError, match=message):
        SchemeSpace(positions, **kwargs)


def test_json_round_trip() -> None:
    space = _tiny(min_depth=2, max_stages=2, consecutive_strides=False)
    again = SchemeSpace.from_json(space.to_json())
    assert again == space
    assert again.enumerate() == space.enumerate()
    assert SchemeSpace.from_json(SchemeSpace().to_json()) == SchemeSpace()
    with pytest.raises(ValueError, match="unknown space settings: colour"):
        SchemeSpace.from_json({**space.to_json(), "colour": 1})
