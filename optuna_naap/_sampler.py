"""NAAPSampler: valid schemes only, choices made by any Optuna sampler, or every scheme once."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from optuna_naap._ledger import (
    HOLDING_STATES,
    MAX_FAILURES,
    Slot,
    consistent,
    held_schemes,
    param_slot,
    param_slots,
    slot_value,
)
from optuna_naap._nsga import PruningAwareNSGAIISampler
from optuna_naap._optuna import storage_of, study_id_of, trial_id_of
from optuna_naap._record import (
    DUPLICATE_ATTR,
    EXHAUSTED_ATTR,
    PLANNED_ATTR,
    REFINED_SPACE_ATTR,
    SPACE_ATTR,
)
from optuna_naap._scheme import scheme_key
from optuna_naap._space import SchemeSpace
from optuna_naap._trial import scheme_params

if TYPE_CHECKING:
    from optuna_naap._prescreen import SchemePrescreen
    from optuna_naap._refine import SpaceRefiner

__all__ = ["BASE_SAMPLERS", "EXHAUSTED_ATTR", "PLANNED_ATTR", "NAAPSampler", "base_sampler"]

#: Samplers the command line and the benchmarks choose by name: "nsga2" is NSGA-II that counts
#: pruned trials (PruningAwareNSGAIISampler), "nsga2-optuna" Optuna's own, which does not.
BASE_SAMPLERS = ("random", "tpe", "nsga2", "nsga2-optuna")


def base_sampler(name: str, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """The sampler called ``name`` (one of :data:`BASE_SAMPLERS`), seeded."""
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return PruningAwareNSGAIISampler(seed=seed)
    if name == "nsga2-optuna":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    raise ValueError(f"name must be one of {', '.join(BASE_SAMPLERS)}, but got {name=}")


#: Largest space whose schemes a sampler lists to propose only free ones (beyond it, a sampled
#: duplicate is still caught by suggest_scheme, before training).
_MAX_LISTED = 100_000


class NAAPSampler(BaseSampler):
    """An Optuna sampler whose trials are always valid schemes of a space.

    The objective samples with :func:`~optuna_naap.suggest_scheme` (as
    :class:`~optuna_naap.CIFAR10Objective` does), which only ever offers options that keep the
    scheme valid; this sampler hands every choice to ``base_sampler`` (TPE by default; Random,
    GP, CMA-ES ... work the same way) and records the space in the study's system attributes.

    With ``exhaustive=True`` it visits every scheme of a finite space once, in the space's
    enumeration order: the first trial that is not taken from Optuna's queue enqueues every
    scheme no trial holds yet (:meth:`enqueue_space`) and trains the first of them; later
    trials pop the queue, which Optuna's RDB storages hand out one trial per worker, so several
    workers on one storage share the schemes without repeats. A scheme whose trials failed
    twice is not retried. With several workers, call :meth:`enqueue_space` once before starting
    them, so that they never race to fill the queue.

    One scheme is trained at most once per study (``unique=True``, the default): a scheme that
    a waiting, running, complete or pruned trial holds is never proposed again (the base
    sampler's choice is kept where it leads to a free scheme, else a free option is drawn), so
    resumed runs and seeds that replay their sequence do not pay twice. Two workers that sample
    the same free scheme at the same moment are caught by :func:`~optuna_naap.suggest_scheme`:
    a trial that finds its scheme held by another is pruned before training, with the other's
    number in ``naap:duplicate_of``. Once every scheme is held, a new trial is marked with the
    ``naap:space_exhausted`` user attribute (:func:`~optuna_naap.suggest_scheme` then prunes it
    at once) and the optimize loop is asked to stop.

    Args:
        base_sampler: The sampler that makes the choices (default: ``TPESampler(seed=seed)``).
        space: The scheme space (default: the NAAP-440 space).
        exhaustive: Visit every scheme of the space once.
        seed: Seed of the default base sampler.
        refine: A :class:`~optuna_naap.SpaceRefiner`: from its ``after_trials``-th trial on,
            sample from the space refined to each position's fittest options (AutoSpace).
        prescreen: A :class:`~optuna_naap.SchemePrescreen`: skip a sampled scheme before its
            first epoch when a 0-epoch predictor says it cannot reach the top (or, in a
            multi-objective study, that it is dominated at its own cost).
        unique: Never train a scheme the study holds already (``False``: let the base sampler
            repeat schemes, as a plain Optuna sampler does).

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPSampler, suggest_scheme

            def objective(trial):
                return float(len(suggest_scheme(trial)))

            study = optuna.create_study(sampler=NAAPSampler(exhaustive=True))
            study.optimize(objective, n_trials=440)
            assert len({str(t.user_attrs["naap:scheme"]) for t in study.trials}) == 440
    """

    def __init__(
        self,
        base_sampler: BaseSampler | None = None,
        space: SchemeSpace | None = None,
        *,
        exhaustive: bool = False,
        seed: int | None = None,
        refine: SpaceRefiner | None = None,
        prescreen: SchemePrescreen | None = None,
        unique: bool = True,
    ) -> None:
        if base_sampler is not None and not isinstance(base_sampler, BaseSampler):
            raise ValueError(
                f"base_sampler must be an Optuna sampler, but got {type(base_sampler).__name__}"
            )
        if space is not None and not isinstance(space, SchemeSpace):
            raise ValueError(f"space must be a SchemeSpace, but got {type(space).__name__}")
        if refine is not None and not hasattr(refine, "refine"):
            raise ValueError(f"refine must be a SpaceRefiner, but got {type(refine).__name__}")
        if refine is not None and exhaustive:
            raise ValueError("refine needs sampled trials; an exhaustive sampler runs them all")
        if prescreen is not None and not hasattr(prescreen, "decide"):
            raise ValueError(
                f"prescreen must be a SchemePrescreen, but got {type(prescreen).__name__}"
            )
        if prescreen is not None and exhaustive:
            raise ValueError("prescreen skips schemes; an exhaustive sampler trains them all")
        self._base = base_sampler or optuna.samplers.TPESampler(seed=seed)
        self._refiner = refine
        self._prescreen = prescreen
        self._space = space or SchemeSpace()
        self._exhaustive = bool(exhaustive)
        self._unique = bool(unique)
        self._seed = seed
        self._schemes: list[list[dict[str, Any]]] | None = None
        self._keys: list[str] | None = None
        self._listed: bool | None = None
        # Per live trial (storage id): the free schemes, and the relative choices kept.
        self._free: dict[int, list[list[dict[str, Any]]]] = {}
        self._relative: dict[int, dict[Slot, Any]] = {}
        self._held: dict[int, str | None] = {}  # finished trials' scheme keys

    @property
    def base_sampler(self) -> BaseSampler:
        """The sampler that makes the choices."""
        return self._base

    @property
    def space(self) -> SchemeSpace:
        """The scheme space."""
        return self._space

    # -- exhaustive mode --------------------------------------------------------------------

    @property
    def unique(self) -> bool:
        """Whether a scheme the study holds is never proposed again."""
        return self._unique

    def _all_schemes(self) -> list[list[dict[str, Any]]]:
        if self._schemes is None:
            self._schemes = self._space.enumerate()
            self._keys = [scheme_key(s) for s in self._schemes]
        return self._schemes

    def _listable(self) -> bool:
        """Whether the space is small enough to list its free schemes for every trial."""
        if self._listed is None:
            count = sum(1 for _ in itertools.islice(self._space.iter_schemes(), _MAX_LISTED + 1))
            self._listed = count <= _MAX_LISTED
        return self._listed

    def _missing(
        self, study: optuna.study.Study, *, exclude: int | None = None
    ) -> list[list[dict[str, Any]]]:
        """Free schemes: no trial but ``exclude`` holds them, nor did they fail MAX_FAILURES
        times (see ``_ledger``)."""
        held, failures = held_schemes(
            study.get_trials(deepcopy=False), self._from_params, exclude=exclude, cache=self._held
        )
        schemes = self._all_schemes()
        assert self._keys is not None
        return [
            s
            for s, key in zip(schemes, self._keys, strict=True)
            if key not in held and failures.get(key, 0) < MAX_FAILURES
        ]

    def _from_params(self, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        by_params = getattr(self, "_by_params", None)
        if by_params is None:
            by_params = {
                json.dumps(scheme_params(s, self._space), sort_keys=True): s
                for s in self._all_schemes()
            }
            self._by_params = by_params
        return by_params.get(json.dumps(params, sort_keys=True))

    def enqueue_space(self, study: optuna.study.Study) -> int:
        """Enqueue every scheme of the space that no trial of ``study`` holds; return how many.

        Run it once before starting several workers on one storage.
        """
        missing = self._missing(study)
        for scheme in missing:
            study.enqueue_trial(scheme_params(scheme, self._space), skip_if_exists=False)
        return len(missing)

    # -- refinement and pre-screen -------------------------------------------------------------

    def refined_space(self, study: optuna.study.Study) -> SchemeSpace | None:
        """The space a new sampled trial of ``study`` would walk now (``None``: unrefined)."""
        if self._refiner is None:
            return None
        trials = study.get_trials(deepcopy=False)
        return self._refiner.refine(self._space, trials, direction=study.direction)

    def screen(self, trial: optuna.trial.Trial, scheme: list[dict[str, Any]]) -> None:
        """Pre-screen ``scheme`` for the live ``trial``
        (:func:`~optuna_naap.record.screen_scheme`).

        Raises:
            optuna.TrialPruned: when the pre-screen says it cannot reach the top.
        """
        if self._prescreen is None:
            return
        decision = self._prescreen.decide(trial.study, trial, scheme)
        if decision["verdict"] == "pruned":
            raise optuna.TrialPruned(f"pre-screen: {decision['reason']}")

    # -- the sampler interface ----------------------------------------------------------------

    def before_trial(self, study: optuna.study.Study, trial: FrozenTrial) -> None:
        storage_of(study).set_trial_system_attr(
            trial_id_of(trial), SPACE_ATTR, self._space.to_json()
        )
        sampled = not trial.system_attrs.get("fixed_params")
        free: list[list[dict[str, Any]]] | None = None
        if sampled and (self._exhaustive or (self._unique and self._listable())):
            free = self._missing(study, exclude=trial_id_of(trial))
            if not free:
                storage_of(study).set_trial_user_attr(trial_id_of(trial), EXHAUSTED_ATTR, True)
                trial.user_attrs[EXHAUSTED_ATTR] = True  # what the live trial reads
                with contextlib.suppress(RuntimeError):  # outside optimize(): nothing to stop
                    study.stop()
            elif self._exhaustive:
                first, rest = free[0], free[1:]
                params = scheme_params(first, self._space)
                # Planned as if enqueued: Optuna reads "fixed_params" from the frozen trial it
                # passed here, once this returns; the storage keeps it for other processes.
                for key, value in ((PLANNED_ATTR, first), ("fixed_params", params)):
                    storage_of(study).set_trial_system_attr(trial_id_of(trial), key, value)
                    trial.system_attrs[key] = value
                for scheme in rest:
                    study.enqueue_trial(scheme_params(scheme, self._space), skip_if_exists=False)
        if self._refiner is not None and sampled:
            refined = self.refined_space(study)
            if refined is not None and free is not None:
                inside = [s for s in free if refined.contains(s)]
                # Every scheme of the refined space is held: sample the whole space instead.
                refined, free = (refined, inside) if inside else (None, free)
            if refined is not None:
                # Read by suggest_scheme from the frozen trial the live trial holds.
                data = refined.to_json()
                storage_of(study).set_trial_system_attr(
                    trial_id_of(trial), REFINED_SPACE_ATTR, data
                )
                trial.system_attrs[REFINED_SPACE_ATTR] = data
        if free and not self._exhaustive:
            self._free[trial_id_of(trial)] = free
        self._base.before_trial(study, trial)

    # -- proposing free schemes only -------------------------------------------------------

    def _kept_relative(
        self, free: list[list[dict[str, Any]]], params: dict[str, Any]
    ) -> dict[str, Any]:
        """The relative choices that still lead to a free scheme (all of them if they can)."""
        wanted = param_slots(params)
        if not wanted or any(consistent(s, wanted) for s in free):
            return params

        def agreement(scheme: list[dict[str, Any]]) -> int:
            return sum(consistent(scheme, {slot: v}) for slot, v in wanted.items())

        nearest = max(free, key=agreement)
        kept: dict[str, Any] = {}
        for name, value in params.items():
            slot = param_slot(name)
            if slot is None or consistent(nearest, {slot: value}):
                kept[name] = value
        return kept

    def _free_option(
        self, trial: FrozenTrial, slot: Slot, choices: Sequence[Any], proposed: Any
    ) -> Any:
        """``proposed`` where it keeps a free scheme reachable, else a free option."""
        free = self._free.get(trial_id_of(trial))
        if free is None:
            return proposed
        taken = param_slots(trial.params)
        free = [s for s in free if consistent(s, taken)]
        if not free:  # the objective samples another (or refined) space: suggest_scheme checks
            return proposed
        self._free[trial_id_of(trial)] = free  # narrowed as the choices are made
        relative = dict(self._relative.get(trial_id_of(trial), {}))
        relative.pop(slot, None)
        options: list[Any] = []
        for constraints in (relative, {}):
            reachable = {slot_value(s, slot) for s in free if consistent(s, constraints)}
            options = [c for c in choices if c in reachable]
            if options:
                break
        if not options or proposed in options:
            return proposed
        wanted = self._relative.get(trial_id_of(trial), {}).get(slot)
        if wanted in options:
            return wanted
        # Seeded by the trial's number: reproducible, and different for concurrent workers.
        rng = np.random.RandomState([self._seed or 0, trial.number])
        return options[rng.randint(len(options))]

    def infer_relative_search_space(
        self, study: optuna.study.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if trial.system_attrs.get(PLANNED_ATTR) is not None:
            return {}
        return self._base.infer_relative_search_space(study, trial)

    def sample_relative(
        self,
        study: optuna.study.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        params = self._base.sample_relative(study, trial, search_space)
        free = self._free.get(trial_id_of(trial))
        if free is None or not params:
            return params
        kept = self._kept_relative(free, params)
        self._relative[trial_id_of(trial)] = param_slots(kept)
        return kept

    def sample_independent(
        self,
        study: optuna.study.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        planned = trial.system_attrs.get(PLANNED_ATTR)
        if planned is not None:
            params = scheme_params(planned, self._space)
            if param_name in params:
                return params[param_name]
        proposed = self._base.sample_independent(study, trial, param_name, param_distribution)
        slot = param_slot(param_name)
        choices = getattr(param_distribution, "choices", None)
        if slot is None or choices is None:
            return proposed
        return self._free_option(trial, slot, choices, proposed)

    def after_trial(
        self,
        study: optuna.study.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._free.pop(trial_id_of(trial), None)
        self._relative.pop(trial_id_of(trial), None)
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._base.reseed_rng()

    # -- the duplicate check of suggest_scheme ---------------------------------------------

    def claim(self, trial: optuna.trial.Trial, scheme: list[dict[str, Any]]) -> None:
        """Prune the live ``trial`` before training if another trial of its study holds
        ``scheme`` (two workers that sampled it at once both see the other and yield, so it is
        never trained twice; it stays free for a later trial). A no-op with ``unique=False``.

        Raises:
            optuna.TrialPruned: when another trial holds the scheme.
        """
        if not self._unique:
            return
        study = trial.study
        key = scheme_key(scheme)
        others = storage_of(study).get_all_trials(
            study_id_of(study), deepcopy=False, states=HOLDING_STATES
        )
        held, _ = held_schemes(
            others, self._from_params, exclude=trial_id_of(trial), cache=self._held
        )
        holder = held.get(key)
        if holder is not None:
            trial.set_user_attr(DUPLICATE_ATTR, holder)
            raise optuna.TrialPruned(
                f"trial {holder} holds this scheme already; not trained twice in one study"
            )
