"""optuna-dashboard demo: NAAP-440 imported as a study, plus a study pruned by NAAPPruner.

Run: ``python samples/dashboard_demo.py --naap440 naap440v2.csv [--serve]`` (needs the extra:
``pip install "optuna-naap[dashboard]"``). It writes ``dashboard-demo.db``; with ``--serve`` it
starts optuna-dashboard on it (the same as ``optuna-naap dashboard --storage ...``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna

from optuna_naap import load_naap440
from optuna_naap.benchmark import FitContext, replay_study
from optuna_naap.data import frame_to_study
from optuna_naap.integrations.dashboard import refresh, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", help="a NAAP-440 CSV (default: the packaged copy)")
    parser.add_argument("--db", default="dashboard-demo.db")
    parser.add_argument("--serve", action="store_true", help="start optuna-dashboard afterwards")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    Path(args.db).unlink(missing_ok=True)
    storage = f"sqlite:///{args.db}"
    frame = load_naap440(args.naap440)
    imported = optuna.create_study(storage=storage, study_name="naap440", direction="maximize")
    frame_to_study(frame, imported)
    train, test = frame[frame.IsTest == 0], frame[frame.IsTest == 1]
    pruner = FitContext(train, 90, {"iterations": 200, "n_models": 1}).naap()
    result = replay_study(test, pruner, storage=storage, study_name="naap-pruned")
    notes, _ = refresh(optuna.load_study(study_name="naap-pruned", storage=storage))
    print(f"{args.db}: NAAP-440 (440 trials) and a pruned replay of the 40 test schemes")
    print(f"  {result.pruned} pruned, {100 * result.compute:.1f}% of the epochs, {notes} notes")
    print(f"view it: optuna-naap dashboard --storage {storage}")
    if args.serve:
        serve(storage, port=args.port)


if __name__ == "__main__":
    main()
