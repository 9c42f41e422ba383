"""Scheme features (computed analytically) and predictor features for k epochs of a curve.

The same :func:`build_features` serves the predictor at fit time and the pruner at decision time:
both hand it rows in the NAAP-440 CSV layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from optuna_naap._checks import check_int
from optuna_naap._scheme import (
    INPUT_CHANNELS,
    INPUT_SIZE,
    NUM_CLASSES,
    SchemeLike,
    scheme_to_dicts,
    validate_scheme,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CURVE_METRICS",
    "EPSILON_FEATURE",
    "SCHEME_COLUMNS",
    "SCHEME_COLUMNS_V2",
    "build_features",
    "curve_columns",
    "scheme_descriptors",
    "scheme_features",
]

#: Scheme columns of the v1 CSV.
SCHEME_COLUMNS = (
    "NumParams",
    "NumMACs",
    "NumLayers",
    "NumStages",
    "FirstLayerWidth",
    "LastLayerWidth",
)
#: Scheme columns of the v2 CSV.
SCHEME_COLUMNS_V2 = (*SCHEME_COLUMNS, "NumSkipConnections", "NumPartialRFLayers")
#: Per-epoch curve columns, in CSV order: ``e{i}LossMean``, ``e{i}LossMedian``, ``e{i}Accuracy``.
CURVE_METRICS = ("LossMean", "LossMedian", "Accuracy")
#: Column (and trial user attribute) of the zero-cost epsilon score, an optional extra feature.
EPSILON_FEATURE = "Epsilon"


def scheme_features(scheme: SchemeLike) -> dict[str, int]:
    """Return a scheme's NAAP-440 columns, computed analytically.

    Counts follow the published CSV (thop's rules): parameters of convs (no bias), BatchNorms
    (weight and bias) and the linear head; MACs of convs (output elements x input channels x k^2),
    4 per BatchNorm output element, the global average pool (channels x (H*W + 1)) and the linear
    layer (in x out). ReLU and residual additions count 0. A stage is a block with stride above 1;
    a partial-receptive-field layer has a kernel smaller than its stride (it skips pixels).

    Example:
        .. code-block:: python

            from optuna_naap import scheme_features

            scheme = [
                {"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
                {"kernel_size": 1, "width": 16, "stride": 1, "residual": False},
            ]
            assert scheme_features(scheme)["NumMACs"] == 231600  # NAAP-440 ModelId 1
    """
    blocks = validate_scheme(scheme)
    params = macs = 0
    channels, size = INPUT_CHANNELS, INPUT_SIZE
    for block in blocks:
        size = (size - 1) // block.stride + 1  # odd kernel, padding k // 2
        out_elements = block.width * size * size
        params += channels * block.width * block.kernel_size**2 + 2 * block.width
        macs += out_elements * channels * block.kernel_size**2 + 4 * out_elements
        channels = block.width
    macs += channels * (size * size + 1) + channels * NUM_CLASSES
    params += channels * NUM_CLASSES + NUM_CLASSES
    return {
        "NumParams": params,
        "NumMACs": macs,
        "NumLayers": len(blocks),
        "NumStages": sum(1 for b in blocks if b.stride > 1),
        "FirstLayerWidth": blocks[0].width,
        "LastLayerWidth": blocks[-1].width,
        "NumSkipConnections": sum(1 for b in blocks if b.residual),
        "NumPartialRFLayers": sum(1 for b in blocks if b.kernel_size < b.stride),
    }


def scheme_descriptors(scheme: SchemeLike, *, positions: int | None = None) -> dict[str, int]:
    """Return structure features of a scheme beyond the CSV columns, for the predictor.

    ``ReceptiveField`` (pixels of the input seen by one output unit), ``FinalResolution`` (side
    of the last feature map) and, for each block position ``p`` below ``positions`` (default: the
    scheme's depth), ``Width{p}``, ``Kernel{p}``, ``Stride{p}`` and ``Residual{p}`` (0 where the
    scheme has no block ``p``).
    """
    blocks = validate_scheme(scheme)
    receptive_field, jump, size = 1, 1, INPUT_SIZE
    for block in blocks:
        receptive_field += (block.kernel_size - 1) * jump
        jump *= block.stride
        size = (size - 1) // block.stride + 1
    out = {"ReceptiveField": receptive_field, "FinalResolution": size}
    for p in range(len(blocks) if positions is None else positions):
        here = blocks[p] if p < len(blocks) else None
        out[f"Width{p}"] = here.width if here else 0
        out[f"Kernel{p}"] = here.kernel_size if here else 0
        out[f"Stride{p}"] = here.stride if here else 0
        out[f"Residual{p}"] = int(here.residual) if here else 0
    return out


def curve_columns(epochs: int) -> list[str]:
    """Return the CSV columns of the first ``epochs`` epochs, in CSV order."""
    return [f"e{i}{metric}" for i in range(1, epochs + 1) for metric in CURVE_METRICS]


def available_epochs(columns: Iterable[object]) -> int:
    """Return the number of leading epochs whose three curve columns are all present."""
    present = {str(c) for c in columns}
    n = 0
    while all(f"e{n + 1}{m}" in present for m in CURVE_METRICS):
        n += 1
    return n


def _parse_scheme(value: object, row: int) -> list[dict[str, object]]:
    try:
        scheme = json.loads(value) if isinstance(value, str) else value
        return scheme_to_dicts(scheme)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the Scheme of data row {row + 1} is not a valid scheme: {exc}") from exc


def build_features(
    frame: pd.DataFrame,
    epochs: int,
    *,
    scheme_columns: Sequence[str] | None = None,
    positions: int | None = None,
    cycle: int = 3,
    raw_curves: bool = False,
) -> pd.DataFrame:
    """Return the predictor's features for ``epochs`` epochs of the rows of ``frame``.

    The scheme part is the given scheme columns (default: the v2 columns where all are present,
    else the v1 columns), with ``NumParams`` and ``NumMACs`` on a log scale. Where the frame has
    a ``Scheme`` column (the scheme as JSON, see :func:`attach_schemes`), the
    :func:`scheme_descriptors` of each row are added.

    The curve part summarises the first ``epochs`` epochs: the best and last accuracy, the last
    loss mean, the accuracy gain over the last learning-rate cycle, and the accuracy and loss mean
    at the end of each cycle (``cycle`` epochs; the NAAP recipe resets the learning rate every 3,
    so a cycle's last epoch, at the lowest rate, is its most telling). ``raw_curves=True`` adds
    every epoch's loss mean, loss median and accuracy as well; on NAAP-440 that was worse in
    cross-validation (docs/predictor.md).

    Args:
        frame: Rows in the NAAP-440 CSV layout (any subset, any extra columns).
        epochs: How many epochs of the curve to use, 0 to the epochs present.
        scheme_columns: Scheme columns to use (for example the columns a predictor was fit on).
        positions: Block positions described per position (default: the deepest scheme).
        cycle: Epochs per learning-rate cycle of the recipe.
        raw_curves: Whether to add the raw per-epoch columns.

    Raises:
        ValueError: if ``epochs`` is out of range, or a needed column is missing or not finite.
    """
    import pandas as pd

    check_int("epochs", epochs, low=0)
    check_int("cycle", cycle, low=1)
    have = available_epochs(frame.columns)
    if epochs > have:
        raise ValueError(
            f"features for {epochs} epochs need columns e1..e{epochs} "
            f"(LossMean, LossMedian, Accuracy), but the data has {have} epochs"
        )
    if scheme_columns is None:
        scheme_columns = (
            SCHEME_COLUMNS_V2
            if all(c in frame.columns for c in SCHEME_COLUMNS_V2)
            else SCHEME_COLUMNS
        )
    missing = [c for c in scheme_columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the data lacks scheme columns {', '.join(missing)}")
    curve = curve_columns(epochs)
    # One float matrix and one DataFrame at the end: the pruner builds a single row per
    # decision, where pandas' per-column operations would cost more than the prediction.
    source = [*scheme_columns, *curve]
    raw = frame.loc[:, source].to_numpy(dtype="float64")
    finite = np.isfinite(raw).all(axis=0)
    if not finite.all():
        raise ValueError(
            f"column {source[int(np.argmin(finite))]} has missing or non-finite values"
        )
    index = {name: i for i, name in enumerate(source)}

    names: list[str] = list(scheme_columns)
    blocks: list[np.ndarray] = [raw[:, : len(scheme_columns)].copy()]
    for column in ("NumParams", "NumMACs"):
        if column in index:
            blocks[0][:, index[column]] = np.log(blocks[0][:, index[column]])
    if "Scheme" in frame.columns:
        schemes = [_parse_scheme(value, row) for row, value in enumerate(frame["Scheme"])]
        if positions is None:
            positions = max((len(s) for s in schemes), default=0)
        described = [scheme_descriptors(s, positions=positions) for s in schemes]
        described_names = (
            list(scheme_descriptors(schemes[0], positions=positions)) if schemes else []
        )
        names += described_names
        blocks.append(
            np.array(
                [[d[n] for n in described_names] for d in described], dtype="float64"
            ).reshape(len(frame), len(described_names))
        )
    if epochs:
        acc = raw[:, [index[f"e{i}Accuracy"] for i in range(1, epochs + 1)]]
        back = epochs - cycle
        summaries: dict[str, np.ndarray] = {
            "BestAccuracy": acc.max(axis=1),
            "LastAccuracy": acc[:, -1],
            "LastLossMean": raw[:, index[f"e{epochs}LossMean"]],
            "CycleGain": acc[:, -1] - (acc[:, back - 1] if back > 0 else 0.0),
        }
        for end in list(range(cycle, epochs + 1, cycle)) or [epochs]:
            summaries[f"CycleEndAccuracy{end}"] = raw[:, index[f"e{end}Accuracy"]]
            summaries[f"CycleEndLossMean{end}"] = raw[:, index[f"e{end}LossMean"]]
        names += list(summaries)
        blocks.append(np.column_stack(list(summaries.values())))
        if raw_curves:
            names += curve
            blocks.append(raw[:, len(scheme_columns) :])
    return pd.DataFrame(np.hstack(blocks), columns=names, index=frame.index)
