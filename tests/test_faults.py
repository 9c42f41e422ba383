"""Bad input and faults, as a user meets them: every case ends in one line with the cause, the
documented exit status, and a storage (or file) left exactly as it was."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from optuna_naap import (
    NAAPPredictor,
    NAAPSampler,
    SchemeRule,
    SchemeSpace,
    report_epoch,
    suggest_scheme,
)
from optuna_naap._recipe import Recipe
from optuna_naap._trial import _params_and_distributions
from optuna_naap.cli import main
from optuna_naap.cli._study_kind import set_kind
from optuna_naap.data import NAAPDataError, load_naap440
from optuna_naap.scheme import PositionChoices, validate_scheme

optuna.logging.set_verbosity(optuna.logging.WARNING)

DB = "faults.db"
SEARCH = {"space": SchemeSpace().to_json(), "recipe": Recipe(epochs=2).to_json()}


def _csv(
    raw: pd.DataFrame, folder: Path, name: str, change: Callable[[pd.DataFrame], Any]
) -> None:
    frame = raw.copy()
    change(frame)
    frame.to_csv(folder / f"{name}.csv", index=False)


def _set(column: str, row: int, value: Any) -> Callable[[pd.DataFrame], None]:
    def change(frame: pd.DataFrame) -> None:
        frame.loc[row, column] = value

    return change


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, naap440_dir: Path) -> Path:
    """A folder with bad files and a SQLite storage holding one study of every kind."""
    folder = tmp_path_factory.mktemp("faults")
    raw = pd.read_csv(naap440_dir / "naap440v2.csv").head(12).astype(object)
    _csv(raw, folder, "ok", lambda f: None)
    for name, change in {
        "percent": _set("e1Accuracy", 3, 34.47),
        "max_percent": _set("MaxAccuracy", 2, 75.0),
        "max_negative": _set("MaxAccuracy", 2, -0.3),
        "max_inf": _set("MaxAccuracy", 2, math.inf),
        "max_empty": _set("MaxAccuracy", 2, np.nan),
        "below_curve": _set("MaxAccuracy", 2, 0.01),
        "negative_loss": _set("e2LossMean", 4, -1.0),
        "inf_loss": _set("e2LossMedian", 4, math.inf),
        "fractional_id": _set("ModelId", 1, 3.5),
        "repeated_id": _set("ModelId", 1, 1),
        "unknown_id": _set("ModelId", 1, 99999),
        "text_accuracy": _set("e3Accuracy", 1, "high"),
        "wrong_macs": _set("NumMACs", 1, 5),
        "is_test_2": _set("IsTest", 1, 2),
        "no_max": lambda f: f.pop("MaxAccuracy"),
    }.items():
        _csv(raw, folder, name, change)
    (folder / "empty.csv").write_text("")
    (folder / "header.csv").write_text(",".join(raw.columns) + "\n")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "not_json.json").write_text("{kernel")
    (folder / "predictor.json").write_text(json.dumps({"format": "something else"}))
    block = {"kernel_size": [3], "width": [8], "stride": [2], "residual": [False]}
    (folder / "no_scheme_space.json").write_text(
        json.dumps({"conv_blocks": [block] * 4, "max_stages": 2, "min_conv_blocks": 4})
    )
    (folder / "bad_kernel_space.json").write_text(
        json.dumps({"conv_blocks": [{**block, "kernel_size": [0]}] * 3})
    )
    (folder / "a_file").write_text("x")

    url = f"sqlite:///{folder / DB}"
    assert main(["import", str(folder / "ok.csv"), "--storage", url, "--study-name", "imp"]) == 0
    search = optuna.create_study(storage=url, study_name="s", direction="maximize")
    set_kind(search, "search", {**SEARCH, "data": "synthetic"})
    for scheme in SchemeSpace().enumerate()[:2]:
        params, distributions = _params_and_distributions(scheme, SchemeSpace())
        search.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=dict(distributions),
                value=0.5,
                intermediate_values={1: 0.4, 2: 0.5},
                user_attrs={"naap:scheme": scheme, "naap:losses": {"1": [1, 1], "2": [1, 1]}},
            )
        )
    half = optuna.create_study(storage=url, study_name="half", direction="maximize")
    set_kind(half, "import", {"csv": "x.csv", "rows": 440, "complete": False})
    other = optuna.create_study(storage=url, study_name="other", direction="maximize")
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    optuna.create_study(storage=url, study_name="mini", direction="minimize")
    return folder


def digest(path: Path) -> str:
    """The storage's content (not its bytes, which SQLite may shuffle)."""
    with sqlite3.connect(path) as connection:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# (id, command line with {db} {dir} placeholders, exit status, what the one line says)
CLI_CASES: list[tuple[str, str, int, str]] = [
    # -- search ------------------------------------------------------------------------------
    ("search-bad-url", "search --storage nosuchdb://x", 2, "cannot open the storage"),
    (
        "search-no-cifar",
        "search --storage {db} --study-name n --data-root {dir}/none",
        2,
        "CIFAR-10 not found",
    ),
    (
        "search-no-cifar-new-file",
        "search --storage sqlite:///{dir}/new.db --data-root {dir}/none",
        2,
        "CIFAR-10 not found",
    ),
    (
        "search-no-predictor",
        "search --storage {db} --study-name n --data synthetic "
        "--pruner naap --predictor {dir}/none.json",
        2,
        "no predictor file at",
    ),
    (
        "search-bad-predictor",
        "search --storage {db} --study-name n --data synthetic "
        "--pruner naap --predictor {dir}/predictor.json",
        2,
        "predictor",
    ),
    (
        "search-refine-exhaustive",
        "search --storage {db} --study-name n --data synthetic --refine --exhaustive",
        2,
        "--refine skips schemes; --exhaustive runs them all",
    ),
    (
        "search-prescreen-exhaustive",
        "search --storage {db} --study-name n --data synthetic "
        "--prescreen --exhaustive --naap440 {dir}/ok.csv",
        2,
        "--prescreen skips schemes",
    ),
    (
        "search-no-cuda",
        "search --storage {db} --device cuda:7",
        2,
        "device 'cuda:7' is not available here",
    ),
    ("search-unknown-device", "search --storage {db} --device tpu", 2, "tpu"),
    (
        "search-measured-cost",
        "search --storage {db} --objectives accuracy,latency",
        2,
        "not latency (measure it in your own objective",
    ),
    ("search-unknown-objective", "search --storage {db} --objectives accuracy,speed", 2, "speed"),
    ("search-no-accuracy", "search --storage {db} --objectives macs", 2, "accuracy"),
    (
        "search-median-pareto",
        "search --storage {db} --study-name n --data synthetic "
        "--objectives accuracy,macs --pruner median",
        2,
        "--pruner median judges one value",
    ),
    (
        "search-wide-pareto",
        "search --storage {db} --study-name n --objectives accuracy,macs --pruner naap-wide",
        2,
        "--pruner naap-wide judges one value",
    ),
    (
        "search-lean-other-data",
        "search --storage {db} --study-name n --data synthetic --pruner naap-lean",
        2,
        "--pruner naap-lean is a bar of NAAP-440's CIFAR-10 finals, not on the scale of --data "
        "synthetic",
    ),
    (
        "search-into-import",
        "search --storage {db} --study-name imp --data synthetic",
        2,
        "is an imported NAAP-440 CSV, not a search study",
    ),
    (
        "search-into-interrupted-import",
        "search --storage {db} --study-name half --data synthetic",
        2,
        "is an imported NAAP-440 CSV, not a search study",
    ),
    (
        "search-other-recipe",
        "search --storage {db} --study-name s --data synthetic --epochs 3",
        2,
        "trains with a 2-epoch recipe, not a 3-epoch one",
    ),
    (
        "search-other-data",
        "search --storage {db} --study-name s --epochs 2",
        2,
        "trains on synthetic data, not cifar10",
    ),
    (
        "search-other-objectives",
        "search --storage {db} --study-name s --data synthetic "
        "--epochs 2 --objectives accuracy,macs",
        2,
        "has objectives accuracy, not accuracy,macs",
    ),
    (
        "search-foreign-study",
        "search --storage {db} --study-name other --data synthetic",
        2,
        "a study of trials optuna-naap did not write, not a search study",
    ),
    (
        "search-minimize-study",
        "search --storage {db} --study-name mini",
        2,
        "has objectives minimize, not accuracy",
    ),
    ("search-zero-trials", "search --n-trials 0", 2, "expected a positive integer, but got 0"),
    ("search-negative-epochs", "search --epochs -1", 2, "expected a positive integer"),
    ("search-zero-heartbeat", "search --heartbeat 0", 2, "expected a positive integer"),
    ("search-unknown-sampler", "search --sampler cmaes", 2, "invalid choice: 'cmaes'"),
    (
        "search-missing-csv",
        "search --storage {db} --study-name n --data synthetic --pruner naap "
        "--naap440 {dir}/none.csv",
        2,
        "no CSV file at",
    ),
    (
        "search-percent-csv",
        "search --storage {db} --study-name n --data synthetic "
        "--pruner naap --naap440 {dir}/percent.csv",
        2,
        "it looks like a percentage",
    ),
    ("search-both-sources", "search --naap440 a.csv --predictor p.json", 2, "not allowed with"),
    # -- build-dataset ----------------------------------------------------------------------
    (
        "build-sqlite-workers",
        "build-dataset --storage {db} --workers 3",
        2,
        "SQLite cannot hand queued trials to several processes",
    ),
    (
        "build-missing-space",
        "build-dataset --storage {db} --space {dir}/none.json",
        2,
        "is not a scheme space file",
    ),
    (
        "build-not-json-space",
        "build-dataset --storage {db} --space {dir}/not_json.json",
        2,
        "is not a scheme space file",
    ),
    (
        "build-empty-space",
        "build-dataset --storage {db} --space {dir}/no_scheme_space.json",
        2,
        "the space allows no scheme",
    ),
    (
        "build-bad-kernel",
        "build-dataset --storage {db} --space {dir}/bad_kernel_space.json",
        2,
        "kernel",
    ),
    (
        "build-into-search",
        "build-dataset --storage {db} --study-name s --data synthetic",
        2,
        "is a search study, not a build-dataset study",
    ),
    (
        "build-into-import",
        "build-dataset --storage {db} --study-name imp --data synthetic",
        2,
        "is an imported NAAP-440 CSV, not a build-dataset study",
    ),
    (
        "build-no-mps",
        "build-dataset --storage {db} --device mps",
        2,
        "device 'mps' is not available here",
    ),
    (
        "build-no-cifar",
        "build-dataset --storage {db} --data-root {dir}/none",
        2,
        "CIFAR-10 not found",
    ),
    (
        "build-bad-url",
        "build-dataset --storage nosuchdb://x --data synthetic",
        2,
        "cannot open the storage",
    ),
    # -- import -----------------------------------------------------------------------------
    (
        "import-missing-csv",
        "import {dir}/none.csv --storage {db} --study-name n",
        2,
        "no CSV file at",
    ),
    (
        "import-percent",
        "import {dir}/percent.csv --storage {db} --study-name n",
        2,
        "accuracies are fractions (it looks like a percentage)",
    ),
    (
        "import-max-percent",
        "import {dir}/max_percent.csv --storage {db} --study-name n",
        2,
        "column MaxAccuracy must be in [0, 1], but data row 3 has 75",
    ),
    (
        "import-max-negative",
        "import {dir}/max_negative.csv --storage {db} --study-name n",
        2,
        "has -0.3",
    ),
    ("import-max-inf", "import {dir}/max_inf.csv --storage {db} --study-name n", 2, "has inf"),
    (
        "import-max-empty",
        "import {dir}/max_empty.csv --storage {db} --study-name n",
        2,
        "column MaxAccuracy is empty in data row 3",
    ),
    (
        "import-below-curve",
        "import {dir}/below_curve.csv --storage {db} --study-name n",
        2,
        "is below the row's best epoch accuracy",
    ),
    (
        "import-negative-loss",
        "import {dir}/negative_loss.csv --storage {db} --study-name n",
        2,
        "must be a finite loss >= 0, but data row 5 has -1",
    ),
    (
        "import-inf-loss",
        "import {dir}/inf_loss.csv --storage {db} --study-name n",
        2,
        "must be a finite loss >= 0, but data row 5 has inf",
    ),
    (
        "import-fractional-id",
        "import {dir}/fractional_id.csv --storage {db} --study-name n",
        2,
        "ModelId must be an integer, but data row 2 has 3.5",
    ),
    (
        "import-repeated-id",
        "import {dir}/repeated_id.csv --storage {db} --study-name n",
        2,
        "ModelId 1 appears twice",
    ),
    (
        "import-unknown-id",
        "import {dir}/unknown_id.csv --storage {db} --study-name n",
        2,
        "is outside the space's 440 schemes",
    ),
    (
        "import-text",
        "import {dir}/text_accuracy.csv --storage {db} --study-name n",
        2,
        "has a non-numeric value 'high'",
    ),
    (
        "import-wrong-macs",
        "import {dir}/wrong_macs.csv --storage {db} --study-name n",
        2,
        "has NumMACs=5, but its scheme has",
    ),
    (
        "import-is-test-2",
        "import {dir}/is_test_2.csv --storage {db} --study-name n",
        2,
        "IsTest must be 0 or 1, but data row 2 has 2",
    ),
    (
        "import-no-max",
        "import {dir}/no_max.csv --storage {db} --study-name n",
        2,
        "lacks the column(s) MaxAccuracy",
    ),
    (
        "import-empty-file",
        "import {dir}/empty.csv --storage {db} --study-name n",
        2,
        "is not a readable CSV file",
    ),
    (
        "import-header-only",
        "import {dir}/header.csv --storage {db} --study-name n",
        2,
        "has a header but no data rows",
    ),
    (
        "import-binary",
        "import {dir}/binary.csv --storage {db} --study-name n",
        2,
        "is not a readable CSV file",
    ),
    (
        "import-over-search",
        "import {dir}/ok.csv --storage {db} --study-name s",
        2,
        "already exists in",
    ),
    (
        "import-over-import",
        "import {dir}/ok.csv --storage {db} --study-name imp",
        2,
        "(an import: give --replace to replace it)",
    ),
    (
        "import-replace-search",
        "import {dir}/ok.csv --storage {db} --study-name s --replace",
        2,
        "already exists in",
    ),
    (
        "import-bad-url",
        "import {dir}/ok.csv --storage nosuchdb://x --study-name n",
        2,
        "cannot open the storage",
    ),
    # -- export -----------------------------------------------------------------------------
    (
        "export-no-study",
        "export --storage {db} --study-name none {dir}/out.csv",
        2,
        "no study 'none'",
    ),
    (
        "export-interrupted-import",
        "export --storage {db} --study-name half {dir}/out.csv",
        2,
        "is an import that was interrupted",
    ),
    (
        "export-foreign",
        "export --storage {db} --study-name other {dir}/out.csv",
        2,
        "has no COMPLETE trial with a recorded scheme to export",
    ),
    (
        "export-version-3",
        "export --storage {db} --study-name imp --version 3 {dir}/out.csv",
        2,
        "invalid choice: 3",
    ),
    (
        "export-missing-folder",
        "export --storage {db} --study-name imp {dir}/none/out.csv",
        2,
        "is not a folder; create it first",
    ),
    (
        "export-to-a-folder",
        "export --storage {db} --study-name imp {dir}",
        2,
        "is a folder; give the path of a CSV file to write",
    ),
    (
        "export-to-a-device",
        "export --storage {db} --study-name imp /dev/null",
        2,
        "is not a regular file; give the path of a CSV file to write",
    ),
    (
        "export-too-many-epochs",
        "export --storage {db} --study-name imp --epochs 95 {dir}/out.csv",
        2,
        "95",
    ),
    # -- evaluate, benchmark, dashboard ------------------------------------------------------
    ("evaluate-missing-csv", "evaluate --naap440 {dir}/none.csv", 2, "no CSV file at"),
    ("evaluate-bad-epochs", "evaluate --epochs a,b", 2, "expected comma-separated integers"),
    (
        "evaluate-out-is-file",
        "evaluate --naap440 {dir}/ok.csv --out {dir}/a_file",
        2,
        "exists and is not a directory",
    ),
    (
        "benchmark-measured-cost",
        "benchmark --naap440 {dir}/ok.csv --objectives accuracy,latency",
        2,
        "latency",
    ),
    (
        "benchmark-percent-csv",
        "benchmark --naap440 {dir}/percent.csv",
        2,
        "it looks like a percentage",
    ),
    ("dashboard-bad-url", "dashboard --storage nosuchdb://x", 2, "cannot open the storage"),
    (
        "dashboard-port-too-big",
        "dashboard --storage {db} --port 99999",
        2,
        "a port is 1 to 65535, but got 99999",
    ),
    (
        "dashboard-port-in-use",
        "dashboard --storage {db} --port {busy}",
        2,
        "Address already in use); give another --port",
    ),
    (
        "dashboard-unknown-host",
        "dashboard --storage {db} --host no.such.host.invalid",
        2,
        "cannot listen on no.such.host.invalid:8080",
    ),
    ("no-command", "frobnicate", 2, "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(
    ("command", "status", "message"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_fault(
    template: Path,
    tmp_path: Path,
    command: str,
    status: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "work"
    shutil.copytree(template, folder)
    before, files = digest(folder / DB), listing(folder)
    busy = socket.create_server(("127.0.0.1", 0))  # a port something listens on
    argv = command.format(
        db=f"sqlite:///{folder / DB}", dir=folder, busy=busy.getsockname()[1]
    ).split()
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse's own errors
        got = int(exc.code or 0)
    finally:
        busy.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert got == status
    assert len(err) == 1, err
    assert err[0].startswith("optuna-naap") and message in err[0], err[0]
    assert digest(folder / DB) == before  # nothing written
    assert listing(folder) == files  # no file created (no new storage, no .part)


def test_cli_cases_are_many() -> None:
    assert len(CLI_CASES) + len(API_CASES) >= 60
    assert len({c[0] for c in CLI_CASES}) == len(CLI_CASES)


# -- the library: refused with one message, nothing written ---------------------------------


def _reported(values: dict[str, Any]) -> Callable[[], None]:
    def act() -> None:
        study = optuna.create_study(direction="maximize")
        trial = study.ask()
        try:
            report_epoch(
                trial,
                **{"epoch": 1, "accuracy": 0.5, "loss_mean": 1.0, "loss_median": 1.0, **values},
            )
        finally:
            frozen = study.trials[0]
            assert frozen.intermediate_values == {} and "naap:losses" not in frozen.user_attrs

    return act


def _space_json(change: dict[str, Any]) -> Callable[[], None]:
    data = {**SchemeSpace().to_json(), **change}
    return lambda: SchemeSpace.from_json(data) and None


API_CASES: list[tuple[str, Callable[..., Any], type[Exception], str]] = [
    ("report-percent", _reported({"accuracy": 34.47}), ValueError, "looks like a percentage"),
    ("report-negative-accuracy", _reported({"accuracy": -0.1}), ValueError, "[0, 1]"),
    ("report-negative-loss", _reported({"loss_mean": -1.0}), ValueError, ">= 0"),
    (
        "report-inf-loss",
        _reported({"loss_median": math.inf}),
        ValueError,
        "loss_median must be NaN or a finite number >= 0",
    ),
    ("report-text-accuracy", _reported({"accuracy": "high"}), ValueError, "accuracy"),
    ("report-epoch-0", _reported({"epoch": 0}), ValueError, "epoch"),
    ("report-bool-accuracy", _reported({"accuracy": True}), ValueError, "accuracy"),
    (
        "space-no-scheme",
        lambda: SchemeSpace(
            [PositionChoices(kernel_sizes=(3,), widths=(8,), strides=(2,))] * 4,
            max_stages=2,
            min_depth=4,
        ),
        ValueError,
        "the space allows no scheme",
    ),
    ("space-unknown-key", _space_json({"colour": 1}), ValueError, "unknown space settings"),
    ("space-no-blocks", lambda: SchemeSpace.from_json({}), ValueError, "conv_blocks"),
    (
        "space-negative-width",
        _space_json(
            {
                "conv_blocks": [
                    {"kernel_size": [3], "width": [-8], "stride": [1], "residual": [False]}
                ]
                * 3
            }
        ),
        ValueError,
        "width",
    ),
    (
        "scheme-residual-text",
        lambda: validate_scheme(
            [{"kernel_size": 3, "width": 8, "stride": 1, "residual": "yes"}] * 3
        ),
        ValueError,
        "residual",
    ),
    ("pruner-bad-confidence", lambda: SchemeRule({}, confidence=1.5), ValueError, "confidence"),
]


@pytest.mark.parametrize(
    ("act", "error", "message"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_fault(act: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        act()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_corrupt_predictor_file_is_one_message(template: Path) -> None:
    from optuna_naap import PredictorFileError

    for name in ("predictor.json", "not_json.json", "binary.csv", "none.json"):
        with pytest.raises(PredictorFileError) as info:
            NAAPPredictor.load(template / name)
        assert "\n" not in str(info.value)


def test_a_bad_csv_is_refused_before_any_row_is_read_as_good(template: Path) -> None:
    with pytest.raises(NAAPDataError, match="looks like a percentage"):
        load_naap440(template / "percent.csv")
    assert len(load_naap440(template / "ok.csv")) == 12


def test_a_duplicate_of_a_running_scheme_is_not_trained() -> None:
    study = optuna.create_study(direction="maximize", sampler=NAAPSampler())
    first = study.ask()
    scheme = suggest_scheme(first)
    params, _ = _params_and_distributions(scheme, SchemeSpace())
    study.enqueue_trial(params)
    with pytest.raises(optuna.TrialPruned, match=f"trial {first.number} holds this scheme"):
        suggest_scheme(study.ask())
    assert study.trials[1].state == TrialState.RUNNING  # the caller's tell() ends it


def test_an_input_path_that_is_a_folder_a_fifo_or_a_dangling_link_is_one_message(
    tmp_path: Path,
) -> None:
    """A FIFO would block the read for ever; a folder is not a file: both refused at once."""
    import os

    from optuna_naap import PredictorFileError

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name, said in (("fifo", "is not a regular file"), ("folder", "is a folder")):
        with pytest.raises(PredictorFileError, match=said) as info:
            NAAPPredictor.load(tmp_path / name)
        assert "\n" not in str(info.value)
    # The same kinds given as NAAP-440 CSV files.
    for name, said in (
        ("fifo", "is not a regular file"),
        ("folder", "is a folder"),
        ("dangling", "no CSV file at"),
    ):
        with pytest.raises(NAAPDataError, match=said):
            load_naap440(tmp_path / name)
