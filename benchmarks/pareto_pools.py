"""The multi-objective replay on random pools of NAAP-440 rows, not only on all 440: how much
the Pareto rule's figures move with the pool a user happens to have.

Run: ``python benchmarks/pareto_pools.py [--objectives accuracy,macs] [--sizes 220,330]
[--pools 3] [--pruners NAAPPruner,NAAPPruner-lean,oracle] [--samplers random,tpe]``. Each pool
is drawn without replacement from the packaged rows (seeded by its number), then replayed with
the protocol of ``optuna-naap benchmark --objectives ...`` (2 folds, predictors and reference
rows from the other fold, 3 seeds per sampler). Prints one line per pool and pruner, then the
spread (mean, worst) over pools. The settings of every pruner were chosen before, on training
rows (``benchmarks/tune_pareto.py``); this only reports. Two front recalls: of the pool's own
front, and of the pool's schemes on the front of the pool and the other fold's rows together
(the reference rows the pruner compares with; a scheme they beat at no more cost is off the
front of everything known, so not training it is no loss).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import optuna
from rich.console import Console
from rich.table import Table

from optuna_naap import load_naap440
from optuna_naap.benchmark import run_benchmark, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objectives", default="accuracy,macs")
    parser.add_argument("--sizes", default="220,330", help="pool sizes (rows)")
    parser.add_argument("--pools", type=int, default=3, help="random pools per size")
    parser.add_argument("--pruners", default="NAAPPruner,NAAPPruner-lean,oracle")
    parser.add_argument("--samplers", default="random,tpe")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--naap440", default=None, help="a NAAP-440 CSV (default: packaged)")
    parser.add_argument("--json", default=None, help="also write every summary row here")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    frame = load_naap440(args.naap440)
    rows = []
    started = time.perf_counter()
    for size in (int(s) for s in args.sizes.split(",")):
        for pool in range(args.pools):
            picked = np.random.default_rng(1000 + pool).choice(len(frame), size, replace=False)
            results = run_benchmark(
                frame.iloc[np.sort(picked)],
                objectives=args.objectives,
                pruners=args.pruners.split(","),
                samplers=args.samplers.split(","),
                seeds=range(args.seeds),
            )
            for row in summarize(results):
                rows.append({"size": size, "pool": pool, **row})
                print(
                    f"{size} rows, pool {pool}: {row['pruner']:16s} {row['sampler']:7s} "
                    f"compute {100 * row['compute']:.1f}%  front recall "
                    f"{row['front_recall']:.3f} (min {row['min_front_recall']:.2f})  "
                    f"with references {row['front_recall_known']:.3f} "
                    f"(min {row['min_front_recall_known']:.2f})  HV regret "
                    f"{100 * row['hv_regret']:.3f}% (max {100 * row['max_hv_regret']:.3f}%)",
                    flush=True,
                )
    table = Table(
        title=f"{args.objectives}: {args.pools} random pools per size, 2 folds x "
        f"{args.seeds} seeds per sampler; mean over pools (worst pool's mean; worst study)"
    )
    columns = ("rows", "pruner", "sampler", "compute", "front recall", "with references")
    for column in (*columns, "HV regret"):
        table.add_column(column)
    keys = sorted({(r["size"], r["pruner"], r["sampler"]) for r in rows}, key=str)
    for size, pruner, sampler in keys:
        group = [
            r for r in rows if (r["size"], r["pruner"], r["sampler"]) == (size, pruner, sampler)
        ]
        compute = [r["compute"] for r in group]
        recall = [r["front_recall"] for r in group]
        known = [r["front_recall_known"] for r in group]
        regret = [r["hv_regret"] for r in group]
        table.add_row(
            str(size),
            pruner,
            sampler,
            f"{100 * np.mean(compute):.1f}% ({100 * max(compute):.1f}%)",
            f"{np.mean(recall):.3f} ({min(recall):.3f}; "
            f"{min(r['min_front_recall'] for r in group):.2f})",
            f"{np.mean(known):.3f} ({min(known):.3f}; "
            f"{min(r['min_front_recall_known'] for r in group):.2f})",
            f"{100 * np.mean(regret):.3f}% ({100 * max(regret):.3f}%; "
            f"{100 * max(r['max_hv_regret'] for r in group):.3f}%)",
        )
    Console(width=150).print(table)
    print(f"{time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
