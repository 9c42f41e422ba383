"""The scheme space: per-position choices and the NAAP generator's rules."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna_naap._checks import check_int
from optuna_naap._scheme import Block, Scheme, SchemeLike, validate_scheme

__all__ = ["PositionChoices", "SchemeSpace"]


def _where(index: int | None) -> str:
    return "position choices" if index is None else f"position {index}"


def _choices(
    name: str, index: int | None, values: Sequence[Any], *, kind: type
) -> tuple[Any, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{_where(index)}: {name} needs at least one choice, but got {values=}")
    for value in values:
        ok = (
            isinstance(value, bool)
            if kind is bool
            else (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
        )
        if not ok:
            raise ValueError(f"{_where(index)}: {name} has an invalid choice {value!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{_where(index)}: {name} repeats a choice in {values!r}")
    return values


@dataclass(frozen=True)
class PositionChoices:
    """The options of one block position of a :class:`SchemeSpace`, in generation order.

    Args:
        kernel_sizes: Odd kernel sizes.
        widths: Output widths.
        strides: Strides (a stride above 1 opens a new stage).
        residuals: Residual options; ``True`` is taken only where the shapes agree.
    """

    kernel_sizes: tuple[int, ...]
    widths: tuple[int, ...]
    strides: tuple[int, ...] = (1,)
    residuals: tuple[bool, ...] = (False,)

    def __post_init__(self) -> None:
        self._validate(None)

    def _validate(self, index: int | None) -> None:
        kernel_sizes = _choices("kernel_sizes", index, self.kernel_sizes, kind=int)
        for k in kernel_sizes:
            if k % 2 == 0:
                raise ValueError(
                    f"{_where(index)}: kernel_sizes must be odd, but got {k} in {kernel_sizes}"
                )
        object.__setattr__(self, "kernel_sizes", kernel_sizes)
        object.__setattr__(self, "widths", _choices("widths", index, self.widths, kind=int))
        object.__setattr__(self, "strides", _choices("strides", index, self.strides, kind=int))
        object.__setattr__(
            self, "residuals", _choices("residuals", index, self.residuals, kind=bool)
        )

    def to_json(self) -> dict[str, list[Any]]:
        """Return the choices in the JSON form of the NAAP generator's settings."""
        return {
            "kernel_size": list(self.kernel_sizes),
            "width": list(self.widths),
            "stride": list(self.strides),
            "residual": list(self.residuals),
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Sequence[Any]], *, index: int | None = None
    ) -> PositionChoices:
        """Build position ``index``'s choices from ``data``, their JSON form (keys
        ``kernel_size``, ``width``, ``stride``, ``residual``)."""
        expected = {"kernel_size", "width", "stride", "residual"}
        if not isinstance(data, Mapping) or set(data) != expected:
            got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(
                f"{_where(index)}: needs exactly the keys {sorted(expected)}, but got {got}"
            )
        choices = object.__new__(cls)
        for attribute, key in (
            ("kernel_sizes", "kernel_size"),
            ("widths", "width"),
            ("strides", "stride"),
            ("residuals", "residual"),
        ):
            object.__setattr__(choices, attribute, tuple(data[key]))
        choices._validate(index)
        return choices


# What the cross-block rules need to know of a prefix: its length, its strided blocks, whether
# its last block is strided, and its last width (None for the empty prefix).
_State = tuple[int, int, bool, "int | None"]


def _state(prefix: Sequence[Block]) -> _State:
    return (
        len(prefix),
        sum(1 for b in prefix if b.stride > 1),
        bool(prefix) and prefix[-1].stride > 1,
        prefix[-1].width if prefix else None,
    )


def _advance(state: _State, block: Block) -> _State:
    length, stages, _, _ = state
    return (length + 1, stages + (block.stride > 1), block.stride > 1, block.width)


@functools.lru_cache(maxsize=4096)
def _completable(space: SchemeSpace, state: _State, depth: int) -> bool:
    """Whether a prefix in ``state`` can be extended to exactly ``depth`` blocks of ``space``."""
    if state[0] == depth:
        return True
    if state[0] > depth or state[0] >= space.max_depth:
        return False
    return any(
        space._allowed(state, block) is None and _completable(space, _advance(state, block), depth)
        for block in space._blocks_at(state[0])
    )


def _naap_positions() -> tuple[PositionChoices, ...]:
    # The settings of the NAAP-440 reference generator (talcs/NAAP-440, scheme_generator.py).
    return (
        PositionChoices((3,), (12, 16), (2,), (False,)),
        PositionChoices((3,), (16, 24), (2,), (False,)),
        PositionChoices((1, 3), (16, 24, 32), (1, 2), (False, True)),
        PositionChoices((1, 3), (32, 40), (1, 2), (False, True)),
    )


@dataclass(frozen=True)
class SchemeSpace:
    """A space of schemes: per-position choices plus the NAAP generator's rules.

    ``SchemeSpace()`` is the NAAP-440 space; :meth:`enumerate` yields its 440 schemes in the
    order of ``generated_schemes.json``. A scheme has ``min_depth`` to ``len(positions)`` blocks;
    block ``i`` takes one option of ``positions[i]``; at most ``max_stages`` blocks have a stride
    above 1; a residual connection is taken only where the block keeps its input's shape.

    Args:
        positions: The choices of each block position, in generation order.
        max_stages: Most blocks with a stride above 1 (the reference's ``max_stages``).
        min_depth: Fewest blocks (the reference's ``min_conv_blocks``).
        consecutive_strides: Whether two strided blocks may follow each other. The reference
            generator allows it (its comment says otherwise, its code does not check).

    Example:
        .. code-block:: python

            from optuna_naap.scheme import PositionChoices, SchemeSpace

            assert len(SchemeSpace().enumerate()) == 440
            tiny = SchemeSpace(
                [
                    PositionChoices((3,), (8,), (2,)),
                    PositionChoices((1, 3), (8,), (1,), (False, True)),
                ],
                min_depth=1,
            )
            assert len(tiny.enumerate()) == 5
    """

    positions: tuple[PositionChoices, ...]
    max_stages: int
    min_depth: int
    consecutive_strides: bool

    def __init__(
        self,
        positions: Sequence[PositionChoices | Mapping[str, Sequence[Any]]] | None = None,
        *,
        max_stages: int = 3,
        min_depth: int = 3,
        consecutive_strides: bool = True,
    ) -> None:
        if positions is None:
            parsed = _naap_positions()
        else:
            if isinstance(positions, (str, bytes, Mapping)):
                raise ValueError(
                    "positions must be a list of position choices, "
                    f"but got {type(positions).__name__}"
                )
            parsed = tuple(
                p if isinstance(p, PositionChoices) else PositionChoices.from_json(p, index=i)
                for i, p in enumerate(positions)
            )
        if not parsed:
            raise ValueError(f"a space needs at least one position, but got {len(parsed)=}")
        check_int("max_stages", max_stages, low=0)
        if (
            not isinstance(min_depth, int)
            or isinstance(min_depth, bool)
            or not 1 <= min_depth <= len(parsed)
        ):
            raise ValueError(
                f"min_depth must be between 1 and the number of positions ({len(parsed)}), "
                f"but got {min_depth=}"
            )
        object.__setattr__(self, "positions", parsed)
        object.__setattr__(self, "max_stages", max_stages)
        object.__setattr__(self, "min_depth", min_depth)
        object.__setattr__(self, "consecutive_strides", bool(consecutive_strides))
        if not self.feasible_depths():
            raise ValueError(
                f"the space allows no scheme: no depth from {min_depth} to {len(parsed)} can be "
                f"built under its rules ({max_stages=}, {consecutive_strides=}); allow stride 1 "
                "somewhere, more stages or a smaller min_depth"
            )

    @property
    def max_depth(self) -> int:
        """Most blocks of a scheme: the number of positions."""
        return len(self.positions)

    def block_allowed(self, prefix: Sequence[Block], block: Block) -> str | None:
        """Say why ``block`` may not follow ``prefix`` (``None`` when it may).

        Only the generator's cross-block rules are checked here; the per-position choices are
        checked by :meth:`validate`.
        """
        return self._allowed(_state(prefix), block)

    def _allowed(self, state: _State, block: Block) -> str | None:
        _, stages, last_strided, last_width = state
        if block.stride > 1:
            if stages >= self.max_stages:
                return f"more than max_stages={self.max_stages} strided blocks"
            if not self.consecutive_strides and last_strided:
                return "a strided block right after a strided block (consecutive_strides=False)"
        if block.residual:
            if last_width is None:
                return "residual on the first block"
            if block.stride != 1 or block.width != last_width:
                return "residual where the input and output shapes differ"
        return None

    def _blocks_at(self, position: int) -> Iterator[Block]:
        choices = self.positions[position]
        for k in choices.kernel_sizes:
            for w in choices.widths:
                for s in choices.strides:
                    for r in choices.residuals:
                        yield Block(k, w, s, r)

    def feasible_depths(self) -> list[int]:
        """Depths from ``min_depth`` to ``max_depth`` that at least one scheme has."""
        return [
            d
            for d in range(self.min_depth, self.max_depth + 1)
            if _completable(self, _state(()), d)
        ]

    def allowed_values(
        self, prefix: Sequence[Block], depth: int, name: str, fixed: Mapping[str, Any]
    ) -> list[Any]:
        """Options of block attribute ``name`` at the next position that keep a valid scheme.

        The next block follows ``prefix``, has the attribute values already in ``fixed``, obeys
        the rules, and leaves a prefix that can still reach exactly ``depth`` blocks.
        """
        position = len(prefix)
        if not len(prefix) < depth <= self.max_depth:
            raise ValueError(f"no block {position} in a scheme of depth {depth}")
        state = _state(prefix)
        found = set()
        for block in self._blocks_at(position):
            values = block.to_json()
            if any(values[k] != v for k, v in fixed.items()):
                continue
            if self._allowed(state, block) is None and _completable(
                self, _advance(state, block), depth
            ):
                found.add(values[name])
        choices = self.positions[position].to_json()[name]
        return [v for v in choices if v in found]

    def _walk(self, prefix: list[Block]) -> Iterator[Scheme]:
        # Depth-first in the reference generator's loop order: kernel, width, stride, residual.
        if len(prefix) >= self.min_depth:
            yield tuple(prefix)
        if len(prefix) == len(self.positions):
            return
        for block in self._blocks_at(len(prefix)):
            if self.block_allowed(prefix, block) is None:
                prefix.append(block)
                yield from self._walk(prefix)
                prefix.pop()

    def iter_schemes(self) -> Iterator[Scheme]:
        """Yield every scheme of the space, in the reference generator's order."""
        return self._walk([])

    def enumerate(self) -> list[list[dict[str, Any]]]:
        """Return every scheme of the space in JSON form, in the reference generator's order."""
        return [[b.to_json() for b in scheme] for scheme in self.iter_schemes()]

    def validate(self, scheme: SchemeLike) -> Scheme:
        """Check that ``scheme`` belongs to this space and return it as blocks.

        Raises:
            ValueError: naming the block and why it does not fit.
        """
        blocks = validate_scheme(scheme)
        if not self.min_depth <= len(blocks) <= len(self.positions):
            raise ValueError(
                f"the scheme has {len(blocks)} blocks, but this space allows "
                f"{self.min_depth} to {len(self.positions)}"
            )
        for i, block in enumerate(blocks):
            choices = self.positions[i]
            for name, value, allowed in (
                ("kernel_size", block.kernel_size, choices.kernel_sizes),
                ("width", block.width, choices.widths),
                ("stride", block.stride, choices.strides),
                ("residual", block.residual, choices.residuals),
            ):
                if value not in allowed:
                    raise ValueError(
                        f"block {i}: {name}={value!r} is not among this position's choices "
                        f"{list(allowed)}"
                    )
            reason = self.block_allowed(blocks[:i], block)
            if reason is not None:
                raise ValueError(f"block {i}: {reason}")
        return blocks

    def contains(self, scheme: SchemeLike) -> bool:
        """Whether ``scheme`` is a valid scheme of this space."""
        try:
            self.validate(scheme)
        except ValueError:
            return False
        return True

    def within(self, other: SchemeSpace) -> bool:
        """Whether this space is a restriction of ``other``, so each of its schemes is one of
        ``other``'s: fewer or equal positions, each position's choices among ``other``'s, a
        depth range inside, and rules at least as strict."""
        if len(self.positions) > len(other.positions) or self.min_depth < other.min_depth:
            return False
        if self.max_stages > other.max_stages or (
            self.consecutive_strides and not other.consecutive_strides
        ):
            return False
        for mine, theirs in zip(self.positions, other.positions, strict=False):
            for attribute in ("kernel_sizes", "widths", "strides", "residuals"):
                if not set(getattr(mine, attribute)) <= set(getattr(theirs, attribute)):
                    return False
        return True

    def to_json(self) -> dict[str, Any]:
        """Return the settings as JSON (the reference generator's ``SETTINGS`` layout)."""
        return {
            "max_stages": self.max_stages,
            "min_conv_blocks": self.min_depth,
            "consecutive_strides": self.consecutive_strides,
            "conv_blocks": [p.to_json() for p in self.positions],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SchemeSpace:
        """Build a space from ``data``: :meth:`to_json`'s output or the reference's
        ``SETTINGS`` dict."""
        if not isinstance(data, Mapping) or "conv_blocks" not in data:
            raise ValueError("space settings need a 'conv_blocks' list of position choices")
        unknown = sorted(
            set(data) - {"max_stages", "min_conv_blocks", "consecutive_strides", "conv_blocks"}
        )
        if unknown:
            raise ValueError(f"unknown space settings: {', '.join(unknown)}")
        return cls(
            data["conv_blocks"],
            max_stages=data.get("max_stages", 3),
            min_depth=data.get("min_conv_blocks", 3),
            consecutive_strides=data.get("consecutive_strides", True),
        )
