"""Choose how cautious StudyLearner's measured trust is, on the suite's TUNING seeds only.

Run: ``python benchmarks/tune_trust.py [--seeds 100-104] [--bounds 0,0.8416,1.6449]``. Runs the
objectives suite (``optuna_naap.benchmark.run_suite``: 100 TPE trials a study) with
``NopPruner``, ``MedianPruner()``, each objective's tuned warm-up and ``NAAPPruner()`` once per
confidence bound of the trust's rank correlation (``optuna_naap._trust.BOUND_Z``: 0 is the point
estimate, 0.8416 a one-sided 80% bound, 1.6449 95%) and prints, per setting, the summed steps
against MedianPruner's and the worst shortfall against the better of MedianPruner and the tuned
warm-up. The reported figures (docs/own_objective.md) are then run once on seeds 0-4 with
``optuna-naap benchmark --suite objectives``.
"""

from __future__ import annotations

import argparse

import optuna

import optuna_naap._trust as trust
import optuna_naap.benchmark._suite as suite
from optuna_naap import NAAPPruner, StudyLearner
from optuna_naap.benchmark import run_suite, summarize_suite

_SUITE_PRUNERS = suite.suite_pruners


def _with_trust() -> dict[str, object]:
    # The suite's "naap" with the measured trust on (risk=0.05; the default is risk=None).
    return {**_SUITE_PRUNERS(), "naap": lambda: NAAPPruner(learn=StudyLearner(risk=0.05))}


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100-104")
    parser.add_argument("--bounds", default="0,0.8416,1.6449")
    parser.add_argument("--n-trials", type=int, default=100)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    suite.suite_pruners = _with_trust  # type: ignore[assignment]
    seeds = _seeds(args.seeds)
    only = [o for o in args.only.split(",") if o] or None
    base, notes = run_suite(
        objectives=only, pruners=["nop", "median", "tuned"], seeds=seeds, n_trials=args.n_trials
    )
    for note in notes:
        print(note)
    reference = summarize_suite(base)
    rows = {(r["objective"], r["pruner"]): r for r in reference}
    objectives = list(dict.fromkeys(r["objective"] for r in reference))
    median_steps = sum(rows[o, "median"]["steps"] for o in objectives)
    print(
        f"median: {median_steps:.0f} steps; tuned: "
        f"{sum(rows[o, 'tuned']['steps'] for o in objectives):.0f}"
    )
    for bound in [float(b) for b in args.bounds.split(",")]:
        trust.BOUND_Z = bound
        runs, _ = run_suite(objectives=only, pruners=["naap"], seeds=seeds, n_trials=args.n_trials)
        # run_suite reruns nop with them (the shortfall's reference): same seeds, same values.
        mine = {r["objective"]: r for r in summarize_suite(runs) if r["pruner"] == "naap"}
        steps = sum(mine[o]["steps"] for o in objectives)
        worst, cells = -1.0, []
        for o in objectives:
            better = min(rows[o, "median"]["shortfall"], rows[o, "tuned"]["shortfall"])
            gap = mine[o]["shortfall"] - better
            worst = max(worst, gap)
            cells.append(f"{o} {mine[o]['steps']:.0f} ({100 * gap:+.2f})")
        print(
            f"bound {bound:g}: steps {steps:.0f} = {steps / median_steps:.2f}x median; "
            f"worst shortfall against the better of median/tuned {100 * worst:+.2f}%"
        )
        print("   " + "; ".join(cells))


if __name__ == "__main__":
    main()
