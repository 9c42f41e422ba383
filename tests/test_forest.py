from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoost, Pool
from options import FAST

from optuna_naap import NAAPPredictor
from optuna_naap._component import _FOREST_AFTER_CALLS, Component
from optuna_naap._features import SCHEME_COLUMNS_V2, build_features
from optuna_naap._forest import Forest, UnsupportedModel


@pytest.fixture(scope="module")
def features(naap440_frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    train = naap440_frame[naap440_frame.IsTest == 0]
    x = build_features(train, 3, scheme_columns=list(SCHEME_COLUMNS_V2))
    return x.to_numpy(dtype="float64"), train.MaxAccuracy.to_numpy()


def _model(x: np.ndarray, y: np.ndarray, **params: object) -> CatBoost:
    settings = {"iterations": 60, "depth": 6, "verbose": 0, "random_seed": 0, **params}
    loss = settings.get("loss_function", "RMSE")
    group = np.zeros(len(x), dtype=np.int64) if str(loss).startswith("PairLogit") else None
    return CatBoost({**settings, "allow_writing_files": False}).fit(Pool(x, y, group_id=group))


def _virtual(model: CatBoost, x: np.ndarray, count: int) -> np.ndarray:
    return np.asarray(
        model.virtual_ensembles_predict(
            x, prediction_type="VirtEnsembles", virtual_ensembles_count=count
        )
    )[:, :, 0]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"loss_function": "PairLogit:max_pairs=500"},
        {"iterations": 137, "depth": 4, "learning_rate": 0.3},
        {"nan_mode": "Max"},
    ],
)
def test_forest_gives_catboosts_numbers(
    features: tuple[np.ndarray, np.ndarray], params: dict[str, object]
) -> None:
    x, y = features
    model = _model(x, y, **params)
    forest = Forest.from_catboost(model)
    rows = x[:50].copy()
    used = int(forest.features[0, 0])
    rows[:5, used] = np.nan  # missing values go where CatBoost's nan_mode sends them
    rows[5:10, used] = np.resize(forest.borders[forest.features == used], 5)  # on a border
    np.testing.assert_allclose(forest.predict(rows), model.predict(rows), rtol=0, atol=1e-12)
    for count in (10, 7, 3):
        np.testing.assert_allclose(
            forest.virtual_ensembles(rows, count), _virtual(model, rows, count), atol=1e-12
        )


def test_forest_pads_shallow_trees() -> None:
    # Two trees, depth 2 and 1: the leaf index reads bit d from split d.
    document = {
        "features_info": {
            "float_features": [
                {"feature_index": 0, "flat_feature_index": 0, "nan_value_treatment": "AsFalse"},
                {"feature_index": 1, "flat_feature_index": 1, "nan_value_treatment": "AsTrue"},
            ]
        },
        "oblivious_trees": [
            {
                "splits": [
                    {"split_type": "FloatFeature", "float_feature_index": 0, "border": 0.5},
                    {"split_type": "FloatFeature", "float_feature_index": 1, "border": 0.5},
                ],
                "leaf_values": [1.0, 2.0, 3.0, 4.0],
            },
            {
                "splits": [
                    {"split_type": "FloatFeature", "float_feature_index": 1, "border": 0.0}
                ],
                "leaf_values": [10.0, 20.0],
            },
        ],
        "scale_and_bias": [2.0, [0.5]],
    }
    forest = Forest.from_json(document)
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [np.nan, np.nan]])
    np.testing.assert_array_equal(
        forest.tree_values(x), [[1, 10], [2, 10], [3, 20], [4, 20], [3, 20]]
    )
    np.testing.assert_array_equal(forest.predict(x[:1]), [2.0 * 11 + 0.5])
    with pytest.raises(ValueError, match="3 virtual ensembles need at least 6 trees"):
        forest.virtual_ensembles(x, 3)
    with pytest.raises(ValueError, match="at least 2 feature columns"):
        forest.tree_values(np.zeros((1, 1)))


def test_other_trees_stay_with_catboost(features: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = features
    depthwise = _model(x, y, grow_policy="Depthwise")
    with pytest.raises(UnsupportedModel, match="symmetric"):
        Forest.from_catboost(depthwise)
    component = Component(0, [depthwise], [], (1.0, 0.0))
    for _ in range(_FOREST_AFTER_CALLS + 2):
        predicted = component.predict(x[:1])
    assert component._forests == []  # read once, found unsupported
    np.testing.assert_allclose(predicted, depthwise.predict(x[:1]), atol=1e-12)


def test_a_pruners_predictor_switches_to_numpy_with_the_same_numbers(
    naap440_frame: pd.DataFrame,
) -> None:
    train = naap440_frame[naap440_frame.IsTest == 0]
    row = naap440_frame[naap440_frame.IsTest == 1].iloc[:1]
    predictor = NAAPPredictor(3, **{**FAST, "n_models": 2}).fit(train)
    first = predictor.predict_with_uncertainty(row)
    assert all(c._forests is None for c in predictor.components_)
    for _ in range(_FOREST_AFTER_CALLS):
        later = predictor.predict_with_uncertainty(row)
    # Every component now answers one row from its trees, with CatBoost's numbers.
    assert all(len(c._forests or []) == 2 for c in predictor.components_)
    np.testing.assert_allclose(later, first, atol=1e-12)
    # Batches still go to CatBoost.
    batch = naap440_frame[naap440_frame.IsTest == 1]
    np.testing.assert_allclose(predictor.predict(batch)[:1], first[0], atol=1e-12)


def test_threads_share_a_predictor_while_it_switches(naap440_frame: pd.DataFrame) -> None:
    """Optuna's n_jobs runs decisions in threads: the switch to numpy happens under them, and
    every answer is still CatBoost's."""
    from concurrent.futures import ThreadPoolExecutor

    train = naap440_frame[naap440_frame.IsTest == 0]
    test = naap440_frame[naap440_frame.IsTest == 1]
    predictor = NAAPPredictor(3, **{**FAST, "n_models": 2}).fit(train)
    expected = predictor.predict(pd.concat([test, test]))[: len(test)]  # a batch: CatBoost
    rows = [test.iloc[[i % len(test)]] for i in range(4 * _FOREST_AFTER_CALLS)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda row: predictor.predict_with_uncertainty(row)[0], rows))
    got = np.concatenate(answers)
    np.testing.assert_allclose(got, expected[np.arange(len(rows)) % len(test)], atol=1e-12)
    assert all(len(c._forests or []) == 2 for c in predictor.components_)
