"""Schemes: stacks of conv-BN-ReLU blocks, in the JSON form of ``generated_schemes.json``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Block",
    "Scheme",
    "SchemeLike",
    "scheme_key",
    "scheme_to_dicts",
    "validate_scheme",
]

_BLOCK_KEYS = ("kernel_size", "width", "stride", "residual")

#: Input of the NAAP networks: CIFAR-10 images.
INPUT_CHANNELS = 3
INPUT_SIZE = 32
NUM_CLASSES = 10


@dataclass(frozen=True)
class Block:
    """One conv-BN-ReLU block of a scheme.

    Args:
        kernel_size: Odd kernel size of the convolution (padding is ``kernel_size // 2``).
        width: Output channels of the convolution.
        stride: Stride of the convolution.
        residual: Whether the block's input is added to its output (needs equal shapes).
    """

    kernel_size: int
    width: int
    stride: int
    residual: bool

    def to_json(self) -> dict[str, Any]:
        """Return the block as the JSON dict of ``generated_schemes.json``."""
        return {
            "kernel_size": self.kernel_size,
            "width": self.width,
            "stride": self.stride,
            "residual": self.residual,
        }


Scheme = tuple[Block, ...]
SchemeLike = Sequence[Mapping[str, Any]] | Sequence[Block]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """A numpy scalar (schemes read from a DataFrame carry them) as the Python number or bool
    it stands for; anything else unchanged. ``np.float64(16.0)`` becomes ``16.0``, which the
    checks still refuse as a width."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def _as_block(index: int, raw: object) -> Block:
    if isinstance(raw, Block):
        values: Mapping[str, Any] = raw.to_json()
    elif isinstance(raw, Mapping):
        values = raw
    else:
        raise ValueError(
            f"block {index} must be a mapping with keys {', '.join(_BLOCK_KEYS)}, "
            f"but got {type(raw).__name__}"
        )
    missing = [k for k in _BLOCK_KEYS if k not in values]
    if missing:
        raise ValueError(f"block {index} is missing {', '.join(missing)}")
    unknown = sorted(set(values) - set(_BLOCK_KEYS))
    if unknown:
        raise ValueError(f"block {index} has unknown keys {', '.join(unknown)}")
    kernel_size, width, stride, residual = (
        _plain(values[k]) for k in ("kernel_size", "width", "stride", "residual")
    )
    if not _is_int(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f"block {index}: kernel_size must be a positive odd integer, but got {kernel_size!r}"
        )
    if not _is_int(width) or width < 1:
        raise ValueError(f"block {index}: width must be a positive integer, but got {width!r}")
    if not _is_int(stride) or stride < 1:
        raise ValueError(f"block {index}: stride must be a positive integer, but got {stride!r}")
    if not isinstance(residual, bool):
        raise ValueError(f"block {index}: residual must be true or false, but got {residual!r}")
    return Block(kernel_size, width, stride, residual)


def validate_scheme(scheme: SchemeLike, *, input_channels: int = INPUT_CHANNELS) -> Scheme:
    """Check a scheme and return it as a tuple of :class:`Block`.

    A valid scheme is non-empty, every block has a positive odd kernel size, a positive width and
    stride, and a residual connection only where the block's input and output shapes agree
    (not the first block, stride 1, same width as the previous block). ``input_channels``: the
    channels of the images the first block reads (3 for CIFAR-10).

    Raises:
        ValueError: naming the block (0-based) and what is wrong with it.

    Example:
        .. code-block:: python

            from optuna_naap import validate_scheme

            blocks = validate_scheme(
                [
                    {"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
                    {"kernel_size": 3, "width": 12, "stride": 1, "residual": True},
                ]
            )
            assert blocks[1].residual
    """
    if isinstance(scheme, (str, bytes)) or not isinstance(scheme, Iterable):
        raise ValueError(f"a scheme must be a list of blocks, but got {type(scheme).__name__}")
    blocks = tuple(_as_block(i, raw) for i, raw in enumerate(scheme))
    if not blocks:
        raise ValueError("a scheme needs at least one block, but got an empty list")
    channels = input_channels
    for i, block in enumerate(blocks):
        if block.residual:
            if i == 0:
                raise ValueError("block 0: residual is not allowed on the first block")
            if block.stride != 1:
                raise ValueError(
                    f"block {i}: residual needs stride 1 (shapes differ), "
                    f"but got stride={block.stride}"
                )
            if block.width != channels:
                raise ValueError(
                    f"block {i}: residual needs the previous width {channels} "
                    f"(shapes differ), but got width={block.width}"
                )
        channels = block.width
    return blocks


def scheme_to_dicts(scheme: SchemeLike) -> list[dict[str, Any]]:
    """Return ``scheme`` as a list of block dicts, the form of ``generated_schemes.json`` and of
    the ``naap:scheme`` attribute (validated; ``json.dumps`` it for text)."""
    return [block.to_json() for block in validate_scheme(scheme)]


def scheme_key(scheme: Sequence[Mapping[str, Any]]) -> str:
    """A hashable key of a scheme in JSON form (equal schemes, equal keys)."""
    return json.dumps(list(scheme), sort_keys=True)
