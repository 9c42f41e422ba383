"""Replay pruners on the objectives suite's recorded curves: tuning in seconds, not hours.

Run: ``python benchmarks/suite_replay.py record --seeds 100-104 --out curves.json`` once (the
suite's objectives under NopPruner, 100 TPE trials a study: every trial's full curve, final and
time per step), then ``python benchmarks/suite_replay.py replay curves.json`` to replay
MedianPruner, each objective's tuned warm-up, MedianPruner at every warm-up of a grid (the
hindsight frontier: the cheapest warm-up per objective that keeps the best) and NAAPPruner
variants on the same trials in the same order, each through a real Optuna study (``ask``,
``report``, ``should_prune``, ``tell``), each trial with the parameters it was recorded with
(recordings before 2026-12-03 kept none: their replays judge the curves alone).

What a replay cannot show: under a live pruner, TPE samples differently once trials are pruned
(it sees pruned trials' last values); here every pruner sees the trials NopPruner's TPE chose.
So a replayed best never exceeds NopPruner's, and the figures are for choosing settings on the
tuning seeds; reported figures come from the live suite (``optuna-naap benchmark --suite
objectives``) on seeds 0-4.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.trial import TrialState

import optuna_naap._trust as trust
from optuna_naap import NAAPPruner, StudyLearner
from optuna_naap.benchmark._suite import run_one
from optuna_naap.benchmark._suite_objectives import OBJECTIVES


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def record(seeds: list[int], n_trials: int, out: str, only: list[str] | None) -> None:
    """Run every objective under NopPruner and keep each trial's curve."""
    studies = []
    for name in only or list(OBJECTIVES):
        objective = OBJECTIVES[name]
        if objective.missing():
            print(f"{name}: skipped, needs {', '.join(objective.missing())}")
            continue
        made = objective.make()
        for seed in seeds:
            captured: list[optuna.study.Study] = []
            original = optuna.create_study

            def keep(
                *args: Any,
                _made: Callable[..., optuna.study.Study] = original,
                _into: list[optuna.study.Study] = captured,
                **kwargs: Any,
            ) -> optuna.study.Study:
                _into.append(_made(*args, **kwargs))  # the study run_one makes, to read back
                return _into[-1]

            optuna.create_study = keep  # type: ignore[assignment]
            try:
                result = run_one(objective, "nop", seed, n_trials=n_trials, make_objective=made)
            finally:
                optuna.create_study = original  # type: ignore[assignment]
            trials = []
            for t in captured[0].get_trials(deepcopy=False):
                if t.state != TrialState.COMPLETE or not t.intermediate_values:
                    continue
                seconds = (t.datetime_complete - t.datetime_start).total_seconds()
                trials.append(
                    {
                        "curve": sorted(t.intermediate_values.items()),
                        "value": t.value,
                        "step_s": seconds / len(t.intermediate_values),
                        "params": t.params,
                        "distributions": {
                            name: distribution_to_json(d) for name, d in t.distributions.items()
                        },
                    }
                )
            studies.append(
                {
                    "objective": name,
                    "direction": objective.direction,
                    "warmup": objective.warmup,
                    "seed": seed,
                    "trials": trials,
                }
            )
            print(f"{name} seed {seed}: {len(trials)} trials, best {result.best:.4f}", flush=True)
    with open(out, "w") as f:
        json.dump({"seeds": seeds, "n_trials": n_trials, "studies": studies}, f)


def replay_one(study_rec: dict[str, Any], make_pruner: Callable[[], Any]) -> dict[str, float]:
    """One recorded study replayed under a pruner: steps, best, pruner and estimated wall time."""
    pruner = make_pruner()
    study = optuna.create_study(direction=study_rec["direction"], pruner=pruner)
    spent = 0
    pruner_s = wall_s = 0.0
    for rec in study_rec["trials"]:
        # The trial's own parameters (recordings since 2026-12-03 keep them), so that the
        # learnt rule's model sees what it sees live; older recordings replay curves alone.
        if "params" in rec:
            study.enqueue_trial(rec["params"], skip_if_exists=False)
            distributions = {
                name: json_to_distribution(d) for name, d in rec["distributions"].items()
            }
            trial = study.ask(distributions)
        else:
            trial = study.ask()
        pruned = False
        for step, value in rec["curve"]:
            trial.report(value, step)
            spent += 1
            wall_s += rec["step_s"]
            started = time.perf_counter()
            stop = trial.should_prune()
            pruner_s += time.perf_counter() - started
            if stop:
                pruned = True
                break
        if pruned:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, rec["value"])
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    best = study.best_value if complete else math.nan
    return {"steps": spent, "best": best, "pruner_s": pruner_s, "wall_s": wall_s + pruner_s}


def _shortfall(best: float, reference: float, maximize: bool) -> float:
    sign = 1.0 if maximize else -1.0
    return sign * (reference - best) / abs(reference)


def replay(
    path: str, variants: list[str], grid: list[int], percentiles: list[float], only: list[str]
) -> None:
    with open(path) as f:
        data = json.load(f)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    by_objective: dict[str, list[dict[str, Any]]] = {}
    for s in data["studies"]:
        if only and s["objective"] not in only:
            continue
        by_objective.setdefault(s["objective"], []).append(s)

    def nop(s: dict[str, Any]) -> dict[str, float]:
        signed = [(1 if s["direction"] == "maximize" else -1) * t["value"] for t in s["trials"]]
        best = (1 if s["direction"] == "maximize" else -1) * max(signed)
        steps = sum(len(t["curve"]) for t in s["trials"])
        return {
            "steps": steps,
            "best": best,
            "pruner_s": 0.0,
            "wall_s": sum(t["step_s"] * len(t["curve"]) for t in s["trials"]),
        }

    pruners: dict[str, Callable[[dict[str, Any]], Callable[[], Any]]] = {
        "median": lambda s: optuna.pruners.MedianPruner,
        "tuned": lambda s: lambda: optuna.pruners.MedianPruner(n_warmup_steps=s["warmup"]),
    }
    for v in variants:
        pruners[v] = _variant(v)
    totals: dict[str, float] = {}
    worst: dict[str, float] = {}
    rows = []
    for name, studies in by_objective.items():
        maximize = studies[0]["direction"] == "maximize"
        figures: dict[str, list[dict[str, float]]] = {"nop": [nop(s) for s in studies]}
        for p, make in pruners.items():
            figures[p] = [replay_one(s, make(s)) for s in studies]
        frontier = []
        for q in percentiles:
            for w in grid:
                runs = [
                    replay_one(
                        s, lambda w=w, q=q: optuna.pruners.PercentilePruner(q, n_warmup_steps=w)
                    )
                    for s in studies
                ]
                frontier.append((f"{w}, keep {q:g}%", runs))
        ref = float(np.mean([r["best"] for r in figures["nop"]]))
        mean = {
            p: {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
            for p, runs in figures.items()
        }
        better = (
            max(mean["median"]["best"], mean["tuned"]["best"])
            if maximize
            else min(mean["median"]["best"], mean["tuned"]["best"])
        )
        # Hindsight: the cheapest grid warm-up within 1% of nop and 0.5% of the better baseline.
        cheapest = None
        for w, runs in frontier:
            b = float(np.mean([r["best"] for r in runs]))
            st = float(np.mean([r["steps"] for r in runs]))
            safe = _shortfall(b, ref, maximize) <= 0.01
            safe = safe and _shortfall(b, better, maximize) <= 0.005
            if safe and (cheapest is None or st < cheapest[1]):
                cheapest = (w, st, b)
        if cheapest is not None and len(frontier) > 1:  # one setting is no frontier
            mean["hindsight"] = {
                "steps": cheapest[1],
                "best": cheapest[2],
                "pruner_s": 0.0,
                "wall_s": math.nan,
            }
        for p, m in mean.items():
            short_nop = _shortfall(m["best"], ref, maximize)
            short_base = _shortfall(m["best"], better, maximize)
            totals[p] = totals.get(p, 0.0) + m["steps"]
            ok = short_nop <= 0.01 and short_base <= 0.005
            worst[p] = max(worst.get(p, -1.0), short_base)
            rows.append(
                (
                    name,
                    p,
                    m["steps"],
                    m["best"],
                    100 * short_nop,
                    100 * short_base,
                    100 * m["pruner_s"] / m["wall_s"] if m["wall_s"] == m["wall_s"] else 0,
                    "ok" if ok else "LOST",
                )
            )
        if "hindsight" in mean and cheapest is not None:
            rows.append(
                (
                    name,
                    f"  (hindsight warm-up {cheapest[0]})",
                    cheapest[1],
                    cheapest[2],
                    0,
                    0,
                    0,
                    "",
                )
            )
    print(
        f"{'objective':16} {'pruner':26} {'steps':>7} {'best':>8} {'vs nop%':>8} "
        f"{'vs base%':>8} {'prun%':>6}"
    )
    for r in rows:
        print(
            f"{r[0]:16} {r[1]:26} {r[2]:7.0f} {r[3]:8.4f} {r[4]:8.2f} {r[5]:8.2f} {r[6]:6.1f} "
            f"{r[7]}"
        )
    print()
    found = sum(1 for r in rows if r[1] == "hindsight")
    for p, t in totals.items():
        over = (
            f" (on the {found} of {len(by_objective)} objectives with one)"
            if p == "hindsight"
            else ""
        )
        print(
            f"total {p:14} {t:8.0f} steps = {t / totals['median']:.2f}x median; "
            f"worst vs better baseline {100 * worst[p]:+.2f}%{over}"
        )


#: The trust module's switches as the library ships them: a variant changes only those it names.
_SHIPPED = {
    "BOUND_Z": trust.BOUND_Z,
    "LEARNT_GATE": trust.LEARNT_GATE,
    "TOP_SHARE": trust.TOP_SHARE,
    "EARLY_SHARE": trust.EARLY_SHARE,
}


def _variant(spec: str) -> Callable[[dict[str, Any]], Callable[[], Any]]:
    """``naap`` (defaults) or ``naap:risk=0.05,bound=0.8416,gate=rank,top=0.1,early=25``: the
    trust module's switches (``top``: TOP_SHARE; ``early``: EARLY_SHARE, ``none`` for off)."""
    _, _, text = spec.partition(":")
    options = dict(kv.split("=") for kv in text.split(",") if kv)

    def make(s: dict[str, Any]) -> Callable[[], Any]:
        def build() -> Any:
            for name, value in _SHIPPED.items():
                setattr(trust, name, value)
            if "bound" in options:
                trust.BOUND_Z = float(options["bound"])
            if "gate" in options:
                trust.LEARNT_GATE = None if options["gate"] == "none" else options["gate"]
            if "top" in options:
                trust.TOP_SHARE = float(options["top"])
            if "early" in options:
                trust.EARLY_SHARE = None if options["early"] == "none" else float(options["early"])
            if "risk" in options:
                return NAAPPruner(learn=StudyLearner(risk=float(options["risk"])))
            return NAAPPruner()

        return build

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--seeds", default="100-104")
    rec.add_argument("--n-trials", type=int, default=100)
    rec.add_argument("--only", default="")
    rec.add_argument("--out", default="curves.json")
    rep = sub.add_parser("replay")
    rep.add_argument("curves")
    rep.add_argument("--variants", default="naap,naap:risk=0.05")
    rep.add_argument("--grid", default="0,1,2,3,5,8,10,15,20,30")
    rep.add_argument("--keep", default="50", help="PercentilePruner percentiles of the frontier")
    rep.add_argument("--only", default="")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if args.command == "record":
        only = [o for o in args.only.split(",") if o] or None
        record(_seeds(args.seeds), args.n_trials, args.out, only)
    else:
        replay(
            args.curves,
            [v for v in args.variants.split(";") if v],
            [int(w) for w in args.grid.split(",")],
            [float(q) for q in args.keep.split(",")],
            [o for o in args.only.split(",") if o],
        )


if __name__ == "__main__":
    main()
