"""``optuna-naap search``'s setup: the study, its objectives, pruner and sampler from the
command's options (one line for every user error, before anything is written)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from optuna_naap.cli._common import CommandError

if TYPE_CHECKING:
    import optuna
    from rich.console import Console

    from optuna_naap._pareto import ParetoObjectives
    from optuna_naap._sampler import NAAPSampler

__all__ = [
    "NAAPRows",
    "create_study",
    "find_study",
    "make_pruner",
    "make_sampler",
    "parse_objectives",
    "resumed_seed",
]


class NAAPRows:
    """NAAP-440, read (or downloaded) once for the pruner and the pre-screen."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._frame: Any = None

    def __call__(self) -> Any:
        if self._frame is None:
            from optuna_naap._data import load_naap440

            self._frame = load_naap440(self.path)
        return self._frame


def parse_objectives(text: str) -> ParetoObjectives | None:
    """``None`` for accuracy alone, else the multi-objective study's objectives."""
    from optuna_naap._pareto import EXACT_COSTS, ParetoObjectives

    if text.strip().lower() == "accuracy":
        return None
    try:
        objectives = ParetoObjectives.parse(text)
    except ValueError as exc:
        raise CommandError(f"--objectives: {exc}") from None
    measured = [c for c in objectives.costs if c not in EXACT_COSTS]
    if measured:
        raise CommandError(
            f"--objectives: search knows the exact costs {', '.join(EXACT_COSTS)}, not "
            f"{', '.join(measured)} (measure it in your own objective with record_cost)"
        )
    return objectives


def _directions(objectives: ParetoObjectives | None) -> list[optuna.study.StudyDirection]:
    import optuna

    if objectives is None:
        return [optuna.study.StudyDirection.MAXIMIZE]
    return list(objectives.directions)


def find_study(
    storage: optuna.storages.BaseStorage,
    args: argparse.Namespace,
    objectives: ParetoObjectives | None,
    settings: dict[str, Any],
) -> optuna.study.Study | None:
    """The existing study to resume, checked against the command (objectives, kind, space,
    recipe, data), or ``None``. Writes nothing."""
    import optuna

    from optuna_naap.cli._study_kind import check_kind

    try:
        existing = optuna.load_study(study_name=args.study_name, storage=storage)
    except KeyError:
        return None
    directions = _directions(objectives)
    wanted = ["accuracy"] if objectives is None else list(objectives.names)
    names = existing.metric_names
    got = [n.lower() for n in names] if names else None
    same = list(existing.directions) == directions and (
        got == wanted or (got is None and objectives is None)
    )
    if not same:
        have = ",".join(got) if got else ",".join(d.name.lower() for d in existing.directions)
        if not got and list(existing.directions) == [optuna.study.StudyDirection.MAXIMIZE]:
            have = "accuracy"  # one maximised value, as search writes it
        raise CommandError(
            f"study {args.study_name!r} in {args.storage} has objectives {have}, not "
            f"{','.join(wanted)}; give the same --objectives or another --study-name"
        )
    check_kind(existing, "search", settings, name=args.study_name, where=args.storage)
    return existing


def create_study(
    storage: optuna.storages.BaseStorage,
    args: argparse.Namespace,
    objectives: ParetoObjectives | None,
    settings: dict[str, Any],
    existing: optuna.study.Study | None,
) -> optuna.study.Study:
    """The search study: ``existing`` (recorded as a search study if it was not yet), or a
    new one."""
    import warnings

    import optuna

    from optuna_naap.cli._study_kind import set_kind, study_kind

    if existing is not None:
        record = study_kind(existing)
        if record is None or record.get("legacy"):
            set_kind(existing, "search", settings)
        return existing
    directions = _directions(objectives)
    study = optuna.create_study(
        storage=storage, study_name=args.study_name, directions=directions, load_if_exists=True
    )
    if objectives is not None:
        with warnings.catch_warnings():  # experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(objectives.names))
    set_kind(study, "search", settings)
    return study


def make_pruner(
    name: str, args: argparse.Namespace, epochs: int, rows: NAAPRows, console: Console
) -> optuna.pruners.BasePruner:
    from optuna_naap._predictor import NAAPPredictor
    from optuna_naap._pruner import default_decision_epochs, pruner_for_recipe

    if name != "naap":
        return pruner_for_recipe(name, max_epochs=epochs)
    # A file the user named is checked whatever it is then used for: one line, before a study.
    predictor = NAAPPredictor.load(args.predictor) if args.predictor else None
    if args.naap440:
        rows()
    if args.data != "cifar10":
        from optuna_naap._pruner import NAAPPruner

        # NAAP-440's finals are CIFAR-10's: on other data they would prune on the wrong scale.
        console.print(
            f"study's task differs from NAAP-440's (data {args.data}, {epochs} epochs): "
            "NAAP-440 used as a prior, calibrated on this study's trials (nothing pruned "
            "before 5 have completed)"
        )
        return NAAPPruner(max_epochs=epochs)
    if predictor is not None:
        return pruner_for_recipe(name, max_epochs=epochs, predictor=predictor)
    frame = rows()
    decision_epochs = default_decision_epochs(epochs)
    cut = f", their curves cut to {epochs} epochs (exact: the same recipe)" if epochs < 90 else ""
    console.print(
        f"fitting NAAPPredictors for epochs {decision_epochs} on {len(frame)} NAAP-440 rows{cut}"
    )
    return pruner_for_recipe(name, max_epochs=epochs, rows=frame)


def resumed_seed(seed: int, n_trials: int) -> int:
    """The sampler seed of a run that starts after ``n_trials`` trials: ``seed`` on a new
    study, a seed of its own on a resumed one (a seeded sampler would replay its sequence)."""
    if n_trials == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, n_trials]).generate_state(1)[0])


def make_sampler(
    args: argparse.Namespace, rows: NAAPRows, console: Console, *, seed: int
) -> NAAPSampler:
    import optuna

    from optuna_naap._sampler import NAAPSampler

    base: optuna.samplers.BaseSampler
    if args.sampler == "random":
        base = optuna.samplers.RandomSampler(seed=seed)
    elif args.sampler == "nsga2":
        base = optuna.samplers.NSGAIISampler(seed=seed)
    else:
        base = optuna.samplers.TPESampler(seed=seed)
    for flag in ("refine", "prescreen"):
        if getattr(args, flag) and args.exhaustive:
            raise CommandError(f"--{flag} skips schemes; --exhaustive runs them all: choose one")
    prescreen = None
    if args.prescreen and args.data != "cifar10":
        # The pre-screen prunes before any training, against NAAP-440's finals: on other data
        # there is no trial of the study's own to calibrate it with.
        raise CommandError(
            f"--prescreen judges schemes before training against NAAP-440's CIFAR-10 finals, "
            f"not on the scale of --data {args.data}; leave it out (--pruner naap then uses "
            "NAAP-440 as a prior, calibrated on this study's trials)"
        )
    if args.prescreen:
        from optuna_naap._data import curve_epochs, truncate_curves
        from optuna_naap._prescreen import SchemePrescreen

        frame = rows()
        cut = ""
        if args.epochs < curve_epochs(frame):
            frame = truncate_curves(frame, args.epochs)
            cut = f", their finals cut to {args.epochs} epochs (exact: the same recipe)"
        console.print(
            f"fitting the pre-screen's NAAPPredictor(0) on {len(frame)} NAAP-440 rows{cut}"
        )
        prescreen = SchemePrescreen.from_frame(frame)
    refiner = None
    if args.refine:
        from optuna_naap._refine import SpaceRefiner

        refiner = SpaceRefiner()
    return NAAPSampler(base, exhaustive=args.exhaustive, refine=refiner, prescreen=prescreen)
