"""Search-space refinement (AutoSpace): keep each position's fittest options.

Each (position, option) gets a fitness from the trials that used it: a trial's final value
when it completed, else the predictor's estimate that NAAPPruner or the pre-screen recorded
(``naap:predicted``). Refining keeps, per position and attribute, the ``keep`` fittest options,
every option still too little tried to judge, and the options of a reference scheme; the
result is a smaller :class:`~optuna_naap.SchemeSpace` inside the original one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_naap._checks import check_int
from optuna_naap._record import PREDICTED_ATTR
from optuna_naap._scheme import SchemeLike, scheme_key, scheme_to_dicts
from optuna_naap._space import PositionChoices, SchemeSpace
from optuna_naap._trial import ATTRIBUTES, trial_scheme

if TYPE_CHECKING:
    import optuna

__all__ = ["OptionFitness", "SpaceRefiner", "option_fitness", "trial_fitness"]


def trial_fitness(trial: FrozenTrial) -> float | None:
    """A trial's fitness: its final value when COMPLETE, else the latest predicted final
    (``naap:predicted``, written by NAAPPruner and SchemePrescreen), else ``None``."""
    if trial.state == TrialState.COMPLETE and trial.values:
        value = trial.values[0]
    else:
        value = trial.user_attrs.get(PREDICTED_ATTR)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True)
class OptionFitness:
    """The fitness of one option: the mean fitness of the trials whose scheme used it.

    Attributes:
        position: The block position (0-based), ``None`` for the depth.
        attribute: ``kernel_size``, ``width``, ``stride``, ``residual`` or ``depth``.
        value: The option.
        fitness: Mean fitness of the trials whose scheme used it.
        trials: How many trials used it.
    """

    position: int | None
    attribute: str
    value: Any
    fitness: float
    trials: int


def option_fitness(trials: optuna.study.Study | Iterable[FrozenTrial]) -> list[OptionFitness]:
    """Each (position, option)'s fitness over the trials (of a study) with a scheme and a
    fitness.

    Returns one entry per option seen, depth first, then by position and attribute, fittest
    first within an attribute (for a maximized value). ``pandas.DataFrame(map(dataclasses.asdict,
    option_fitness(study)))`` makes it a table.
    """
    if hasattr(trials, "get_trials"):
        trials = trials.get_trials(deepcopy=False)
    return _option_fitness(_scored(trials))


# A trial with its fitness and its scheme, each read once.
_Scored = tuple[FrozenTrial, "float | None", "list[dict[str, Any]] | None"]


def _scored(trials: Iterable[FrozenTrial]) -> list[_Scored]:
    return [(t, trial_fitness(t), trial_scheme(t)) for t in trials]


def _option_fitness(scored: list[_Scored]) -> list[OptionFitness]:
    sums: dict[tuple[int | None, str, Any], list[float]] = {}
    for _, fitness, scheme in scored:
        if scheme is None or fitness is None:
            continue
        keys: list[tuple[int | None, str, Any]] = [(None, "depth", len(scheme))]
        keys += [(i, a, block[a]) for i, block in enumerate(scheme) for a in ATTRIBUTES]
        for key in keys:
            total = sums.setdefault(key, [0.0, 0.0])
            total[0] += fitness
            total[1] += 1
    entries = [OptionFitness(p, a, v, s / n, int(n)) for (p, a, v), (s, n) in sums.items()]
    order = {a: i for i, a in enumerate(("depth", *ATTRIBUTES))}
    return sorted(
        entries,
        key=lambda e: (-1 if e.position is None else e.position, order[e.attribute], -e.fitness),
    )


class SpaceRefiner:
    """Refine a scheme space to its fittest options once enough trials have a fitness.

    Give it to :class:`~optuna_naap.NAAPSampler` (``refine=``): from the ``after_trials``-th
    trial with a fitness on (see :func:`trial_fitness`), each new sampled trial walks the
    refined space, recomputed from the study's trials as they accumulate (so every worker of a
    shared storage refines alike). Per position and attribute (kernel, width, stride,
    residual) and for the depth, it keeps the ``keep`` fittest options, every option used by
    fewer than ``min_trials`` trials (not yet judged), and the options of the reference scheme;
    while the refined space holds fewer than ``min_schemes`` schemes that no trial has run (the
    rules may even leave none), the fittest dropped options come back one by one, so a refined
    study does not train the same few schemes again and again.
    Optuna fixes a categorical's choices per name: :func:`~optuna_naap.suggest_scheme` names a
    parameter with fewer choices after them (``naap_b2_width_32``), so a refined study stays
    one study.

    The defaults (refine from the 20th trial, keep the fittest option) were chosen by replaying
    NAAP-440's training rows only (``benchmarks/space_refinement.py``; docs/refinement.md).

    Args:
        after_trials: Trials with a fitness needed before refining.
        keep: Options kept per position and attribute (and depths kept).
        min_trials: Trials an option needs before it can be dropped.
        min_schemes: Schemes not yet run that the refined space must still hold.
        reference: A scheme whose options are always kept, ``"best"`` for the study's best
            COMPLETE trial (the default), or ``None``.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPSampler, SpaceRefiner, suggest_scheme

            def objective(trial):
                scheme = suggest_scheme(trial)
                return sum(block["width"] for block in scheme)

            sampler = NAAPSampler(refine=SpaceRefiner(after_trials=20), seed=0)
            study = optuna.create_study(direction="maximize", sampler=sampler)
            study.optimize(objective, n_trials=40)
    """

    def __init__(
        self,
        *,
        after_trials: int = 20,
        keep: int = 1,
        min_trials: int = 3,
        min_schemes: int = 10,
        reference: SchemeLike | str | None = "best",
    ) -> None:
        for name, value, low in (
            ("after_trials", after_trials, 1),
            ("keep", keep, 1),
            ("min_trials", min_trials, 1),
            ("min_schemes", min_schemes, 1),
        ):
            check_int(name, value, low=low)
        if isinstance(reference, str):
            if reference != "best":
                raise ValueError(
                    f"reference must be a scheme, 'best' or None, but got {reference=}"
                )
            self.reference: list[dict[str, Any]] | str | None = reference
        elif reference is not None:
            self.reference = scheme_to_dicts(reference)
        else:
            self.reference = None
        self.after_trials = after_trials
        self.keep = keep
        self.min_trials = min_trials
        self.min_schemes = min_schemes

    def _reference(
        self, scored: list[_Scored], space: SchemeSpace, sign: float
    ) -> list[dict[str, Any]] | None:
        if self.reference != "best":
            scheme = self.reference if isinstance(self.reference, list) else None
            return scheme if scheme is not None and space.contains(scheme) else None
        done = [
            (fitness, scheme)
            for trial, fitness, scheme in scored
            if trial.state == TrialState.COMPLETE and fitness is not None and scheme is not None
        ]
        for _, scheme in sorted(done, key=lambda d: -sign * d[0]):
            if space.contains(scheme):
                return scheme
        return None

    def refine(
        self,
        space: SchemeSpace,
        trials: Iterable[FrozenTrial],
        *,
        direction: StudyDirection = StudyDirection.MAXIMIZE,
    ) -> SchemeSpace | None:
        """The refined ``space`` given the study's ``trials`` (all of them: those running count
        as run) and its ``direction``, or ``None`` before ``after_trials`` of them have a
        fitness, or when nothing is dropped in the end."""
        scored = _scored(trials)
        if sum(fitness is not None for _, fitness, _ in scored) < self.after_trials:
            return None
        sign = 1.0 if direction == StudyDirection.MAXIMIZE else -1.0
        table = {(e.position, e.attribute, e.value): e for e in _option_fitness(scored)}
        reference = self._reference(scored, space, sign)

        # Per (position, attribute) and depth: the kept options; the dropped, fittest first.
        kept: dict[tuple[int | None, str], list[Any]] = {}
        dropped: list[tuple[float, int | None, str, Any]] = []
        slots: list[tuple[int | None, str, list[Any], Any]] = [
            (None, "depth", space.feasible_depths(), len(reference) if reference else None)
        ]
        for position, choices in enumerate(space.positions):
            for attribute, options in choices.to_json().items():
                pinned = (
                    reference[position][attribute]
                    if reference and position < len(reference)
                    else None
                )
                slots.append((position, attribute, options, pinned))
        choices_of = {(where, attribute): options for where, attribute, options, _ in slots}
        for where, attribute, options, pinned in slots:
            judged = [
                o
                for o in options
                if (e := table.get((where, attribute, o))) and e.trials >= self.min_trials
            ]
            judged.sort(key=lambda o: -sign * table[(where, attribute, o)].fitness)
            keep = set(judged[: self.keep]) | (set(options) - set(judged)) | {pinned}
            kept[(where, attribute)] = [o for o in options if o in keep]
            dropped += [
                (sign * table[(where, attribute, o)].fitness, where, attribute, o)
                for o in judged[self.keep :]
                if o not in keep
            ]
        if not dropped:
            return None
        dropped.sort(key=lambda d: -d[0])
        run = {scheme_key(scheme) for _, _, scheme in scored if scheme}
        while dropped:
            refined = _build(space, kept)
            if refined is not None and _holds_unrun(refined, run, self.min_schemes):
                return refined
            # Restore the fittest dropped option, in the original order of its choices.
            _, where, attribute, option = dropped.pop(0)
            back = {*kept[(where, attribute)], option}
            kept[(where, attribute)] = [o for o in choices_of[(where, attribute)] if o in back]
        return None  # every option came back: the space itself


def _holds_unrun(space: SchemeSpace, run: set[str], count: int) -> bool:
    """Whether ``space`` holds at least ``count`` schemes whose keys are not in ``run``."""
    fresh = (s for s in space.iter_schemes() if scheme_key([b.to_json() for b in s]) not in run)
    return sum(1 for _ in itertools.islice(fresh, count)) >= count


def _build(
    space: SchemeSpace, kept: dict[tuple[int | None, str], list[Any]]
) -> SchemeSpace | None:
    """The space with only the ``kept`` options, or ``None`` when it holds no scheme."""
    depths = sorted(kept[(None, "depth")])
    positions = [
        PositionChoices(
            tuple(kept[(i, "kernel_size")]),
            tuple(kept[(i, "width")]),
            tuple(kept[(i, "stride")]),
            tuple(kept[(i, "residual")]),
        )
        for i in range(depths[-1])
    ]
    # Depths form a range in a SchemeSpace: the kept ones and any between them.
    try:
        return SchemeSpace(
            positions,
            max_stages=space.max_stages,
            min_depth=depths[0],
            consecutive_strides=space.consecutive_strides,
        )
    except ValueError:  # the kept options allow no scheme: sample the whole space
        return None
