"""``optuna-naap search``'s setup: the study, its objectives, pruner and sampler from the
command's options (one line for every user error, before anything is written)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna_naap._optuna import quiet_experimental
from optuna_naap._recipe import Recipe
from optuna_naap.cli._common import CommandError, DataSpec, data_spec

if TYPE_CHECKING:
    import optuna
    from rich.console import Console

    from optuna_naap._pareto import ParetoObjectives
    from optuna_naap._sampler import NAAPSampler

__all__ = [
    "NAAPRows",
    "SearchOptions",
    "create_study",
    "find_study",
    "make_pruner",
    "make_sampler",
    "parse_objectives",
    "resumed_seed",
]


#: ``--pruner`` names of NAAP-440's rule with a named top-k bar: CIFAR-10 and one objective only
#: (``naap`` is that rule too on CIFAR-10, and transfer mode or the Pareto rule elsewhere).
NAMED_BARS = ("naap-wide", "naap-lean")


def default_pruner(data: str, *, multi_objective: bool) -> str:
    """``search``'s pruner where ``--pruner`` is not given.

    NAAP-440's rule on CIFAR-10. On real data of another task, NAAPPruner in transfer mode: on
    the project's Fashion-MNIST replay it kept the best scheme of every study (0.83 of the 10
    best) where MedianPruner kept 0.13 of them and lost the best by 0.77 points
    (docs/transfer.md). MedianPruner on synthetic images (a smoke run). Multi-objective studies
    of another task: no pruning (transfer is single-objective).
    """
    if data == "cifar10":
        return "naap"
    if multi_objective:
        return "none"
    return "median" if data == "synthetic" else "naap"


def default_prescreen(data: str, *, pruner: str, exhaustive: bool) -> bool:
    """Whether ``search`` pre-screens schemes where neither ``--prescreen`` nor
    ``--no-prescreen`` is given: with NAAP-440's own rule on CIFAR-10 (against the top of the
    known finals, or the front in a multi-objective study), where the replay measured it to
    help (docs/refinement.md, docs/pareto.md); never on other data, where NAAP-440's finals are
    not the study's scale, nor with ``--exhaustive``, which runs every scheme."""
    return data == "cifar10" and pruner in ("naap", *NAMED_BARS) and not exhaustive


@dataclass(frozen=True)
class SearchOptions:
    """``optuna-naap search``'s options, checked and typed once from the command line."""

    storage: str
    study_name: str
    n_trials: int | None
    data: DataSpec
    pruner: str
    naap440: str | None
    predictor: str | None
    device: str | None
    recipe: Recipe
    objectives: ParetoObjectives | None
    sampler: str
    exhaustive: bool
    seed: int
    refine: bool
    prescreen: bool
    heartbeat: int
    grace: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SearchOptions:
        """The options of ``args`` (one line for each user error, before anything runs)."""
        objectives = parse_objectives(args.objectives)
        pruner = args.pruner or default_pruner(args.data, multi_objective=objectives is not None)
        if objectives is not None and pruner in ("median", *NAMED_BARS):
            raise CommandError(
                f"--pruner {pruner} judges one value; a multi-objective study takes --pruner "
                "naap or none"
            )
        if pruner in NAMED_BARS and args.data != "cifar10":
            # Its top-k bar is NAAP-440's finals: there is none on another task's scale.
            raise CommandError(
                f"--pruner {pruner} is a bar of NAAP-440's CIFAR-10 finals, not on the scale "
                f"of --data {args.data}; use --pruner naap (NAAP-440 as a prior, calibrated on "
                "this study's trials)"
            )
        for flag in ("refine", "prescreen"):
            if getattr(args, flag) and args.exhaustive:
                raise CommandError(
                    f"--{flag} skips schemes; --exhaustive runs them all: choose one"
                )
        if args.prescreen and args.data != "cifar10":
            # The pre-screen prunes before any training, against NAAP-440's finals: on other
            # data there is no trial of the study's own to calibrate it with.
            raise CommandError(
                f"--prescreen judges schemes before training against NAAP-440's CIFAR-10 "
                f"finals, not on the scale of --data {args.data}; leave it out (--pruner naap "
                "then uses NAAP-440 as a prior, calibrated on this study's trials)"
            )
        return cls(
            storage=args.storage,
            study_name=args.study_name,
            n_trials=args.n_trials,
            data=data_spec(args),
            pruner=pruner,
            naap440=args.naap440,
            predictor=args.predictor,
            device=args.device,
            recipe=Recipe(epochs=args.epochs or 90),
            objectives=objectives,
            sampler=args.sampler,
            exhaustive=args.exhaustive,
            seed=args.seed,
            refine=args.refine,
            prescreen=(
                args.prescreen
                if args.prescreen is not None
                else default_prescreen(args.data, pruner=pruner, exhaustive=args.exhaustive)
            ),
            heartbeat=args.heartbeat,
            grace=args.grace,
        )

    @property
    def settings(self) -> dict[str, Any]:
        """What the study records of the command (a resumed study must match it)."""
        from optuna_naap._space import SchemeSpace

        settings: dict[str, Any] = {
            "space": SchemeSpace().to_json(),
            "recipe": self.recipe.to_json(),
            "data": self.data.kind,
        }
        if self.data.train_images or self.data.test_images:
            settings["data_subset"] = [self.data.train_images, self.data.test_images]
        return settings


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
    storage: optuna.storages.BaseStorage, options: SearchOptions
) -> optuna.study.Study | None:
    """The existing study to resume, checked against the command (objectives, kind, space,
    recipe, data), or ``None``. Writes nothing."""
    import optuna

    from optuna_naap.cli._study_kind import check_kind

    try:
        existing = optuna.load_study(study_name=options.study_name, storage=storage)
    except KeyError:
        return None
    objectives = options.objectives
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
            f"study {options.study_name!r} in {options.storage} has objectives {have}, not "
            f"{','.join(wanted)}; give the same --objectives or another --study-name"
        )
    check_kind(
        existing, "search", options.settings, name=options.study_name, where=options.storage
    )
    return existing


def create_study(
    storage: optuna.storages.BaseStorage,
    options: SearchOptions,
    existing: optuna.study.Study | None,
) -> optuna.study.Study:
    """The search study: ``existing`` (recorded as a search study if it was not yet), or a
    new one."""

    import optuna

    from optuna_naap.cli._study_kind import set_kind, study_kind

    settings, objectives = options.settings, options.objectives
    if existing is not None:
        record = study_kind(existing)
        if record is None or record.get("legacy"):
            set_kind(existing, "search", settings)
        return existing
    directions = _directions(objectives)
    study = optuna.create_study(
        storage=storage, study_name=options.study_name, directions=directions, load_if_exists=True
    )
    if objectives is not None:
        with quiet_experimental():  # experimental in Optuna
            study.set_metric_names(list(objectives.names))
    set_kind(study, "search", settings)
    return study


def make_pruner(
    options: SearchOptions, rows: NAAPRows, console: Console
) -> optuna.pruners.BasePruner:
    """The pruner of a NAS study of schemes trained for ``epochs``, by name: ``"naap"``
    (NAAPPruner: a saved predictor, else fit on NAAP-440 at the default decision epochs;
    transfer mode on other data), ``"naap-wide"`` (the same with
    :data:`~optuna_naap._rule.WIDE_BAR`, CIFAR-10 only), ``"naap-lean"`` (the same as
    ``"naap"``, whose bar :data:`~optuna_naap._rule.LEAN_BAR` is), ``"median"`` (MedianPruner
    with a warm-up of 10% of training), ``"none"``."""
    from optuna_naap._optuna_pruners import optuna_pruners
    from optuna_naap._predictor import NAAPPredictor
    from optuna_naap._pruner import NAAPPruner
    from optuna_naap._rule import WIDE_BAR, SchemeRule, default_decision_epochs

    name, epochs, data = options.pruner, options.recipe.epochs, options.data.kind
    if name in ("none", "median"):
        # Optuna's pruners with a warm-up of 10% of training, as in the replay benchmark.
        table = optuna_pruners(warmup=max(1, round(0.1 * epochs)), max_resource=epochs)
        return table["nop" if name == "none" else "median"]()
    # A file the user named is checked whatever it is then used for: one line, before a study.
    predictor = NAAPPredictor.load(options.predictor) if options.predictor else None
    if options.naap440:
        rows()
    if data != "cifar10":
        # NAAP-440's finals are CIFAR-10's: on other data they would prune on the wrong scale.
        console.print(
            f"study's task differs from NAAP-440's (data {data}, {epochs} epochs): "
            "NAAP-440 used as a prior, calibrated on this study's trials (nothing pruned "
            "before 5 have completed)"
        )
        return NAAPPruner()
    bar = dict(WIDE_BAR) if name == "naap-wide" else {}
    if predictor is not None:
        return NAAPPruner(SchemeRule(predictor, max_epochs=epochs, **bar))
    frame = rows()
    decision_epochs = default_decision_epochs(epochs)
    cut = f", their curves cut to {epochs} epochs (exact: the same recipe)" if epochs < 90 else ""
    console.print(
        f"fitting NAAPPredictors for epochs {decision_epochs} on {len(frame)} NAAP-440 rows{cut}"
    )
    if bar:
        console.print(
            f"naap-wide: a top-{bar['top_k']} bar at confidence {bar['confidence']:g} (the "
            "defaults: top-10 at 0.95): about 40% more compute, a little more of the 10 best "
            "kept"
        )
    elif name == "naap-lean":
        console.print("naap-lean: the defaults' bar (top-10 at 0.95), the same as --pruner naap")
    return NAAPPruner.from_frame(frame, decision_epochs=decision_epochs, max_epochs=epochs, **bar)


def resumed_seed(seed: int, n_trials: int) -> int:
    """The sampler seed of a run that starts after ``n_trials`` trials: ``seed`` on a new
    study, a seed of its own on a resumed one (a seeded sampler would replay its sequence)."""
    if n_trials == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, n_trials]).generate_state(1)[0])


def make_sampler(
    options: SearchOptions, rows: NAAPRows, console: Console, *, seed: int
) -> NAAPSampler:
    from optuna_naap._sampler import NAAPSampler, base_sampler

    base = base_sampler(options.sampler, seed)
    epochs = options.recipe.epochs
    prescreen = None
    if options.prescreen:
        from optuna_naap._data import curve_epochs, truncate_curves
        from optuna_naap._prescreen import SchemePrescreen

        frame = rows()
        cut = ""
        if epochs < curve_epochs(frame):
            frame = truncate_curves(frame, epochs)
            cut = f", their finals cut to {epochs} epochs (exact: the same recipe)"
        console.print(
            f"fitting the pre-screen's NAAPPredictor(0) on {len(frame)} NAAP-440 rows{cut}"
        )
        prescreen = SchemePrescreen.from_frame(frame)
    refiner = None
    if options.refine:
        from optuna_naap._refine import SpaceRefiner

        refiner = SpaceRefiner()
    return NAAPSampler(base, exhaustive=options.exhaustive, refine=refiner, prescreen=prescreen)
