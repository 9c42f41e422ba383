"""NAAP-440 CSV <-> study: import, export, fit from a study."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from options import FAST

from optuna_naap import NAAPDataError, NAAPPredictor, NAAPPruner, record_scheme, report_epoch
from optuna_naap._study_io import default_is_test
from optuna_naap.cli import main
from optuna_naap.data import attach_schemes, frame_to_study, study_to_frame, write_naap_csv

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def imported(naap440_v2: pd.DataFrame) -> optuna.study.Study:
    study = optuna.create_study(direction="maximize")
    assert frame_to_study(attach_schemes(naap440_v2), study) == 440
    return study


def test_import_makes_one_complete_trial_per_row(
    imported: optuna.study.Study, naap440_v2: pd.DataFrame
) -> None:
    trials = imported.trials
    assert len(trials) == 440 and {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    first, row = trials[0], naap440_v2.iloc[0]
    assert first.value == row.MaxAccuracy
    assert first.intermediate_values[90] == row.e90Accuracy
    assert first.user_attrs["naap:losses"]["7"] == [row.e7LossMean, row.e7LossMedian]
    assert first.user_attrs["naap:model_id"] == row.ModelId
    assert first.params["naap_depth"] == len(first.user_attrs["naap:scheme"])


def test_csv_to_study_to_csv_reproduces_every_value(
    imported: optuna.study.Study, naap440_dir: Path, tmp_path: Path
) -> None:
    write_naap_csv(study_to_frame(imported), tmp_path / "again.csv")
    original = pd.read_csv(naap440_dir / "naap440v2.csv")
    again = pd.read_csv(tmp_path / "again.csv")
    assert list(again.columns) == list(original.columns)
    np.testing.assert_array_equal(again.to_numpy(), original.to_numpy())
    # The v1 layout has the v1 header.
    write_naap_csv(study_to_frame(imported, version=1), tmp_path / "v1.csv")
    header = (naap440_dir / "naap440.csv").read_text().splitlines()[0]
    assert (tmp_path / "v1.csv").read_text().splitlines()[0] == header


@pytest.mark.slow
def test_fit_from_a_study(imported: optuna.study.Study, naap440_v2: pd.DataFrame) -> None:
    frame = attach_schemes(naap440_v2)
    from_study = NAAPPredictor(9, **FAST).fit(imported)
    from_frame = NAAPPredictor(9, **FAST).fit(frame)
    np.testing.assert_allclose(from_study.predict(frame), from_frame.predict(frame))
    pruner = NAAPPruner.from_study(imported, predictor_options=FAST)
    assert pruner.decision_epochs == [1, 9]


def searched_study(epochs: list[int]) -> optuna.study.Study:
    study = optuna.create_study(direction="maximize")
    for i, n in enumerate(epochs):
        trial = study.ask()
        record_scheme(
            trial, [{"kernel_size": 3, "width": 8 * (i + 1), "stride": 1, "residual": False}]
        )
        for e in range(1, n + 1):
            report_epoch(trial, e, accuracy=0.1 * e, loss_mean=2.0 / e, loss_median=1.9 / e)
        study.tell(trial, 0.1 * n)
    return study


def test_export_of_a_search_outside_the_space(tmp_path: Path) -> None:
    frame = study_to_frame(searched_study([3, 3]))
    assert list(frame.ModelId) == [100000, 100001]  # not NAAP-440 schemes
    assert list(frame.IsTest) == [default_is_test(100000), default_is_test(100001)]
    assert frame.e3Accuracy.tolist() == pytest.approx([0.3, 0.3])
    assert json.loads(frame.Scheme[1])[0]["width"] == 16


def test_missing_epochs_are_one_clear_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = searched_study([5, 2])
    stored = optuna.create_study(storage=url, study_name="s", direction="maximize")
    stored.add_trials(study.trials)
    out = tmp_path / "out.csv"
    assert main(["export", "--storage", url, "--study-name", "s", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "optuna-naap export: error: trial 1 lacks epoch 3 of 5 (it has 2 epochs); finish it "
        "(build-dataset resumes) or export fewer epochs (--epochs 2)"
    )
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    assert main(["export", "--storage", url, "--study-name", "s", "--epochs", "2", str(out)]) == 0
    assert len(pd.read_csv(out)) == 2


@pytest.mark.slow
def test_cli_import_and_export_round_trip(naap440_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'naap.db'}"
    csv = naap440_dir / "naap440v2.csv"
    assert main(["import", str(csv), "--storage", url, "--study-name", "naap440"]) == 0
    out = tmp_path / "out.csv"
    assert main(["export", "--storage", url, "--study-name", "naap440", str(out)]) == 0
    assert out.read_bytes() == csv.read_bytes()  # the published file, byte for byte (CRLF)
    v1 = tmp_path / "v1.csv"
    assert (
        main(["export", "--storage", url, "--study-name", "naap440", "--version", "1", str(v1)])
        == 0
    )
    assert v1.read_bytes() == (naap440_dir / "naap440.csv").read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--storage", "nosuchdb://x", "--study-name", "s", "o.csv"], "cannot open"),
        (["import", "missing.csv", "--storage", "sqlite://", "--study-name", "s"], "missing.csv"),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_import_of_a_bad_csv_writes_nothing(
    naap440_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(naap440_dir / "naap440v2.csv").drop(columns=["NumMACs"])
    frame.to_csv(bad, index=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["import", str(bad), "--storage", url, "--study-name", "s"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NumMACs" in err[0]
    assert not (tmp_path / "x.db").exists()


def test_import_refuses_an_existing_study(
    naap440_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    optuna.create_study(storage=url, study_name="taken")
    csv = str(naap440_dir / "naap440v2.csv")
    assert main(["import", csv, "--storage", url, "--study-name", "taken"]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(NAAPDataError, match="maximizes one value"):
        frame_to_study(pd.DataFrame({"Scheme": []}), optuna.create_study(direction="minimize"))


def test_a_failed_export_leaves_no_part_file(
    naap440_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from optuna_naap.data import write_naap_csv

    def disk_full(self: pd.DataFrame, path: object, **kwargs: object) -> None:
        Path(str(path)).write_text("ModelId,IsTest\n1,")  # half a file, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_naap_csv(naap440_frame, tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def _rows_csv(naap440_dir: Path, folder: Path, n: int) -> Path:
    path = folder / f"rows{n}.csv"
    pd.read_csv(naap440_dir / "naap440v2.csv").head(n).to_csv(path, index=False)
    return path


def _import(csv: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "optuna_naap.cli",
        "import",
        str(csv),
        "--storage",
        url,
        "--study-name",
        "naap",
        *extra,
    ]


@pytest.mark.e2e
def test_a_killed_import_is_refused_then_replaced(naap440_dir: Path, tmp_path: Path) -> None:
    csv = _rows_csv(naap440_dir, tmp_path, 40)
    url = f"sqlite:///{tmp_path / 'naap.db'}"
    process = subprocess.Popen(_import(csv, url), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            if len(optuna.load_study(study_name="naap", storage=url).trials) >= 3:
                break
        except KeyError:
            continue
    process.kill()
    process.wait()
    partial = len(optuna.load_study(study_name="naap", storage=url).trials)
    assert 3 <= partial < 40  # killed half-way: the study says so
    out = tmp_path / "out.csv"
    export = subprocess.run(
        [
            sys.executable,
            "-m",
            "optuna_naap.cli",
            "export",
            "--storage",
            url,
            "--study-name",
            "naap",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert export.returncode == 2 and not out.exists()
    assert export.stderr.strip() == (
        f"optuna-naap export: error: study 'naap' is an import that was interrupted ({partial} "
        "of 40 rows): run the import again, it replaces the study"
    )
    again = subprocess.run(_import(csv, url), capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert f"an import interrupted after {partial} of 40 rows" in again.stderr
    assert len(optuna.load_study(study_name="naap", storage=url).trials) == 40
    # A finished import is replaced only on request.
    refused = subprocess.run(_import(csv, url), capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "give --replace" in refused.stderr


@pytest.mark.e2e
def test_an_import_that_runs_out_of_space_writes_nothing(
    naap440_dir: Path, tmp_path: Path
) -> None:
    csv = _rows_csv(naap440_dir, tmp_path, 40)
    db = tmp_path / "naap.db"
    url = f"sqlite:///{db}"
    optuna.create_study(storage=url, study_name="kept")
    limit = db.stat().st_size + 60_000  # room for a few rows, not 40

    def small_disk() -> None:  # writes past the limit fail, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        _import(csv, url), capture_output=True, text=True, check=False, preexec_fn=small_disk
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "optuna-naap import: error: import failed, nothing was written: disk I/O error "
        "(OperationalError)"
    ]
    assert optuna.get_all_study_names(storage=url) == ["kept"]


def test_export_targets_by_kind(naap440_frame: pd.DataFrame, tmp_path: Path) -> None:
    """A link is written through (it stays a link); a folder, a FIFO or a missing folder is
    refused in one line, and nothing is written."""
    import os

    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    rows = naap440_frame.head(3)
    write_naap_csv(rows, link)
    assert link.is_symlink() and target.read_bytes().startswith(b"ModelId,IsTest,")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, message in (
        (tmp_path, "is a folder; give the path of a CSV file"),
        (fifo, "is not a regular file; give the path of a CSV file"),
        (tmp_path / "no" / "out.csv", "is not a folder; create it first"),
    ):
        with pytest.raises(NAAPDataError, match=message):
            write_naap_csv(rows, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "pipe", "real.csv"]
