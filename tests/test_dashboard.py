"""optuna-dashboard integration: notes, figure, and the real dashboard in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest
from options import FAST
from servers import free_port, install_debian_package

from optuna_naap.benchmark import FitContext, replay_study
from optuna_naap.cli import main
from optuna_naap.data import attach_schemes
from optuna_naap.integrations.dashboard import (
    FIGURE_ID,
    PARETO_FIGURE_ID,
    DashboardCallback,
    decision_note,
    pareto_figure,
    refresh,
    require_dashboard,
)

pytestmark = pytest.mark.e2e  # optuna-dashboard in headless Chromium

optuna.logging.set_verbosity(optuna.logging.WARNING)


def pruned_study(frame: pd.DataFrame, storage: str) -> optuna.study.Study:
    """NAAPPruner replaying the 40 test schemes, its decisions stored in ``storage``."""
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    pruner = FitContext(train, 90, FAST).naap(top_k=10)
    replay_study(test, pruner, storage=storage, study_name="naap-pruned")
    return optuna.load_study(study_name="naap-pruned", storage=storage)


def pareto_study(frame: pd.DataFrame, storage: str) -> optuna.study.Study:
    """The multi-objective NAAPPruner (accuracy against MACs) replaying the 40 test schemes."""
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    pruner = FitContext(train, 90, FAST).naap()
    replay_study(
        test, pruner, storage=storage, study_name="naap-pareto", objectives="accuracy,macs"
    )
    return optuna.load_study(study_name="naap-pareto", storage=storage)


@pytest.fixture(scope="module")
def frame(naap440_v2: pd.DataFrame) -> pd.DataFrame:
    return attach_schemes(naap440_v2)


def test_notes_and_figure(frame: pd.DataFrame, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    study = pruned_study(frame, url)
    written, saved = refresh(study)
    assert written == len(study.trials) == 40 and saved
    attrs = study._storage.get_study_system_attrs(study._study_id)
    notes = "".join(str(v) for k, v in attrs.items() if ":note_str:" in k)
    assert "NAAPPruner: pruned at epoch" in notes and "cannot reach the top-10" in notes
    assert any(FIGURE_ID in k for k in attrs)
    again, _ = refresh(optuna.load_study(study_name="naap-pruned", storage=url))
    assert again == 40  # finished trials' notes are rewritten, not duplicated
    note = decision_note(study.trials[0])
    assert note is not None and note.startswith("## NAAPPruner: ")
    with pytest.raises(ValueError, match="every=0"):
        DashboardCallback(every=0)


def test_pareto_figure_and_notes(frame: pd.DataFrame, tmp_path: Path) -> None:
    study = pareto_study(frame, f"sqlite:///{tmp_path / 'p.db'}")
    written, saved = refresh(study)
    assert written == 40 and saved
    attrs = study._storage.get_study_system_attrs(study._study_id)
    assert any(f"{PARETO_FIGURE_ID}-macs" in k for k in attrs)
    figure = pareto_figure(study)
    names = [trace.name for trace in figure.data]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert names[2] == f"pruned, at predicted accuracy ({len(pruned)})" and pruned
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    note = decision_note(done[0], study)
    assert note is not None and f"Final accuracy reached: **{done[0].values[0]:.4f}**" in note


def test_missing_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install "optuna-naap\[dashboard\]"'):
        require_dashboard()
    assert main(["dashboard", "--storage", "sqlite://"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "optuna-naap dashboard: error: optuna-dashboard is not installed: "
        'pip install "optuna-naap[dashboard]"'
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by the test setup where it can be (root, apt-get)."""
    found = shutil.which("chromium")
    if found is None and install_debian_package("chromium"):
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("headless Chromium not found: install Debian's chromium package")
    return found


@pytest.fixture
def dashboard(frame: pd.DataFrame, naap440_dir: Path, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'naap.db'}"
    csv = str(naap440_dir / "naap440v2.csv")
    assert main(["import", csv, "--storage", url, "--study-name", "naap440"]) == 0
    pruned_study(frame, url)
    pareto_study(frame, url)
    port = free_port()
    command = [sys.executable, "-m", "optuna_naap.cli", "dashboard", "--storage", url]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/studies", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def render(chromium: str, url: str, *flags: str) -> str:
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",
            *flags,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_dashboard_in_headless_chromium(chromium: str, dashboard: str, tmp_path: Path) -> None:
    # The imported NAAP-440 study: its trials and their naap: attributes.
    page = render(chromium, f"{dashboard}/dashboard/studies/1/trials", "--dump-dom")
    assert "440 Trials" in page and "Trial 0" in page
    assert "naap:model_id" in page and "naap:scheme" in page
    # The pruned study: the decision's attributes and the note explaining it.
    page = render(chromium, f"{dashboard}/dashboard/studies/2/trials", "--dump-dom")
    assert "naap:verdict" in page and "naap:predicted" in page
    assert "NAAPPruner: pruned at epoch" in page
    # The study page carries the predicted-vs-actual figure.
    page = render(chromium, f"{dashboard}/dashboard/studies/2", "--dump-dom")
    assert "NAAPPruner: predicted vs actual final accuracy" in page
    # The multi-objective study: the Pareto front, pruned trials at their predicted accuracy.
    page = render(chromium, f"{dashboard}/dashboard/studies/3", "--dump-dom")
    assert "NAAPPruner: Pareto front of accuracy and macs" in page
    assert "pruned, at predicted accuracy" in page
    shot = tmp_path / "dashboard.png"
    render(
        chromium,
        f"{dashboard}/dashboard/studies/2/trials",
        f"--screenshot={shot}",
        "--window-size=1400,1000",
    )
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000


@pytest.mark.parametrize(
    ("epoch", "title"),
    [
        (0, "## NAAPSampler pre-screen: pruned before training"),
        (9, "## NAAPPruner: pruned at epoch 9"),
    ],
)
def test_note_names_who_decided(epoch: int, title: str) -> None:
    decision = {"epoch": epoch, "verdict": "pruned", "reason": "r", "predicted": 0.5}
    trial = optuna.trial.create_trial(
        state=optuna.trial.TrialState.PRUNED, user_attrs={"naap:decision": decision}
    )
    note = decision_note(trial)
    assert note is not None and note.splitlines()[0] == title
    assert "| predicted | 0.5000 |" in note
