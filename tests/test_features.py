from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from optuna_naap import scheme_features
from optuna_naap.data import attach_schemes
from optuna_naap.features import (
    SCHEME_COLUMNS,
    SCHEME_COLUMNS_V2,
    build_features,
    curve_columns,
    scheme_descriptors,
)


def test_scheme_features_match_both_csvs_for_all_440(
    reference_schemes: list[Any], naap440_v1: pd.DataFrame, naap440_v2: pd.DataFrame
) -> None:
    for i, scheme in enumerate(reference_schemes):
        features = scheme_features(scheme)
        v1, v2 = naap440_v1.iloc[i], naap440_v2.iloc[i]
        assert v1.ModelId == v2.ModelId == i + 1
        for column in SCHEME_COLUMNS:
            assert features[column] == v1[column], (i + 1, column)
        for column in SCHEME_COLUMNS_V2:
            assert features[column] == v2[column], (i + 1, column)


def test_scheme_one_by_hand() -> None:
    scheme = [
        {"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
        {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
        {"kernel_size": 1, "width": 16, "stride": 1, "residual": False},
    ]
    # The shared README: 209920 conv + 20480 BN + 1040 pool + 160 linear.
    assert scheme_features(scheme)["NumMACs"] == 209920 + 20480 + 1040 + 160
    described = scheme_descriptors(scheme, positions=4)
    assert described["ReceptiveField"] == 1 + 2 + 2 * 2  # 3x3 s2, 3x3 s2, 1x1
    assert described["FinalResolution"] == 8
    assert described["Width3"] == described["Kernel3"] == described["Stride3"] == 0


def test_curve_columns_order() -> None:
    assert curve_columns(2) == [
        "e1LossMean",
        "e1LossMedian",
        "e1Accuracy",
        "e2LossMean",
        "e2LossMedian",
        "e2Accuracy",
    ]
    assert curve_columns(0) == []


@pytest.mark.parametrize("epochs", [0, 1, 3, 9, 90])
def test_features_are_row_wise(naap440_v2: pd.DataFrame, epochs: int) -> None:
    # The pruner builds features for one trial at a time: they must equal the batch ones.
    frame = attach_schemes(naap440_v2)
    batch = build_features(frame, epochs)
    positions = sum(c.startswith("Width") for c in batch.columns)
    for index in (0, 17, 439):
        single = build_features(frame.iloc[[index]], epochs, positions=positions)
        pd.testing.assert_frame_equal(single, batch.iloc[[index]])
    assert np.isfinite(batch.to_numpy()).all()
    assert batch["NumParams"].iloc[0] == pytest.approx(np.log(2566))


def test_v1_rows_get_v1_scheme_columns(naap440_v1: pd.DataFrame) -> None:
    columns = build_features(naap440_v1, 3).columns
    assert "NumSkipConnections" not in columns
    assert {"BestAccuracy", "LastAccuracy", "CycleGain", "CycleEndAccuracy3"} <= set(columns)


def test_curve_summaries(naap440_v2: pd.DataFrame) -> None:
    row = naap440_v2.iloc[[0]]
    features = build_features(row, 9)
    accuracies = [row[f"e{i}Accuracy"].iloc[0] for i in range(1, 10)]
    assert features["BestAccuracy"].iloc[0] == max(accuracies)
    assert features["LastAccuracy"].iloc[0] == accuracies[8]
    assert features["CycleGain"].iloc[0] == pytest.approx(accuracies[8] - accuracies[5])
    assert [c for c in features.columns if c.startswith("CycleEndAccuracy")] == [
        "CycleEndAccuracy3",
        "CycleEndAccuracy6",
        "CycleEndAccuracy9",
    ]
    assert features["CycleEndLossMean6"].iloc[0] == row["e6LossMean"].iloc[0]
    assert "e1Accuracy" not in features.columns
    with_raw = build_features(row, 9, raw_curves=True)
    assert set(curve_columns(9)) <= set(with_raw.columns)
    # Fewer epochs than a cycle: the last epoch stands for the cycle end.
    assert "CycleEndAccuracy2" in build_features(row, 2).columns
    assert "CycleEndAccuracy4" in build_features(row, 9, cycle=4).columns
    with pytest.raises(ValueError, match="cycle=0"):
        build_features(row, 9, cycle=0)


def test_errors(naap440_v2: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="features for 91 epochs need columns e1..e91"):
        build_features(naap440_v2, 91)
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        build_features(naap440_v2, -1)
    short = naap440_v2.drop(columns=["e5Accuracy"])
    with pytest.raises(ValueError, match="but the data has 4 epochs"):
        build_features(short, 5)
    build_features(short, 4)
    holed = naap440_v2.copy()
    holed.loc[3, "e2LossMedian"] = np.nan
    with pytest.raises(ValueError, match="column e2LossMedian has missing or non-finite values"):
        build_features(holed, 2)
    with pytest.raises(ValueError, match="lacks scheme columns NumStages"):
        build_features(naap440_v2.drop(columns=["NumStages"]), 1)
    bad_scheme = naap440_v2.head(2).assign(Scheme=["[]", "not json"])
    with pytest.raises(ValueError, match="the Scheme of data row 1 is not a valid scheme"):
        build_features(bad_scheme, 0)
