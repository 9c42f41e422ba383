"""Build a small dataset with several workers, then fit a predictor on it.

Run: ``python samples/build_dataset.py --storage postgresql://... [--workers 3]`` (several
workers need PostgreSQL or MySQL; with the default SQLite file one worker runs). A 16-scheme
space, synthetic images, 3 epochs: the mechanics of ``optuna-naap build-dataset`` in a minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna

from optuna_naap import SchemeSpace
from optuna_naap.data import study_to_frame
from optuna_naap.scheme import PositionChoices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite:///build-sample.db")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    first = PositionChoices(kernel_sizes=(1, 3), widths=(8, 16), strides=(2,))
    second = PositionChoices(kernel_sizes=(1, 3), widths=(8, 16), strides=(1,))
    space = SchemeSpace(positions=[first, second], min_depth=2, max_stages=1)
    with tempfile.TemporaryDirectory() as folder:
        space_file = Path(folder) / "space.json"
        space_file.write_text(json.dumps(space.to_json()))
        command = [
            sys.executable, "-m", "optuna_naap.cli", "build-dataset",
            "--storage", args.storage, "--study-name", "build-sample",
            "--space", str(space_file), "--data", "synthetic", "--device", "cpu",
            "--epochs", str(args.epochs), "--workers", str(args.workers),
        ]  # fmt: skip
        subprocess.run(command, check=True)
    study = optuna.load_study(study_name="build-sample", storage=args.storage)
    frame = study_to_frame(study)
    print(
        f"{len(frame)} schemes of {len(space.enumerate())} built; best accuracy "
        f"{frame.MaxAccuracy.max():.4f}"
    )


if __name__ == "__main__":
    main()
