"""Compare NAAPPruner with Optuna's pruners on NAAP-440's recorded curves (no GPU needed).

Run: ``python samples/replay_benchmark.py --naap440 naap440v2.csv [--fast]``. The full protocol
is ``optuna-naap benchmark``; this shows the Python API (``optuna_naap.benchmark``).
"""

from __future__ import annotations

import argparse

import optuna

from optuna_naap import load_naap440
from optuna_naap.benchmark import run_benchmark, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", help="a NAAP-440 CSV (default: the packaged copy)")
    parser.add_argument("--fast", action="store_true", help="3 pruners, 1 seed, 10 epochs")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    results = run_benchmark(
        frame,
        pruners=["nop", "median", "naap"] if args.fast else None,
        samplers=["random"] if args.fast else ["random", "tpe"],
        seeds=[0] if args.fast else [0, 1, 2],
        max_epochs=10 if args.fast else None,
        predictor_options={"iterations": 100, "n_models": 1} if args.fast else None,
        progress=True,
    )
    print(f"{'pruner':<20} {'sampler':<8} {'compute':>8} {'recall':>7} {'regret':>7}")
    for row in summarize(results):
        print(
            f"{row['pruner']:<20} {row['sampler']:<8} {100 * row['compute']:7.1f}% "
            f"{row['recall']:7.3f} {row['regret']:7.4f}"
        )


if __name__ == "__main__":
    main()
