"""The runnable samples, each in its fast mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # the samples, as scripts


SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(script: str, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(SAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_pruner_any_objective_sample() -> None:
    out = run("pruner_any_objective.py", "--fast")
    assert "NAAPPruner()" in out and "MedianPruner()" in out
    assert "last decision: " in out


def test_nas_sample_on_synthetic_data(naap440_dir: Path, tmp_path: Path) -> None:
    csv = str(naap440_dir / "naap440v2.csv")
    out = run("nas_cifar10.py", "--synthetic", "--fast", "--naap440", csv, cwd=tmp_path)
    assert out.startswith("best trial ") and "scheme: [{" in out
    assert (tmp_path / "nas-sample.db").exists()


def test_replay_benchmark_sample(naap440_dir: Path) -> None:
    out = run("replay_benchmark.py", "--fast", "--naap440", str(naap440_dir / "naap440v2.csv"))
    lines = out.strip().splitlines()
    assert lines[0].split() == ["pruner", "sampler", "compute", "recall", "regret"]
    assert [line.split()[0] for line in lines[1:]] == ["nop", "median", "naap"]


def test_dashboard_sample(naap440_dir: Path, tmp_path: Path) -> None:
    csv = str(naap440_dir / "naap440v2.csv")
    out = run("dashboard_demo.py", "--naap440", csv, cwd=tmp_path)
    assert "view it: optuna-naap dashboard --storage sqlite:///dashboard-demo.db" in out


@pytest.mark.parametrize("workers", [2])
def test_build_dataset_sample_with_workers(postgres_url: str, workers: int) -> None:
    out = run("build_dataset.py", "--storage", postgres_url, "--workers", str(workers))
    assert out.strip().splitlines()[-1].startswith("16 schemes of 16 built; best accuracy ")


def test_refine_and_prescreen_sample(naap440_dir: Path) -> None:
    csv = str(naap440_dir / "naap440v2.csv")
    out = run("refine_and_prescreen.py", "--fast", "--naap440", csv)
    lines = [line for line in out.splitlines() if "first top-10 scheme" in line]
    assert len(lines) == 3, out
    assert "replaying 220 schemes" in out
