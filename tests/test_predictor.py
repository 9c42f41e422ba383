from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from options import FAST

from optuna_naap import NAAPPredictor, PredictorFileError
from optuna_naap.data import attach_schemes
from optuna_naap.metrics import num_violations


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
    predictor = NAAPPredictor(epochs, loss=loss, **{**FAST, "n_models": 2})
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
    assert again.architecture_weight_ == predictor.architecture_weight_
    np.testing.assert_array_equal(again.cv_residuals_, predictor.cv_residuals_)
    assert [c.feature_names for c in again.components_] == [
        c.feature_names for c in predictor.components_
    ]


def test_uncertainty(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = split
    predictor = NAAPPredictor(3, **{**FAST, "n_models": 2}).fit(train)
    mean, std = predictor.predict_with_uncertainty(test)
    np.testing.assert_allclose(mean, predictor.predict(test))
    assert std.shape == (40,) and (std >= 0).all() and std.max() > 0


@pytest.mark.parametrize(("weight", "epochs"), [(0.0, [3]), (0.4, [0, 3]), (1.0, [0])])
def test_fixed_architecture_weight(
    split: tuple[pd.DataFrame, pd.DataFrame], weight: float, epochs: list[int]
) -> None:
    train, test = split
    predictor = NAAPPredictor(3, architecture_weight=weight, **FAST).fit(train)
    assert [c.epochs for c in predictor.components_] == epochs
    if weight == 0.4:
        architecture = NAAPPredictor(3, architecture_weight=1.0, **FAST).fit(train)
        curve = NAAPPredictor(3, architecture_weight=0.0, **FAST).fit(train)
        np.testing.assert_allclose(
            predictor.predict(test),
            0.4 * architecture.predict(test) + 0.6 * curve.predict(test),
        )


def test_auto_weight_is_chosen_from_the_grid(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    predictor = NAAPPredictor(9, **FAST).fit(split[0])
    assert predictor.architecture_weight_ in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert NAAPPredictor(0, **FAST).fit(split[0]).architecture_weight_ == 1.0


@pytest.mark.parametrize("weight", ["auto", 0.4, 1.0])
@pytest.mark.parametrize("epochs", [0, 3])
def test_cv_residuals_are_out_of_fold_errors(
    split: tuple[pd.DataFrame, pd.DataFrame], weight: float | str, epochs: int
) -> None:
    train = split[0]
    predictor = NAAPPredictor(epochs, architecture_weight=weight, **FAST).fit(train)
    residuals = predictor.cv_residuals_
    assert residuals.shape == (len(train),) and np.isfinite(residuals).all()
    # Out of fold, so larger than the errors on the fit rows themselves.
    in_sample = train.MaxAccuracy.to_numpy() - predictor.predict(train)
    assert np.abs(residuals).mean() > np.abs(in_sample).mean()
    assert np.abs(residuals).mean() < 0.02  # and still a predictor (accuracies span 0.3..0.8)


def test_few_rows(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train = split[0]
    few = NAAPPredictor(3, **FAST).fit(train.head(4))
    assert few.architecture_weight_ == 0.5
    assert few.cv_residuals_.shape == (0,)  # too few rows to measure errors
    with pytest.raises(ValueError, match="CatBoost cannot fit these 2 rows .* more varied"):
        NAAPPredictor(3, **FAST).fit(pd.concat([train.head(1)] * 2))


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
    assert "NumSkipConnections" not in predictor.architecture_features_
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
        ({"architecture_weight": 1.5}, "weight=1.5"),
        ({"architecture_weight": "half"}, "weight='half'"),
        ({"cycle": 0}, "cycle=0"),
        ({"max_pairs": 0}, "max_pairs=0"),
        ({"raw_curves": "yes"}, "raw_curves='yes'"),
        ({"architecture_model": "forest"}, "architecture_model='forest'"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NAAPPredictor(**kwargs)


def test_bad_files(split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    NAAPPredictor(0, **FAST).fit(split[0]).save(good)
    document = json.loads(good.read_text())
    component = document["components"][0]

    def with_models(models: list[str]) -> str:
        return json.dumps({**document, "components": [{**component, "models": models}]})

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
            with_models(
                [base64.b64encode(base64.b64decode(component["models"][0])[:200]).decode()]
            ),
        ),
        "corrupt predictor file \\(": write("nobase64.json", with_models(["!!!"])),
        "holds 2 models for n_models=1": write("twice.json", with_models(component["models"] * 2)),
        "components do not match architecture_weight=0.5": write(
            "weight.json", json.dumps({**document, "architecture_weight": 0.5})
        ),
        "corrupt predictor file \\('architecture_features'\\)": write(
            "nokeys.json",
            json.dumps({k: v for k, v in document.items() if k != "architecture_features"}),
        ),
    }
    for message, path in cases.items():
        with pytest.raises(PredictorFileError, match=message):
            NAAPPredictor.load(path)


def test_extra_features(split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    train, test = (part.assign(Noise=np.arange(len(part)) % 7) for part in split)
    predictor = NAAPPredictor(0, extra_features=("Noise",), **FAST).fit(train)
    assert "Noise" in predictor.components_[0].feature_names
    assert np.isfinite(predictor.predict(test)).all()
    predictor.save(tmp_path / "p.json")
    assert NAAPPredictor.load(tmp_path / "p.json").extra_features == ("Noise",)
    with pytest.raises(ValueError, match="extra_features Missing are not columns"):
        NAAPPredictor(0, extra_features=("Missing",), **FAST).fit(train)


@pytest.fixture(scope="module")
def gp_predictor(split: tuple[pd.DataFrame, pd.DataFrame]) -> NAAPPredictor:
    # A fixed weight keeps both components, so that the blend and the file hold a GP and CatBoost.
    return NAAPPredictor(3, architecture_model="gp", architecture_weight=0.75, **FAST).fit(
        split[0]
    )


def test_gp_architecture_model(
    gp_predictor: NAAPPredictor, split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    from optuna_naap._component import Component
    from optuna_naap._gp import GPComponent
    from optuna_naap.metrics import kendall_tau

    train, test = split
    architecture, curve = gp_predictor.components_
    assert isinstance(architecture, GPComponent) and architecture.epochs == 0
    assert isinstance(curve, Component) and curve.epochs == 3
    # Constant columns of the fit rows (the first two positions' kernel, stride, residual) are
    # left out: no length scale for what the rows cannot tell apart.
    assert "Kernel0" not in architecture.feature_names
    assert "ReceptiveField" in architecture.feature_names
    predicted = gp_predictor.predict(test)
    assert kendall_tau(test.MaxAccuracy, predicted) > 0.85
    for i in (0, 21):
        assert gp_predictor.predict(test.iloc[[i]])[0] == pytest.approx(predicted[i], abs=1e-12)
    mean, std = gp_predictor.predict_with_uncertainty(test)
    np.testing.assert_allclose(mean, predicted)
    assert (std > 0).all()
    # Out-of-fold errors of the blend with a GP refit in each inner fold.
    residuals = gp_predictor.cv_residuals_
    in_sample = train.MaxAccuracy.to_numpy() - gp_predictor.predict(train)
    assert residuals.shape == (len(train),)
    assert np.abs(in_sample).mean() < np.abs(residuals).mean() < 0.02
    path = tmp_path / "gp.json"
    gp_predictor.save(path)
    again = NAAPPredictor.load(path)
    assert again.get_params()["architecture_model"] == "gp"
    np.testing.assert_allclose(again.predict(test), predicted, rtol=0, atol=1e-12)
    np.testing.assert_allclose(again.predict_with_uncertainty(test)[1], std, rtol=0, atol=1e-12)


def test_gp_members_spread_by_what_the_gp_does_not_know(gp_predictor: NAAPPredictor) -> None:
    architecture = gp_predictor.components_[0]
    rows = architecture.matrix(
        pd.DataFrame(
            [np.zeros(len(architecture.feature_names)), architecture.regressor.X_train_[0]],
            columns=architecture.feature_names,
        )
    )
    mean, members = architecture.predict_with_members(rows)
    assert members.shape == (2, gp_predictor.n_models * 10)
    np.testing.assert_allclose(members.mean(axis=1), mean, atol=1e-12)
    far, fit_row = members.std(axis=1)
    assert far > fit_row  # a scheme unlike every fit row is less known than a fit row


def test_gp_errors(split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    train = split[0]
    with pytest.raises(ValueError, match="every architecture feature is constant"):
        NAAPPredictor(0, architecture_model="gp", **FAST).fit(pd.concat([train.head(1)] * 12))
    path = tmp_path / "catboost.json"
    NAAPPredictor(0, **FAST).fit(train).save(path)
    document = json.loads(path.read_text())
    document["params"]["architecture_model"] = "gp"
    path.write_text(json.dumps(document))
    with pytest.raises(PredictorFileError, match="does not match architecture_model='gp'"):
        NAAPPredictor.load(path)
