from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optuna_naap import NAAPDataError, SchemeSpace, load_naap440
from optuna_naap._data import NAAP440_SOURCES
from optuna_naap.data import attach_schemes, fetch_naap440


@pytest.mark.parametrize("name", ["naap440.csv", "naap440v2.csv"])
def test_loads_both_versions(naap440_dir: Path, name: str) -> None:
    frame = load_naap440(naap440_dir / name)
    assert len(frame) == 440
    assert frame["IsTest"].sum() == 40
    assert frame["ModelId"].tolist() == list(range(1, 441))
    assert ("NumSkipConnections" in frame.columns) == (name == "naap440v2.csv")
    assert json.loads(frame["Scheme"].iloc[0])[0] == {
        "kernel_size": 3,
        "width": 12,
        "stride": 2,
        "residual": False,
    }
    raw = load_naap440(naap440_dir / name, schemes=False)
    assert "Scheme" not in raw.columns
    pd.testing.assert_frame_equal(raw, pd.read_csv(naap440_dir / name), check_dtype=False)


def _write(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def test_bad_files_give_one_clear_error(naap440_v2: pd.DataFrame, tmp_path: Path) -> None:
    cases = {
        "lacks the column\\(s\\) MaxAccuracy": naap440_v2.drop(columns=["MaxAccuracy"]),
        "lacks the column e7LossMedian": naap440_v2.drop(columns=["e7LossMedian"]),
        "column e3Accuracy has a non-numeric value 'abc' in data row 5": naap440_v2.astype(
            {"e3Accuracy": object}
        ).assign(e3Accuracy=lambda f: f.e3Accuracy.where(f.index != 4, "abc")),
        "column NumParams is empty in data row 2": naap440_v2.assign(
            NumParams=naap440_v2.NumParams.where(naap440_v2.index != 1)
        ),
        "ModelId 3 appears twice \\(again in data row 4\\)": naap440_v2.assign(
            ModelId=naap440_v2.ModelId.where(naap440_v2.index != 3, 3)
        ),
        "IsTest must be 0 or 1": naap440_v2.assign(IsTest=2),
        "has no curve columns": naap440_v2[
            [
                "ModelId",
                "IsTest",
                "NumParams",
                "NumMACs",
                "NumLayers",
                "NumStages",
                "FirstLayerWidth",
                "LastLayerWidth",
                "MaxAccuracy",
            ]
        ],
    }
    for message, frame in cases.items():
        with pytest.raises(NAAPDataError, match=message):
            load_naap440(_write(frame, tmp_path), schemes=False)
    with pytest.raises(NAAPDataError, match="no CSV file at"):
        load_naap440(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(NAAPDataError, match="is not a readable CSV file"):
        load_naap440(tmp_path / "empty.csv")


def test_fewer_epochs_are_accepted(naap440_v2: pd.DataFrame, tmp_path: Path) -> None:
    keep = [
        c
        for c in naap440_v2.columns
        if not c.startswith("e") or int("".join(ch for ch in c[1:3] if ch.isdigit())) <= 5
    ]
    frame = load_naap440(_write(naap440_v2[keep], tmp_path))
    assert "e5Accuracy" in frame and "e6Accuracy" not in frame


def test_rows_of_another_space_are_not_given_schemes(naap440_v2: pd.DataFrame) -> None:
    shuffled = naap440_v2.assign(ModelId=naap440_v2.ModelId[::-1].to_numpy())
    with pytest.raises(NAAPDataError, match="ModelId 440 \\(data row 1\\) has NumParams=2566"):
        attach_schemes(shuffled)
    with pytest.raises(NAAPDataError, match="ModelId 441"):
        attach_schemes(naap440_v2.tail(1).assign(ModelId=441))


def test_fetch_checks_the_pinned_checksum(naap440_dir: Path, tmp_path: Path) -> None:
    # A real download through urllib, from a file:// mirror (there is no internet in tests).
    source = naap440_dir / "naap440v2.csv"
    cache = tmp_path / "cache"
    path = fetch_naap440(cache_dir=cache, url=source.as_uri())
    assert path == cache / "naap440v2.csv"
    assert path.read_bytes() == source.read_bytes()
    assert len(load_naap440(cache_dir=cache)) == 440  # cached: no URL needed any more
    assert fetch_naap440(cache_dir=cache, url="file:///nonexistent") == path

    wrong = tmp_path / "wrong.csv"
    shutil.copy(naap440_dir / "naap440.csv", wrong)
    with pytest.raises(NAAPDataError, match="has SHA-256 .* expected a0184f51"):
        fetch_naap440(cache_dir=tmp_path / "other", url=wrong.as_uri())
    assert not any((tmp_path / "other").iterdir())  # nothing half-written is left
    with pytest.raises(NAAPDataError, match="could not download NAAP-440"):
        fetch_naap440(cache_dir=tmp_path / "third", url=(tmp_path / "nope.csv").as_uri())
    v1 = fetch_naap440(version=1, cache_dir=cache, url=(naap440_dir / "naap440.csv").as_uri())
    assert v1.name == "naap440.csv"
    assert NAAP440_SOURCES[1][0].endswith("/naap440.csv")
    with pytest.raises(ValueError, match="version=3"):
        fetch_naap440(version=3)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "MaxAccuracy",
            75.04,
            "column MaxAccuracy must be in [0, 1], but data row 1 has 75.04; "
            "accuracies are fractions",
        ),
        (
            "MaxAccuracy",
            float("inf"),
            "column MaxAccuracy must be in [0, 1], but data row 1 has inf",
        ),
        ("e3Accuracy", -0.3, "column e3Accuracy must be in [0, 1], but data row 1 has -0.3"),
        (
            "e5LossMean",
            -1.0,
            "column e5LossMean must be a finite loss >= 0, but data row 1 has -1",
        ),
        ("ModelId", 1.5, "ModelId must be an integer, but data row 1 has 1.5"),
        (
            "MaxAccuracy",
            0.5,
            "MaxAccuracy 0.5 of data row 1 is below the row's best epoch accuracy",
        ),
    ],
)
def test_impossible_values_are_refused(
    naap440_v2: pd.DataFrame, tmp_path: Path, column: str, value: float, message: str
) -> None:
    frame = naap440_v2.copy()
    frame[column] = frame[column].astype("float64")
    frame.loc[0, column] = value
    with pytest.raises(NAAPDataError) as error:
        load_naap440(_write(frame, tmp_path))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_packaged_naap440_is_the_published_data(tmp_path: Path) -> None:
    """load_naap440() needs no path, no file beside the repository and no network."""
    import hashlib

    from optuna_naap.data import load_naap440, packaged_naap440_bytes, packaged_naap440_file

    published = {  # the SHA-256 of the files of talcs/NAAP-440, as published
        "naap440.csv": "ef0b0eb46ca13e813298fb18f3e77122810108e36c7a1524dd3fb6b13efbe7d7",
        "naap440v2.csv": "a0184f51aa942ce493483fd232719329e620cce3d1150da81a36cf8056749e9a",
        "generated_schemes.json": (
            "83b7209a63c76e31fc2f8330e249f456cff6f9d2a2831ce971e245d105348c66"
        ),
        "paper_results.csv": "b8e8f96a96afd1bfe71ab54a06898f68d9bee4918b88bab00ff6f6f314e9bdf9",
    }
    for name, digest in published.items():
        assert hashlib.sha256(packaged_naap440_bytes(name)).hexdigest() == digest, name
    assert packaged_naap440_bytes(version=1) == packaged_naap440_bytes("naap440.csv")
    assert packaged_naap440_bytes("naap440.csv").count(b"\r\n") == 441  # CRLF, as published
    frame = load_naap440()
    assert len(frame) == 440 and int(frame.IsTest.sum()) == 40 and "Scheme" in frame.columns
    v1 = load_naap440(version=1, schemes=False)
    assert "NumSkipConnections" not in v1.columns
    pd.testing.assert_frame_equal(
        v1, frame.drop(columns=["NumSkipConnections", "NumPartialRFLayers", "Scheme"])
    )
    path = packaged_naap440_file("naap440v2.csv", cache_dir=tmp_path)
    assert path.read_bytes() == packaged_naap440_bytes("naap440v2.csv")
    with pytest.raises(NAAPDataError, match="no packaged NAAP-440 file 'x.csv'"):
        packaged_naap440_bytes("x.csv")
    with pytest.raises(NAAPDataError, match="is a folder, not a CSV file"):
        load_naap440(tmp_path)


def test_packaged_naap440_ships_in_the_wheel(tmp_path: Path) -> None:
    """The wheel holds the data, its licence and its source note, and stays small."""
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        check=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("optuna_naap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "naap440v2.csv.gz",
        "generated_schemes.json.gz",
        "paper_results.csv.gz",
        "LICENSE",
        "SOURCE.md",
    ):
        assert f"optuna_naap/naap440_data/{name}" in names
    assert "optuna_naap/py.typed" in names
    assert wheel.stat().st_size < 2 * 1024 * 1024


@pytest.fixture(scope="module")
def fashion_mnist_root() -> Path:
    """Debian's dataset-fashion-mnist (the original idx .gz files), installed like PostgreSQL."""
    from servers import install_debian_package

    install_debian_package("dataset-fashion-mnist")
    return Path("/usr/share/datasets/fashion-mnist")


def test_fashion_mnist_from_debian_files(fashion_mnist_root: Path, tmp_path: Path) -> None:
    from optuna_naap.data import load_fashion_mnist
    from optuna_naap.features import scheme_features

    data = load_fashion_mnist(fashion_mnist_root, n_train=1000, n_test=200, cache_dir=tmp_path)
    assert data.train_images.shape == (1000, 32, 32, 3) and data.test_images.shape[0] == 200
    assert np.bincount(data.train_labels).tolist() == [100] * 10  # class-balanced
    # 2 black pixels of padding on every side; the grey channel repeated three times.
    assert data.train_images[:, :2].max() == 0 and data.train_images[:, :, -2:].max() == 0
    assert (data.train_images[..., 0] == data.train_images[..., 2]).all()
    assert data.name == "fashion-mnist" and data.num_classes == 10
    again = load_fashion_mnist(fashion_mnist_root, n_train=1000, n_test=200, cache_dir=tmp_path)
    assert (again.train_labels == data.train_labels).all()  # seeded
    other = load_fashion_mnist(
        fashion_mnist_root, n_train=1000, n_test=200, seed=1, cache_dir=tmp_path
    )
    assert not (other.train_images == data.train_images).all()
    full = load_fashion_mnist(fashion_mnist_root, cache_dir=tmp_path)
    assert len(full.train_labels) == 60_000 and len(full.test_labels) == 10_000
    # The scheme is the same network as on CIFAR-10: NumParams and NumMACs as in NAAP-440.
    assert scheme_features(SchemeSpace().enumerate()[0])["NumMACs"] == 231600


def test_fashion_mnist_bad_input(fashion_mnist_root: Path, tmp_path: Path) -> None:
    import shutil

    from optuna_naap.data import ImageDataError, load_fashion_mnist

    with pytest.raises(ValueError, match="n_train must be a multiple of 10"):
        load_fashion_mnist(fashion_mnist_root, n_train=15)
    with pytest.raises(ValueError, match="n_test must be a multiple of 10"):
        load_fashion_mnist(fashion_mnist_root, n_test=True)  # type: ignore[arg-type]
    with pytest.raises(ImageDataError, match="is not a folder; install Debian's"):
        load_fashion_mnist(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in fashion_mnist_root.glob("*.gz"):
        shutil.copy(f, broken / f.name)
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(ImageDataError, match="t10k-labels-idx1-ubyte.gz is not a readable .gz"):
        load_fashion_mnist(broken, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.part"))  # nothing half-written
    (broken / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ImageDataError, match="train-labels-idx1-ubyte.gz is missing"):
        load_fashion_mnist(broken, cache_dir=tmp_path / "cache2")
