"""Checks of arguments shared by the package: one message for each kind of wrong value."""

from __future__ import annotations

from typing import Any

__all__ = ["check_int"]


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` if it is an integer (not a bool) in [``low``, ``high``].

    Raises:
        ValueError: naming the argument and its value, e.g. ``top_k must be a positive integer,
            but got top_k=0``.
    """
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and ((low is not None and value < low) or (high is not None and value > high)):
        ok = False
    if not ok:
        if high is not None:
            what = f"an integer between {low} and {high}" if low is not None else f"<= {high}"
        elif low == 1:
            what = "a positive integer"
        elif low == 0:
            what = "a non-negative integer"
        elif low is not None:
            what = f"an integer >= {low}"
        else:
            what = "an integer"
        raise ValueError(f"{name} must be {what}, but got {name}={value!r}")
    return int(value)
