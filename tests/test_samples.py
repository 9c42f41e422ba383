"""The runnable samples, each in its fast mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_pruner_any_objective_sample() -> None:
    done = subprocess.run(
        [sys.executable, str(SAMPLES / "pruner_any_objective.py"), "--fast"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "NAAPPruner (learning from the study)" in done.stdout
    assert "last decision: " in done.stdout
