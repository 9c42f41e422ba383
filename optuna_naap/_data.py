"""Loading and validating data in the NAAP-440 CSV layout."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_naap._features import CURVE_METRICS, SCHEME_COLUMNS, SCHEME_COLUMNS_V2, scheme_features
from optuna_naap._packaged import (
    NAAP440_SOURCES,
    NAAPDataError,
    default_cache_dir,
    fetch,
    packaged_naap440_bytes,
    packaged_naap440_file,
    sha256_of,
)
from optuna_naap._space import SchemeSpace

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "NAAP440_SOURCES",
    "NAAPDataError",
    "attach_schemes",
    "curve_epochs",
    "default_cache_dir",
    "fetch_naap440",
    "load_naap440",
    "packaged_naap440_bytes",
    "packaged_naap440_file",
    "read_naap_csv",
    "truncate_curves",
    "validate_frame",
]


_EPOCH_COLUMN = re.compile(r"^e(\d+)(LossMean|LossMedian|Accuracy)$")


def validate_frame(frame: pd.DataFrame, *, source: str = "the data") -> pd.DataFrame:
    """Check the rows of ``frame`` in the NAAP-440 CSV layout and return them with numeric
    columns (errors name ``source``, the file they came from).

    Needs ``ModelId``, ``IsTest``, the six v1 scheme columns, ``MaxAccuracy`` and, for some
    ``n >= 1``, the curve columns of epochs 1..n (the published file has 90). The v2 columns
    ``NumSkipConnections`` and ``NumPartialRFLayers`` are kept when present.

    Raises:
        NAAPDataError: naming the column or the row (ModelId) that is wrong.
    """
    import pandas as pd

    required = ["ModelId", "IsTest", *SCHEME_COLUMNS, "MaxAccuracy"]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise NAAPDataError(f"{source} lacks the column(s) {', '.join(missing)}")
    if frame.empty:
        raise NAAPDataError(f"{source} has a header but no data rows")
    epochs: dict[int, set[str]] = {}
    for column in frame.columns:
        match = _EPOCH_COLUMN.match(str(column))
        if match:
            epochs.setdefault(int(match.group(1)), set()).add(match.group(2))
    if not epochs:
        raise NAAPDataError(
            f"{source} has no curve columns (e1LossMean, e1LossMedian, e1Accuracy, ...)"
        )
    for epoch in range(1, max(epochs) + 1):
        lacking = [m for m in CURVE_METRICS if m not in epochs.get(epoch, set())]
        if lacking:
            raise NAAPDataError(f"{source} lacks the column e{epoch}{lacking[0]}")
    if frame.columns.duplicated().any():
        raise NAAPDataError(
            f"{source} repeats the column {frame.columns[frame.columns.duplicated()][0]}"
        )

    checked = [
        c
        for c in frame.columns
        if c in required or c in SCHEME_COLUMNS_V2 or _EPOCH_COLUMN.match(str(c))
    ]
    out = frame.copy()
    for column in checked:
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() & out[column].notna()
        if bad.any():
            row = bad.to_numpy().nonzero()[0][0]
            raise NAAPDataError(
                f"{source}: column {column} has a non-numeric value {out[column].iloc[row]!r} "
                f"in data row {row + 1}"
            )
        nan = values.isna()
        if nan.any():
            row = nan.to_numpy().nonzero()[0][0]
            raise NAAPDataError(f"{source}: column {column} is empty in data row {row + 1}")
        out[column] = values
    duplicated = out["ModelId"].duplicated()
    if duplicated.any():
        row = duplicated.to_numpy().nonzero()[0][0]
        raise NAAPDataError(
            f"{source}: ModelId {out['ModelId'].iloc[row]} appears twice "
            f"(again in data row {row + 1})"
        )
    if not out["IsTest"].isin([0, 1]).all():
        row = (~out["IsTest"].isin([0, 1])).to_numpy().nonzero()[0][0]
        raise NAAPDataError(
            f"{source}: IsTest must be 0 or 1, but data row {row + 1} has "
            f"{out['IsTest'].iloc[row]:g}"
        )
    _check_ranges(out, source)
    out["ModelId"] = out["ModelId"].astype("int64")
    out["IsTest"] = out["IsTest"].astype("int64")
    return out


def _check_ranges(frame: pd.DataFrame, source: str) -> None:
    """Values that cannot be true: accuracies outside [0, 1] (a hint for percentages), losses
    that are negative or not finite, fractional ModelIds, a MaxAccuracy below the curve."""
    import numpy as np

    def first(bad: Any) -> int:
        return int(np.asarray(bad).nonzero()[0][0])

    fractional = frame["ModelId"] % 1 != 0
    if fractional.any():
        row = first(fractional)
        raise NAAPDataError(
            f"{source}: ModelId must be an integer, but data row {row + 1} has "
            f"{float(frame['ModelId'].iloc[row]):g}"
        )
    accuracies = ["MaxAccuracy", *(c for c in frame.columns if str(c).endswith("Accuracy"))]
    for column in dict.fromkeys(accuracies):
        values = frame[column].to_numpy(dtype="float64")
        bad = ~((values >= 0) & (values <= 1))
        if bad.any():
            row = first(bad)
            value = values[row]
            hint = (
                "; accuracies are fractions (it looks like a percentage)"
                if 1 < value <= 100
                else ""
            )
            raise NAAPDataError(
                f"{source}: column {column} must be in [0, 1], but data row {row + 1} has "
                f"{value:g}{hint}"
            )
    for column in (c for c in frame.columns if "Loss" in str(c)):
        values = frame[column].to_numpy(dtype="float64")
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = first(bad)
            raise NAAPDataError(
                f"{source}: column {column} must be a finite loss >= 0, but data row "
                f"{row + 1} has {values[row]:g}"
            )
    curve = [
        c for c in frame.columns if _EPOCH_COLUMN.match(str(c)) and str(c).endswith("Accuracy")
    ]
    # MaxAccuracy is the best of the epochs' test accuracies: it cannot be below one of them.
    below = (
        frame["MaxAccuracy"].to_numpy() < frame[curve].to_numpy(dtype="float64").max(axis=1) - 1e-9
    )
    if below.any():
        row = first(below)
        raise NAAPDataError(
            f"{source}: MaxAccuracy {frame['MaxAccuracy'].iloc[row]:g} of data row {row + 1} "
            f"is below the row's best epoch accuracy "
            f"{frame[curve].iloc[row].max():g}; MaxAccuracy is the best of the epochs"
        )


def curve_epochs(frame: pd.DataFrame) -> int:
    """How many epochs of curve columns (``e1Accuracy`` ... ``e{n}Accuracy``) ``frame`` has.

    Args:
        frame: Rows in the NAAP-440 layout (0 when it has no curve column).
    """
    return max(
        (int(m.group(1)) for c in frame.columns if (m := _EPOCH_COLUMN.match(str(c)))),
        default=0,
    )


def truncate_curves(frame: pd.DataFrame, epochs: int) -> pd.DataFrame:
    """The rows of ``frame`` as runs of ``epochs`` epochs: curve columns after ``epochs``
    dropped and ``MaxAccuracy`` the best of the epochs kept.

    Exact for NAAP-440 and any other data set trained with the NAAP recipe: its learning rate
    depends only on the epoch's place in its 3-epoch cycle (0.1, 0.01, 0.001, 0.1, ...), never
    on the number of epochs, so a k-epoch run is the first k epochs of a 90-epoch one.

    Args:
        frame: Rows in the NAAP-440 layout.
        epochs: The budget to cut the curves to.

    Raises:
        ValueError: ``epochs`` is not between 1 and the rows' epochs.
    """
    have = curve_epochs(frame)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= have:
        raise ValueError(f"epochs must be an integer between 1 and {have}, but got {epochs=}")
    if epochs == have:
        return frame
    keep = [
        c
        for c in frame.columns
        if not (m := _EPOCH_COLUMN.match(str(c))) or int(m.group(1)) <= epochs
    ]
    out = frame.loc[:, keep].copy()
    out["MaxAccuracy"] = out[[f"e{e}Accuracy" for e in range(1, epochs + 1)]].max(axis=1)
    return out


def read_naap_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate the CSV at ``path`` in the NAAP-440 layout (v1 or v2, any number of
    epochs)."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise NAAPDataError(f"{path} is a folder, not a CSV file")
    if path.exists() and not path.is_file():
        raise NAAPDataError(f"{path} is not a regular file (a FIFO or a device), not a CSV file")
    if not path.is_file():
        raise NAAPDataError(f"no CSV file at {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise NAAPDataError(f"{path} is not a readable CSV file ({exc})") from exc
    return validate_frame(frame, source=str(path))


def attach_schemes(frame: pd.DataFrame, space: SchemeSpace | None = None) -> pd.DataFrame:
    """Return ``frame`` with a ``Scheme`` column: the JSON scheme of each row's ``ModelId``.

    ``ModelId`` i is scheme i-1 of ``space.enumerate()`` (the NAAP-440 space by default), as in
    the published dataset. Each row's scheme columns are checked against the scheme's analytic
    :func:`scheme_features`, so rows of another space are refused rather than mislabelled.

    Raises:
        NAAPDataError: a ModelId outside the space, or a row whose columns do not match.
    """

    schemes = (space or SchemeSpace()).enumerate()
    out = frame.copy()
    column = []
    for row, model_id in enumerate(out["ModelId"]):
        if not 1 <= int(model_id) <= len(schemes):
            raise NAAPDataError(
                f"ModelId {model_id} (data row {row + 1}) is outside the space's "
                f"{len(schemes)} schemes; these rows are not NAAP-440 rows"
            )
        scheme = schemes[int(model_id) - 1]
        for name, value in scheme_features(scheme).items():
            if name in out.columns and out[name].iloc[row] != value:
                raise NAAPDataError(
                    f"ModelId {model_id} (data row {row + 1}) has {name}={out[name].iloc[row]}, "
                    f"but its scheme has {value}; these rows are not NAAP-440 rows"
                )
        column.append(json.dumps(scheme, separators=(",", ":")))
    out["Scheme"] = column
    return out


def load_naap440(
    path: str | os.PathLike[str] | None = None,
    *,
    version: int = 2,
    cache_dir: str | os.PathLike[str] | None = None,
    schemes: bool = True,
) -> pd.DataFrame:
    """Load the NAAP-440 dataset as a validated DataFrame in its CSV layout.

    With ``path``, reads that file (v1 or v2 layout, detected from its columns). Without it,
    reads the published ``naap440v2.csv`` (or ``naap440.csv`` for ``version=1``) shipped inside
    the package (MIT, talcs/NAAP-440; checked against its published SHA-256): no file and no
    network are needed. :func:`fetch_naap440` still downloads the published file for those who
    want it from its source. With ``schemes=True`` the rows get a ``Scheme`` column
    (:func:`attach_schemes`).

    ``MaxAccuracy`` is the maximum over the 90 epochs of the CIFAR-10 *test set* accuracy, so it
    is an optimistic estimate of a scheme's accuracy: use it to rank schemes, not to report them.

    Args:
        path: A CSV in the NAAP-440 layout.
        version: Which published file to read when ``path`` is not given: 1 or 2.
        cache_dir: Unused since the data is packaged; kept for compatibility.
        schemes: Whether to add the ``Scheme`` column from ``ModelId``.

    Raises:
        NAAPDataError: a missing or malformed file.

    Example:
        .. code-block:: python

            from optuna_naap import load_naap440

            frame = load_naap440()  # the packaged published file
            train = frame[frame.IsTest == 0]
            assert len(frame) == 440
    """
    if path is None:
        import io

        import pandas as pd

        frame = validate_frame(
            pd.read_csv(io.BytesIO(packaged_naap440_bytes(version=version))),
            source=f"the packaged NAAP-440 v{version} CSV",
        )
        return attach_schemes(frame) if schemes else frame
    frame = read_naap_csv(path)
    return attach_schemes(frame) if schemes else frame


def fetch_naap440(
    *,
    version: int = 2,
    cache_dir: str | os.PathLike[str] | None = None,
    url: str | None = None,
) -> Path:
    """Return the path of the cached NAAP-440 CSV, downloading it first if needed.

    The file must have the published SHA-256 of its version, whatever ``url`` it comes from:
    a mirror (``url=``, also ``file://``) is accepted only if it serves the same bytes.

    Args:
        version: 1 (``naap440.csv``) or 2 (``naap440v2.csv``).
        cache_dir: Where the file is cached (default :func:`default_cache_dir`).
        url: Where to download from instead of the public repository.

    Raises:
        NAAPDataError: if the download fails or its checksum differs; nothing is cached then.
    """
    if version not in NAAP440_SOURCES:
        raise ValueError(f"version must be 1 or 2, but got {version=}")
    default_url, sha256 = NAAP440_SOURCES[version]
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = target / default_url.rsplit("/", 1)[1]
    if not target.is_file() or sha256_of(target) != sha256:
        fetch(url or default_url, sha256, target)
    return target
