"""``optuna-naap search``: the NAS study (sample schemes, train them, prune early)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from optuna_naap.cli._common import (
    CommandError,
    add_data,
    add_device,
    add_epochs,
    open_storage,
    positive_int,
)

if TYPE_CHECKING:
    import optuna
    from rich.console import Console

    from optuna_naap._sampler import NAAPSampler

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
    parser.add_argument("--study-name", metavar="NAME", default="naap-search")
    parser.add_argument(
        "--n-trials", type=positive_int, metavar="N", help="trials to run (default: 20)"
    )
    add_data(parser, download_help="download CIFAR-10 into --data-root first")
    parser.add_argument(
        "--pruner",
        choices=("naap", "median", "none"),
        help="default: naap on cifar10, median on synthetic data",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--naap440", metavar="PATH", help="NAAP-440 CSV to fit the pruner's predictors on"
    )
    source.add_argument(
        "--predictor", metavar="FILE", help="a saved NAAPPredictor (its epochs: the decision)"
    )
    add_device(parser)
    add_epochs(parser, "trial")
    parser.add_argument("--sampler", choices=("tpe", "random"), default="tpe")
    parser.add_argument(
        "--exhaustive", action="store_true", help="train every scheme of the space once"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    parser.add_argument(
        "--refine",
        action="store_true",
        help="refine the space to the fittest options from the 20th trial on (SpaceRefiner)",
    )
    parser.add_argument(
        "--prescreen",
        action="store_true",
        help="skip schemes a 0-epoch predictor rates hopeless, before training (SchemePrescreen)",
    )


def take_action(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console

    from optuna_naap._images import load_cifar10, synthetic_images
    from optuna_naap._objective import CIFAR10Objective, resolve_device
    from optuna_naap._recipe import Recipe

    console = Console(stderr=True)
    recipe = Recipe(epochs=args.epochs or 90)
    device = resolve_device(args.device)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the live view says it all
    study = _open_study(args)  # the storage first: it is the cheapest thing to get wrong
    data = (
        synthetic_images()
        if args.data == "synthetic"
        else load_cifar10(args.data_root, download=args.download)
    )
    rows = _NAAPRows(args.naap440)
    pruner_name = args.pruner or ("naap" if args.data == "cifar10" else "median")
    study.pruner = _pruner(pruner_name, args, recipe.epochs, rows, console)
    sampler = _sampler(args, rows, console)
    study.sampler = sampler
    n_trials = args.n_trials or (None if args.exhaustive else 20)
    if args.exhaustive:
        queued = sampler.enqueue_space(study)
        console.print(f"exhaustive: {queued} schemes queued")
        n_trials = args.n_trials or queued
    console.print(
        f"study {args.study_name!r} in {args.storage}: {len(study.trials)} trials so far; "
        f"{data.name} data, {recipe.epochs} epochs per trial on {device}, pruner {pruner_name}"
        + (", refined space" if args.refine else "")
        + (", pre-screen" if args.prescreen else "")
    )
    return _run(study, CIFAR10Objective(data, recipe, device), n_trials, args, console)


class _NAAPRows:
    """NAAP-440, read (or downloaded) once for the pruner and the pre-screen."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._frame: Any = None

    def __call__(self) -> Any:
        if self._frame is None:
            from optuna_naap._data import load_naap440

            self._frame = load_naap440(self.path)
        return self._frame


def _open_study(args: argparse.Namespace) -> optuna.study.Study:
    import optuna

    study = optuna.create_study(
        storage=open_storage(args.storage),
        study_name=args.study_name,
        direction="maximize",
        load_if_exists=True,
    )
    if study.direction != optuna.study.StudyDirection.MAXIMIZE or len(study.directions) != 1:
        raise CommandError(
            f"study {args.study_name!r} in {args.storage} is not a single maximized accuracy; "
            "choose another --study-name"
        )
    return study


def _pruner(
    name: str, args: argparse.Namespace, epochs: int, rows: _NAAPRows, console: Console
) -> optuna.pruners.BasePruner:
    from optuna_naap._predictor import NAAPPredictor
    from optuna_naap._pruner import default_decision_epochs, pruner_for_recipe

    if name != "naap":
        return pruner_for_recipe(name, max_epochs=epochs)
    if args.predictor:
        return pruner_for_recipe(
            name, max_epochs=epochs, predictor=NAAPPredictor.load(args.predictor)
        )
    frame = rows()
    decision_epochs = default_decision_epochs(epochs)
    console.print(
        f"fitting NAAPPredictors for epochs {decision_epochs} on {len(frame)} NAAP-440 rows"
    )
    return pruner_for_recipe(name, max_epochs=epochs, rows=frame)


def _sampler(args: argparse.Namespace, rows: _NAAPRows, console: Console) -> NAAPSampler:
    import optuna

    from optuna_naap._sampler import NAAPSampler

    base = (
        optuna.samplers.RandomSampler(seed=args.seed)
        if args.sampler == "random"
        else optuna.samplers.TPESampler(seed=args.seed)
    )
    for flag in ("refine", "prescreen"):
        if getattr(args, flag) and args.exhaustive:
            raise CommandError(f"--{flag} skips schemes; --exhaustive runs them all: choose one")
    prescreen = None
    if args.prescreen:
        from optuna_naap._prescreen import SchemePrescreen

        frame = rows()
        console.print(f"fitting the pre-screen's NAAPPredictor(0) on {len(frame)} NAAP-440 rows")
        prescreen = SchemePrescreen.from_frame(frame)
    refiner = None
    if args.refine:
        from optuna_naap._refine import SpaceRefiner

        refiner = SpaceRefiner()
    return NAAPSampler(base, exhaustive=args.exhaustive, refine=refiner, prescreen=prescreen)


def _run(
    study: optuna.study.Study,
    objective: Any,
    n_trials: int | None,
    args: argparse.Namespace,
    console: Console,
) -> int:
    from optuna_naap.cli._search_view import describe_best, run_search

    callbacks: list[Any] = []
    try:  # notes and the figure for optuna-dashboard, when it is installed
        from optuna_naap.integrations.dashboard import DashboardCallback

        callbacks.append(DashboardCallback())
    except ImportError:
        pass
    try:
        run_search(study, objective, n_trials=n_trials, console=console, callbacks=callbacks)
    except KeyboardInterrupt:
        print(
            f"optuna-naap search: interrupted; the storage is consistent, run the same command "
            f"to resume study {args.study_name!r}",
            file=sys.stderr,
        )
        return 130
    best = describe_best(study)
    if best is None:
        print("no trial completed yet")
    else:
        print(f"best trial {best['trial']}: accuracy {best['value']:.4f}")
        print(f"scheme: {json.dumps(best['scheme'])}")
    return 0
