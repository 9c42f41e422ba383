"""``optuna-naap search``: the NAS study (sample schemes, train them, prune early)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_naap.cli._common import (
    add_data,
    add_device,
    add_epochs,
    add_heartbeat,
    open_storage,
    positive_int,
)
from optuna_naap.cli._recovery import recover_trials
from optuna_naap.cli._search_setup import (
    NAMED_BARS,
    NAAPRows,
    SearchOptions,
    create_study,
    find_study,
    make_pruner,
    make_sampler,
    resumed_seed,
)

if TYPE_CHECKING:
    import optuna
    from rich.console import Console


NAME = "search"
HELP = "run the NAS study: sample schemes, train them with the NAAP recipe, prune early"
DESCRIPTION = (
    "Train schemes of the NAAP-440 space with the fixed NAAP recipe on CIFAR-10 (or a "
    "synthetic stand-in), pruning with NAAPPruner. The storage defaults to a SQLite "
    "file here; the same storage and study name resume the study."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        metavar="URL",
        default="sqlite:///optuna-naap.db",
        help="Optuna storage URL (default: sqlite:///optuna-naap.db in this folder)",
    )
    parser.add_argument(
        "--study-name",
        metavar="NAME",
        default="naap-search",
        help="the study's name in the storage (default: naap-search); the same name resumes it",
    )
    parser.add_argument(
        "--n-trials", type=positive_int, metavar="N", help="trials to run (default: 20)"
    )
    add_data(parser, download_help="download CIFAR-10 into --data-root first")
    parser.add_argument(
        "--pruner",
        choices=("naap", *NAMED_BARS, "median", "none"),
        help="default: naap (on cifar10 a top-10 bar of NAAP-440's finals; on other data, "
        "NAAP-440 as a prior calibrated on the study's trials), median on synthetic data, none "
        "in multi-objective studies of data other than cifar10; naap-wide: a top-20 bar "
        "(the former default: about 40%% more compute on NAAP-440's replay, keeps a "
        "little more of the 10 best); naap-lean: the same as naap (its bar is the default)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--naap440",
        metavar="PATH",
        help="a NAAP-440 CSV for the pruner's predictors (default: the packaged copy)",
    )
    source.add_argument(
        "--predictor", metavar="FILE", help="a saved NAAPPredictor (its epochs: the decision)"
    )
    add_device(parser)
    add_epochs(parser, "trial")
    parser.add_argument(
        "--objectives",
        metavar="NAMES",
        default="accuracy",
        help="the study's objectives: accuracy (default), or accuracy against exact costs, "
        "e.g. accuracy,macs or accuracy,params,macs (a multi-objective study pruned on the "
        "Pareto front; costs: macs, params, layers)",
    )
    parser.add_argument(
        "--sampler",
        choices=("tpe", "random", "nsga2"),
        default="tpe",
        help="base sampler under NAAPSampler (default tpe; nsga2 for multi-objective studies: "
        "NSGA-II counting pruned trials at their predicted values)",
    )
    parser.add_argument(
        "--exhaustive", action="store_true", help="train every scheme of the space once"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="sampler seed of a new study (default 0; a resumed study derives a seed of its own "
        "from it and its trial count, so that it does not replay the first run)",
    )
    parser.add_argument(
        "--refine",
        action="store_true",
        help="refine the space to the fittest options from the 20th trial on (SpaceRefiner)",
    )
    parser.add_argument(
        "--prescreen",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip schemes a 0-epoch predictor rates hopeless, before training "
        "(SchemePrescreen; on the front in a multi-objective study); default: on on cifar10 "
        "with NAAP-440's rule (--pruner naap, naap-wide or naap-lean) without --exhaustive, "
        "off otherwise",
    )
    add_heartbeat(parser)


def take_action(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console

    from optuna_naap._objective import CIFAR10Objective, resolve_device

    options = SearchOptions.from_args(args)
    console = Console(stderr=True)
    recipe, objectives = options.recipe, options.objectives
    device = resolve_device(options.device)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the live view says it all
    # Everything is checked before anything is written: the storage and the study first.
    # A SQLite file that does not exist yet holds no study: it is created only once
    # everything else checked out (no empty database left behind by a bad option).
    storage = None if _new_sqlite_file(options.storage) else _open(options)
    existing = None if storage is None else find_study(storage, options)
    data = options.data.load()
    rows = NAAPRows(options.naap440)
    pruner = make_pruner(options, rows, console)
    before = 0 if existing is None else len(existing.get_trials(deepcopy=False))
    sampler = make_sampler(options, rows, console, seed=resumed_seed(options.seed, before))
    study = create_study(storage or _open(options), options, existing)
    study.pruner, study.sampler = pruner, sampler
    recovered = recover_trials(study)
    if recovered:
        console.print(f"recovered {len(recovered)} trial(s) left running: {'; '.join(recovered)}")
    n_trials = options.n_trials or (None if options.exhaustive else 20)
    if options.exhaustive:
        queued = sampler.enqueue_space(study)
        console.print(f"exhaustive: {queued} schemes queued")
        n_trials = options.n_trials or queued
    console.print(
        f"study {options.study_name!r} in {options.storage}: {before} trials so far; "
        f"{data.name} data, {recipe.epochs} epochs per trial on {device}, "
        f"pruner {options.pruner}"
        + (f", objectives {','.join(objectives.names)}" if objectives is not None else "")
        + (", refined space" if options.refine else "")
        + (", pre-screen" if options.prescreen else "")
    )
    objective = CIFAR10Objective(data, recipe, device)
    return _run(study, objective, n_trials, options, console)


def _open(options: SearchOptions) -> Any:
    return open_storage(options.storage, heartbeat=options.heartbeat, grace=options.grace)


def _new_sqlite_file(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist yet."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return False
    return not Path(url[len(prefix) :].split("?")[0]).exists()


def _run(
    study: optuna.study.Study,
    objective: Any,
    n_trials: int | None,
    options: SearchOptions,
    console: Console,
) -> int:
    from optuna_naap.cli._search_view import print_best, run_search

    callbacks: list[Any] = []
    try:  # notes and the figure for optuna-dashboard, when it is installed
        from optuna_naap.integrations.dashboard import DashboardCallback

        callbacks.append(DashboardCallback())
    except ImportError:
        pass
    try:
        run_search(
            study,
            objective,
            n_trials=n_trials,
            console=console,
            callbacks=callbacks,
            objectives=options.objectives,
        )
    except KeyboardInterrupt:
        print(
            f"optuna-naap search: interrupted; the storage is consistent (the running trial "
            f"failed, its scheme queued again): run the same command to resume study "
            f"{options.study_name!r}",
            file=sys.stderr,
        )
        return 130
    print_best(study, options.objectives)
    return 0
