from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from optuna_naap import NAAPPredictor, PredictorFileError, attach_schemes, num_violations

FAST = {"iterations": 60, "learning_rate": 0.2, "thread_count": 2}


@pytest.fixture(scope="module")
def frame(naap440_v2: pd.DataFrame) -> pd.DataFrame:
    return attach_schemes(naap440_v2)


@pytest.fixture(scope="module")
def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return frame[frame.IsTest == 0], frame[frame.IsTest == 1]


@pytest.mark.parametrize("loss", ["RMSE", "PairLogit"])
@pytest.mark.parametrize("epochs", [0, 3])
def test_fit_predict_round_trip(
    split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, loss: str, epochs: int
) -> None:
    train, test = split
    predictor = NAAPPredictor(epochs, loss=loss, n_models=2, **FAST)
    assert predictor.fit(train) is predictor
    predicted = predictor.predict(test)
    assert predicted.shape == (40,) and np.isfinite(predicted).all()
    # Accuracies, also for the pairwise loss (scores are calibrated on the training rows).
    assert 0.3 < predicted.mean() < 0.8
    assert num_violations(test.MaxAccuracy, predicted)[0] < 390  # better than chance
    path = tmp_path / "predictor.json"
    predictor.save(path)
    again = NAAPPredictor.load(path)
    np.testing.assert_array_equal(again.predict(test), predicted)
    assert again.get_params() == predictor.get_params()
    assert again.feature_names_ == predictor.feature_names_


def test_uncertainty(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = split
    predictor = NAAPPredictor(3, n_models=2, **FAST).fit(train)
    mean, std = predictor.predict_with_uncertainty(test)
    np.testing.assert_allclose(mean, predictor.predict(test))
    assert std.shape == (40,) and (std >= 0).all() and std.max() > 0


def test_one_row_predictions_equal_batch_ones(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = split
    predictor = NAAPPredictor(9, **FAST).fit(train)
    batch = predictor.predict(test)
    for i in (0, 13, 39):
        assert predictor.predict(test.iloc[[i]])[0] == pytest.approx(batch[i], abs=1e-12)


def test_without_schemes_it_uses_the_csv_columns(naap440_v1: pd.DataFrame) -> None:
    train = naap440_v1[naap440_v1.IsTest == 0]
    predictor = NAAPPredictor(3, **FAST).fit(train)
    assert not predictor.uses_schemes_
    assert "NumSkipConnections" not in predictor.feature_names_
    assert predictor.predict(naap440_v1.head(3)).shape == (3,)


def test_errors(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = split
    with pytest.raises(RuntimeError, match="not fitted yet"):
        NAAPPredictor().predict(test)
    with pytest.raises(ValueError, match="needs e1..e91 curve columns, but the data has 90"):
        NAAPPredictor(91, **FAST).fit(train)
    with pytest.raises(ValueError, match="MaxAccuracy column"):
        NAAPPredictor(0, **FAST).fit(train.drop(columns=["MaxAccuracy"]))
    with pytest.raises(ValueError, match="at least 2 rows"):
        NAAPPredictor(0, **FAST).fit(train.head(1))
    fitted = NAAPPredictor(3, **FAST).fit(train)
    with pytest.raises(ValueError, match="give the rows their schemes"):
        fitted.predict(test.drop(columns=["Scheme"]))
    with pytest.raises(ValueError, match="the data has 2 epochs"):
        fitted.predict(test[[c for c in test.columns if not c.startswith("e3")]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": -1}, "epochs=-1"),
        ({"loss": "MAE"}, "loss='MAE'"),
        ({"iterations": 0}, "iterations=0"),
        ({"depth": 17}, "depth=17"),
        ({"n_models": 0}, "n_models=0"),
        ({"learning_rate": 0.0}, "learning_rate=0.0"),
        ({"l2_leaf_reg": -1.0}, "l2_leaf_reg=-1.0"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"thread_count": 0}, "thread_count=0"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NAAPPredictor(**kwargs)


def test_bad_files(split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    NAAPPredictor(0, **FAST).fit(split[0]).save(good)
    document = json.loads(good.read_text())

    def write(name: str, content: str) -> Path:
        path = tmp_path / name
        path.write_text(content)
        return path

    cases = {
        "no predictor file at": tmp_path / "missing.json",
        "not readable JSON": write("text.json", "hello"),
        "is not an optuna-naap predictor file": write("other.json", json.dumps({"a": 1})),
        "format version 99; this optuna-naap reads version 1": write(
            "future.json", json.dumps({**document, "format_version": 99})
        ),
        "corrupt predictor file": write(
            "truncated.json",
            json.dumps(
                {
                    **document,
                    "models": [
                        base64.b64encode(base64.b64decode(document["models"][0])[:200]).decode()
                    ],
                }
            ),
        ),
        "corrupt predictor file \\(": write(
            "nobase64.json", json.dumps({**document, "models": ["!!!"]})
        ),
        "holds 2 models for n_models=1": write(
            "twice.json", json.dumps({**document, "models": document["models"] * 2})
        ),
        "corrupt predictor file \\('feature_names'\\)": write(
            "nokeys.json", json.dumps({k: v for k, v in document.items() if k != "feature_names"})
        ),
    }
    for message, path in cases.items():
        with pytest.raises(PredictorFileError, match=message):
            NAAPPredictor.load(path)
