"""``optuna-naap build-dataset``: every scheme once, across workers, surviving killed workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from optuna_naap import SchemeSpace
from optuna_naap.cli import main
from optuna_naap.scheme import PositionChoices

pytestmark = pytest.mark.e2e  # worker processes on SQLite and PostgreSQL

optuna.logging.set_verbosity(optuna.logging.WARNING)


def write_space(path: Path, *, depth: int) -> SchemeSpace:
    block = PositionChoices(kernel_sizes=(1, 3), widths=(8, 16), strides=(1, 2))
    space = SchemeSpace(positions=[block] * depth, min_depth=depth, max_stages=depth)
    path.write_text(json.dumps(space.to_json()))
    return space


def build_args(url: str, space: Path, *extra: str) -> list[str]:
    return [
        "build-dataset",
        "--storage",
        url,
        "--data",
        "synthetic",
        "--device",
        "cpu",
        "--space",
        str(space),
        *extra,
    ]


def check_complete_once(url: str, space: SchemeSpace, epochs: int) -> None:
    trials = optuna.load_study(study_name="naap-dataset", storage=url).trials
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    keys = sorted(json.dumps(t.user_attrs["naap:scheme"], sort_keys=True) for t in done)
    assert keys == sorted(json.dumps(s, sort_keys=True) for s in space.enumerate())
    for trial in done:
        assert sorted(trial.intermediate_values) == list(range(1, epochs + 1))
        assert sorted(map(int, trial.user_attrs["naap:losses"])) == list(range(1, epochs + 1))
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]


def test_build_on_sqlite_then_resume_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = write_space(tmp_path / "space.json", depth=1)  # 8 schemes
    url = f"sqlite:///{tmp_path / 'data.db'}"
    args = build_args(url, tmp_path / "space.json", "--epochs", "2")
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == (
        "naap-dataset: 8/8 done, 0 running, 0 queued, 0 failed attempts"
    )
    check_complete_once(url, space, 2)
    assert main(args) == 0  # resuming a finished build: nothing to do
    assert "8/8 done" in capsys.readouterr().out
    out = tmp_path / "data.csv"
    assert main(["export", "--storage", url, "--study-name", "naap-dataset", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 8 and "e2Accuracy" in frame and "e3Accuracy" not in frame


def test_joining_with_other_settings_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_space(tmp_path / "space.json", depth=1)
    url = f"sqlite:///{tmp_path / 'data.db'}"
    assert main(build_args(url, tmp_path / "space.json", "--epochs", "1")) == 0
    capsys.readouterr()
    assert main(build_args(url, tmp_path / "space.json", "--epochs", "3")) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"optuna-naap build-dataset: error: study 'naap-dataset' in {url} trains with a "
        "1-epoch recipe, not a 3-epoch one; use the same settings to resume it, or another "
        "--study-name"
    )


def test_a_study_of_another_kind_or_a_bad_storage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_space(tmp_path / "space.json", depth=1)
    url = f"sqlite:///{tmp_path / 'data.db'}"
    other = optuna.create_study(storage=url, study_name="naap-dataset", direction="maximize")
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert main(build_args(url, tmp_path / "space.json")) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "is a study of trials optuna-naap did not write, not a build-dataset study; choose "
        "another --study-name"
    )
    unreachable = "postgresql+psycopg2://nobody@127.0.0.1:9/none"
    assert main(build_args(unreachable, tmp_path / "space.json")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"optuna-naap build-dataset: error: cannot open the storage '{unreachable}'"
    )


def test_several_workers_need_a_server_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    assert main(["build-dataset", "--storage", url, "--workers", "3"]) == 2
    assert "use one worker, or a PostgreSQL/MySQL" in capsys.readouterr().err
    assert not (tmp_path / "data.db").exists()


def children(pid: int) -> list[int]:
    """Worker processes started by ``pid`` (spawned multiprocessing children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and "spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_three_workers_on_postgresql_survive_two_sigkills(
    tmp_path: Path, postgres_url: str
) -> None:
    space = write_space(tmp_path / "space.json", depth=2)
    assert len(space.enumerate()) == 64
    epochs = 3
    command = [
        sys.executable,
        "-m",
        "optuna_naap.cli",
        *build_args(postgres_url, tmp_path / "space.json", "--epochs", str(epochs)),
        "--workers",
        "3",
        "--heartbeat",
        "1",
        "--grace",
        "3",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not killed:
        time.sleep(0.5)
        try:
            trials = optuna.load_study(study_name="naap-dataset", storage=postgres_url).trials
        except KeyError:
            continue
        running = [
            t
            for t in trials
            if t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values
        ]
        workers = children(process.pid)
        if len(running) >= 2 and len(workers) == 3:
            for pid in workers[:2]:
                os.kill(pid, signal.SIGKILL)  # mid-trial: their trials stay RUNNING
            killed = workers[:2]
    assert killed, "the workers never got going"
    _, err = process.communicate(timeout=600)
    assert process.returncode in (0, 1), err
    # Resume: the same command (one worker now) finishes whatever the dead left behind.
    time.sleep(4)  # past the grace period
    resumed = subprocess.run(
        [*command[: command.index("--workers")], "--heartbeat", "1", "--grace", "3"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "64/64 done" in resumed.stdout
    check_complete_once(postgres_url, space, epochs)
    trials = optuna.load_study(study_name="naap-dataset", storage=postgres_url).trials
    assert sum(t.state == optuna.trial.TrialState.FAIL for t in trials) >= 2  # the killed ones


def test_a_queue_left_half_done_by_a_dead_command_is_finished(tmp_path: Path) -> None:
    from optuna_naap._recipe import Recipe
    from optuna_naap.cli._build_worker import DataSpec, open_build_study
    from optuna_naap.cli._recovery import this_worker
    from optuna_naap.cli._study_kind import set_kind

    space = write_space(tmp_path / "space.json", depth=1)
    url = f"sqlite:///{tmp_path / 'data.db'}"
    recipe, data = Recipe(epochs=1), DataSpec("synthetic")
    # The first command created the study, queued two schemes, and died (its pid is gone).
    study = optuna.create_study(storage=url, study_name="naap-dataset", direction="maximize")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    settings = {"space": space.to_json(), "recipe": recipe.to_json(), "data": vars(data)}
    set_kind(
        study, "build-dataset", {**settings, "queuer": {**this_worker(), "pid": int(dead.stdout)}}
    )
    from optuna_naap import NAAPSampler, scheme_params

    for scheme in space.enumerate()[:2]:
        study.enqueue_trial(scheme_params(scheme, space), skip_if_exists=False)
    joined, queued = open_build_study(
        url, "naap-dataset", space=space, recipe=recipe, data=data, wait_s=5
    )
    assert queued == len(space.enumerate()) - 2
    waiting = joined.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert len(waiting) == len(space.enumerate())  # every scheme once
    assert NAAPSampler(space=space, exhaustive=True)._missing(joined) == []
