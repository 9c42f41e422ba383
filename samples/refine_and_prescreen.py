"""Refine the space (AutoSpace) and pre-screen schemes before training, on NAAP-440's replay.

Run: ``python samples/refine_and_prescreen.py --naap440 naap440v2.csv [--fast]``. Half of
NAAP-440 fits the predictors; the other half is replayed (recorded curves, no GPU) three ways
with the same TPE seed: NAAPPruner alone, plus a space refined from the 20th trial on, plus a
0-epoch pre-screen that skips schemes before their first epoch. It prints, for each, the trials
until the first of the half's 10 best schemes completed, the epochs run, and the best found.
"""

from __future__ import annotations

import argparse

import numpy as np
import optuna

from optuna_naap import NAAPSampler, SchemePrescreen, SpaceRefiner, load_naap440
from optuna_naap.benchmark import FitContext, replay_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naap440", help="a NAAP-440 CSV (default: the packaged copy)")
    parser.add_argument("--fast", action="store_true", help="small predictors, 10 epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    order = np.random.default_rng(0).permutation(len(frame))
    fit_rows, pool = frame.iloc[order[: len(frame) // 2]], frame.iloc[order[len(frame) // 2 :]]
    options = {"iterations": 60, "n_models": 1} if args.fast else {}
    max_epochs = 10 if args.fast else 90
    context = FitContext(fit_rows, max_epochs, options)
    references = fit_rows["MaxAccuracy"].to_numpy("float64")
    prescreen = SchemePrescreen(context.predictor(0), reference_values=references)

    ways = {
        "NAAPPruner": NAAPSampler(optuna.samplers.TPESampler(seed=args.seed)),
        "+ refined space": NAAPSampler(
            optuna.samplers.TPESampler(seed=args.seed), refine=SpaceRefiner()
        ),
        "+ refined + pre-screen": NAAPSampler(
            optuna.samplers.TPESampler(seed=args.seed), refine=SpaceRefiner(), prescreen=prescreen
        ),
    }
    print(f"replaying {len(pool)} schemes; the predictors learnt from the other {len(fit_rows)}")
    for name, sampler in ways.items():
        result = replay_study(
            pool, context.naap(), sampler=sampler, seed=args.seed, max_epochs=max_epochs
        )
        print(
            f"{name:24s} first top-10 scheme at trial {result.first_top10:>5.0f}, "
            f"{100 * result.compute:5.1f}% of the epochs, best {result.best:.4f} "
            f"(regret {result.regret:.4f})"
        )


if __name__ == "__main__":
    main()
