"""``optuna-naap search`` end to end on synthetic data and SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

from optuna_naap import NAAPPruner
from optuna_naap.cli import main

pytestmark = pytest.mark.e2e  # the search command in subprocesses, Ctrl-C

optuna.logging.set_verbosity(optuna.logging.WARNING)


def search(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "search",
        "--data",
        "synthetic",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--storage",
        f"sqlite:///{tmp_path / 'nas.db'}",
        *extra,
    ]


def test_search_runs_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(search(tmp_path, "--n-trials", "2")) == 0
    out = capsys.readouterr().out
    assert out.startswith("best trial ") and "scheme: [{" in out
    assert main(search(tmp_path, "--n-trials", "1", "--sampler", "random")) == 0
    study = optuna.load_study(study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    assert len(study.trials) == 3
    assert all(sorted(t.intermediate_values) == [1, 2] for t in study.trials)
    assert all("naap:scheme" in t.user_attrs for t in study.trials)


def test_search_of_another_task_is_never_pruned_on_naap440s_scale(
    tmp_path: Path, naap440_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Synthetic data, 3 epochs: NAAP-440's CIFAR-10 finals are not this study's scale (the
    old code pruned every trial at epoch 1 against them, silently)."""
    args = search(tmp_path, "--n-trials", "4", "--pruner", "naap", "--epochs", "3")
    args += ["--naap440", str(naap440_dir / "naap440v2.csv")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "study's task differs from NAAP-440's (data synthetic, 3 epochs)" in " ".join(
        err.split()
    )
    study = optuna.load_study(study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert all(t.user_attrs["naap:data"] == "synthetic" for t in study.trials)
    for trial in study.trials:
        decision = trial.user_attrs.get("naap:decision")
        assert decision is None or decision["predictor"] != "naap440"


def test_search_refuses_the_prescreen_on_other_data_and_refines(
    tmp_path: Path, naap440_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = search(tmp_path, "--n-trials", "3", "--pruner", "none", "--refine", "--prescreen")
    args += ["--naap440", str(naap440_dir / "naap440v2.csv")]
    # The pre-screen judges against NAAP-440's CIFAR-10 finals before any training: refused on
    # other data, before anything is written.
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--prescreen judges schemes before training against NAAP-440's CIFAR-10" in err
    assert not (tmp_path / "nas.db").exists()
    args.remove("--prescreen")
    assert main(args) == 0
    study = optuna.load_study(study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3


def test_multi_objective_search_shows_and_prunes_on_the_front(
    tmp_path: Path, naap440_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = search(tmp_path, "--n-trials", "3", "--objectives", "accuracy,macs", "--pruner", "naap")
    args += ["--naap440", str(naap440_dir / "naap440v2.csv"), "--sampler", "nsga2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("Pareto front: trials ") and "scheme: [{" in out
    study = optuna.load_study(study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    assert study.metric_names == ["accuracy", "macs"]
    for trial in study.trials:
        # Synthetic data is not NAAP-440's task: no trial is judged on NAAP-440's front.
        decision = trial.user_attrs["naap:decision"]
        assert decision["verdict"] == "kept" and trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.intermediate_values == {}
    # Another kind of study, or a cost search cannot compute: one line, nothing written.
    for extra, message in (
        (("--objectives", "accuracy"), "has objectives accuracy,macs, not accuracy"),
        (("--objectives", "accuracy,latency"), "not latency (measure it in your own objective"),
        (("--objectives", "accuracy,macs", "--pruner", "median"), "--pruner median judges one"),
    ):
        assert main(search(tmp_path, "--n-trials", "1", *extra)) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    assert len(optuna.load_study(study_name="naap-search", storage=study._storage).trials) == 3


def test_search_exhaustive_on_a_fresh_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(search(tmp_path, "--exhaustive", "--n-trials", "3", "--pruner", "none")) == 0
    # The view counts the trials as stored: the 3 queued ones that ran are no longer waiting.
    assert "3 complete, 437 waiting" in capsys.readouterr().err
    study = optuna.load_study(study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    waiting = [t for t in study.trials if t.state == optuna.trial.TrialState.WAITING]
    assert len(done) == 3 and len(waiting) == 440 - 3
    from optuna_naap import SchemeSpace

    assert [t.user_attrs["naap:scheme"] for t in done] == SchemeSpace().enumerate()[:3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--storage", "nosuchdb://x"], "cannot open the storage 'nosuchdb://x'"),
        (["--data", "cifar10", "--data-root", "/nonexistent"], "CIFAR-10 not found"),
        (["--pruner", "naap", "--predictor", "/nonexistent.json"], "no predictor file at"),
        (["--refine", "--exhaustive"], "--refine skips schemes; --exhaustive runs them all"),
        (["--prescreen", "--exhaustive"], "--prescreen skips schemes; --exhaustive runs them"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = search(tmp_path, "--n-trials", "1")
    assert main([*argv, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("optuna-naap search: error: ")
    assert message in err[0]


@pytest.mark.parametrize("device", ["cuda:7", "mps"])
def test_a_missing_device_is_refused_before_any_study(
    tmp_path: Path, device: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")  # never here: Linux without Apple GPUs
    assert main(search(tmp_path, "--n-trials", "1", "--device", device)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"device '{device}' is not available here" in err[0]
    assert not (tmp_path / "nas.db").exists()


def test_a_study_of_another_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    optuna.create_study(
        study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}", direction="minimize"
    )
    assert main(search(tmp_path, "--n-trials", "1")) == 2
    assert "has objectives minimize, not accuracy" in capsys.readouterr().err


def test_ctrl_c_leaves_the_storage_consistent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    command = [sys.executable, "-m", "optuna_naap.cli", *search(tmp_path, "--n-trials", "50")]
    command[command.index("2")] = "40"  # long trials: interrupted in the middle of one
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even where pytest runs in the background with SIGINT ignored
        # (a child inherits that, and Python then keeps ignoring it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            trials = optuna.load_study(study_name="naap-search", storage=url).trials
        except KeyError:
            continue
        if trials and trials[-1].intermediate_values:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted; the storage is consistent" in err
    trials = optuna.load_study(study_name="naap-search", storage=url).trials
    assert trials and all(t.state != optuna.trial.TrialState.RUNNING for t in trials)
    assert os.path.getsize(tmp_path / "nas.db") > 0


@pytest.fixture
def sigint_interrupts() -> Iterator[None]:
    """SIGINT raising KeyboardInterrupt, as in a terminal (CI may start pytest ignoring it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def test_ctrl_c_never_cuts_a_storage_call_in_half(sigint_interrupts: None) -> None:
    from optuna_naap.cli._interrupt import interrupt_outside_storage

    # A function that runs as if it were database-driver code, and gets a SIGINT mid-way.
    driver: dict[str, Any] = {"__name__": "sqlalchemy.fake_driver", "os": os, "signal": signal}
    driver["time"] = time
    exec(
        "def write():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    end = time.monotonic() + 0.3\n"
        "    while time.monotonic() < end:\n"
        "        pass\n"
        "    return 'written'\n",
        driver,
    )
    done: list[str] = []
    started = time.monotonic()
    with interrupt_outside_storage(), pytest.raises(KeyboardInterrupt):
        done.append(driver["write"]())  # finishes despite the SIGINT
        # The SIGINT, sent again, lands here. Short sleeps, as a training step's Python code:
        # a signal that comes just before one long sleep's system call starts is seen by
        # CPython only when the sleep ends (a race of the interpreter, not of the handler).
        end = time.monotonic() + 5
        while time.monotonic() < end:
            time.sleep(0.01)
    assert done == ["written"]
    assert time.monotonic() - started < 2
    # Outside storage code it interrupts at once; the previous handler is back afterwards.
    with interrupt_outside_storage(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored() -> None:
    from optuna_naap.cli._interrupt import interrupt_outside_storage

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupt_outside_storage():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)  # nothing happens
            time.sleep(0.2)
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_prescreen_is_on_by_default_with_naap440s_rule(
    naap440_frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --prescreen / --no-prescreen, ``search`` pre-screens schemes where NAAP-440's rule
    judges (CIFAR-10, against the top or, with objectives, the front; measured to help on the
    training rows' replay) and nowhere else by default; asked for, it is given."""
    import argparse

    from rich.console import Console

    from optuna_naap import SchemePrescreen
    from optuna_naap.cli._search_setup import NAAPRows, SearchOptions, make_sampler
    from optuna_naap.cli.search import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)

    def options(*extra: str) -> SearchOptions:
        return SearchOptions.from_args(parser.parse_args(list(extra)))

    assert options().prescreen and options("--pruner", "naap-wide").prescreen
    assert options("--objectives", "accuracy,macs").prescreen  # on the front
    for extra in (
        ["--no-prescreen"],
        ["--pruner", "median"],
        ["--pruner", "none"],
        ["--objectives", "accuracy,macs", "--no-prescreen"],
        ["--data", "fashion-mnist"],
        ["--data", "synthetic"],
        ["--exhaustive"],
    ):
        assert not options(*extra).prescreen, extra
    assert options("--pruner", "median", "--prescreen").prescreen  # asked for: given
    rows = NAAPRows(None)
    rows._frame = naap440_frame[naap440_frame.IsTest == 0].head(80)  # a quick fit
    sampler = make_sampler(options(), rows, Console(width=200), seed=0)
    assert isinstance(sampler._prescreen, SchemePrescreen)
    assert make_sampler(options("--no-prescreen"), rows, Console(), seed=0)._prescreen is None
    assert (
        "fitting the pre-screen's NAAPPredictor(0) on 80 NAAP-440 rows" in capsys.readouterr().out
    )


def test_naap_wide_is_the_former_bar_and_naap_the_lean_one(
    naap440_frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--pruner naap``: NAAP-440's rule with the defaults, LEAN_BAR (top-10 at 0.95);
    ``--pruner naap-wide``: WIDE_BAR (top-20 at 0.9, the former defaults), and said so;
    ``--pruner naap-lean``, its old name for the lean bar, is naap's and says so."""
    import argparse

    from rich.console import Console

    from optuna_naap import LEAN_BAR, WIDE_BAR
    from optuna_naap.cli._search_setup import NAAPRows, SearchOptions, make_pruner
    from optuna_naap.cli.search import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    rows = NAAPRows(None)
    rows._frame = naap440_frame[naap440_frame.IsTest == 0].head(80)  # a quick fit
    console = Console(width=200)
    for name, top_k, confidence in (
        ("naap-wide", 20, 0.9),
        ("naap", 10, 0.95),
        ("naap-lean", 10, 0.95),
    ):
        args = parser.parse_args(["--pruner", name, "--epochs", "12"])
        pruner = make_pruner(SearchOptions.from_args(args), rows, console)
        assert isinstance(pruner, NAAPPruner) and pruner.rule is not None
        assert (pruner.rule.top_k, pruner.rule.confidence) == (top_k, confidence)
    assert dict(LEAN_BAR) == {"top_k": 10, "confidence": 0.95}
    assert dict(WIDE_BAR) == {"top_k": 20, "confidence": 0.9}
    out = capsys.readouterr().out
    assert (
        out.count("naap-wide: a top-20 bar at confidence 0.9 (the defaults: top-10 at 0.95)") == 1
    )
    assert (
        out.count("naap-lean: the defaults' bar (top-10 at 0.95), the same as --pruner naap") == 1
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "naap"),
        (["--data", "fashion-mnist"], "naap"),  # transfer mode, not MedianPruner
        (["--data", "synthetic"], "median"),
        (["--data", "fashion-mnist", "--objectives", "accuracy,macs"], "none"),
        (["--objectives", "accuracy,macs"], "naap"),
        (["--data", "fashion-mnist", "--pruner", "median"], "median"),
    ],
)
def test_the_default_pruner_follows_the_data(extra: list[str], expected: str) -> None:
    import argparse

    from optuna_naap.cli._search_setup import SearchOptions
    from optuna_naap.cli.search import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert SearchOptions.from_args(parser.parse_args(extra)).pruner == expected


def test_search_on_fashion_mnist_prunes_in_transfer_mode_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --pruner: the study's task is Fashion-MNIST's, so NAAPPruner judges in transfer
    mode and says so once."""
    from servers import install_debian_package

    install_debian_package("dataset-fashion-mnist")  # like PostgreSQL: the real files
    args = search(tmp_path, "--n-trials", "2")
    args[args.index("synthetic")] = "fashion-mnist"
    args += ["--train-images", "200", "--test-images", "100"]
    assert main(args) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("study's task differs from NAAP-440's (data fashion-mnist, 2 epochs)") == 1
    study = optuna.load_study(study_name="naap-search", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    assert all(t.user_attrs["naap:data"] == "fashion-mnist" for t in study.trials)
