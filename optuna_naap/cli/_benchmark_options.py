"""``optuna-naap benchmark``'s options, checked and typed once from the command line (the
replay's and the objectives suite's), shared by the command and its tables."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_naap.cli._common import CommandError, names, out_dir

if TYPE_CHECKING:
    from optuna_naap._pareto import ParetoObjectives

__all__ = ["ReplayOptions", "SuiteOptions"]


@dataclass(frozen=True)
class ReplayOptions:
    """``optuna-naap benchmark --suite naap440``'s options, checked and typed once."""

    naap440: str | None
    pruners: list[str] | None
    samplers: list[str] | None
    seeds: int
    folds: int
    max_epochs: int | None
    objectives: ParetoObjectives | None
    task_data: str
    fast: bool
    out: Path | None
    format: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReplayOptions:
        from optuna_naap.benchmark import builtin_pruners

        if args.only:
            raise CommandError("--only picks objectives of --suite objectives, not of the replay")
        if args.first_seed != 0:
            raise CommandError(
                "--first-seed sets --suite objectives' seeds; the naap440 replay's seeds are "
                "0 to --seeds - 1"
            )
        if args.n_trials is not None:
            raise CommandError(
                "--n-trials sets --suite objectives' trials; the naap440 replay runs every row "
                "of each fold (--folds, --seeds)"
            )
        out = out_dir(args.out)
        objectives = _replay_objectives(args.objectives)
        pruners = names(args.pruners)
        known = builtin_pruners(multi_objective=objectives is not None)
        unknown = [n for n in pruners or () if n not in known]
        if unknown:
            raise CommandError(f"unknown pruner {unknown[0]!r}; choose among {', '.join(known)}")
        if args.task_data != "cifar10" and not args.naap440:
            raise CommandError(
                f"--task-data {args.task_data} names the data of the rows given with --naap440 "
                "(the default rows are NAAP-440's, cifar10)"
            )
        return cls(
            naap440=args.naap440,
            pruners=pruners,
            samplers=names(args.samplers),
            seeds=args.seeds,
            folds=args.folds,
            max_epochs=args.max_epochs,
            objectives=objectives,
            task_data=args.task_data,
            fast=bool(args.fast),
            out=out,
            format=args.format,
        )


@dataclass(frozen=True)
class SuiteOptions:
    """``optuna-naap benchmark --suite objectives``'s options, checked and typed once."""

    only: list[str] | None
    pruners: list[str] | None
    seeds: int
    first_seed: int
    n_trials: int
    out: Path | None
    format: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SuiteOptions:
        only = args.only
        if args.objectives and not args.only:  # the old meaning of --objectives there
            print(
                "optuna-naap benchmark: --objectives names the replay's objectives; "
                "--suite objectives takes --only (read as --only this time)",
                file=sys.stderr,
            )
            only = args.objectives
        return cls(
            only=names(only),
            pruners=names(args.pruners),
            seeds=args.seeds,
            first_seed=args.first_seed,
            n_trials=args.n_trials or 50,
            out=out_dir(args.out),
            format=args.format,
        )


def _replay_objectives(text: str | None) -> Any:
    """The replay's objectives, or None for a single-objective replay."""
    from optuna_naap._pareto import EXACT_COSTS
    from optuna_naap.benchmark._protocol import BenchmarkError, _parse_objectives

    try:
        objectives = _parse_objectives(text)
    except BenchmarkError as exc:
        raise CommandError(f"--objectives: {exc}") from None
    measured = [] if objectives is None else [c for c in objectives.costs if c not in EXACT_COSTS]
    if measured:
        raise CommandError(
            f"--objectives: a replay knows only the exact costs {', '.join(EXACT_COSTS)}, not "
            f"{', '.join(measured)} (NAAP-440 holds no measured cost)"
        )
    return objectives
