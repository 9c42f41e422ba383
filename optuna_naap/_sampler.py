"""NAAPSampler: valid schemes only, choices made by any Optuna sampler, or every scheme once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from optuna_naap._record import EXHAUSTED_ATTR, PLANNED_ATTR, REFINED_SPACE_ATTR, SPACE_ATTR
from optuna_naap._scheme import scheme_key
from optuna_naap._space import SchemeSpace
from optuna_naap._trial import scheme_params, trial_scheme

if TYPE_CHECKING:
    from optuna_naap._prescreen import SchemePrescreen
    from optuna_naap._refine import SpaceRefiner

__all__ = ["EXHAUSTED_ATTR", "PLANNED_ATTR", "NAAPSampler"]

#: Failed attempts after which an exhaustive sampler stops retrying a scheme.
_MAX_FAILURES = 2


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
    twice is not retried. Once every scheme has run, a new trial is marked with the
    ``naap:space_exhausted`` user attribute (:func:`~optuna_naap.suggest_scheme` then prunes it
    at once) and the optimize loop is asked to stop. With several workers, call
    :meth:`enqueue_space` once before starting them, so that they never race to fill the queue.

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
        self._schemes: list[list[dict[str, Any]]] | None = None

    @property
    def space(self) -> SchemeSpace:
        """The scheme space."""
        return self._space

    # -- exhaustive mode --------------------------------------------------------------------

    def _all_schemes(self) -> list[list[dict[str, Any]]]:
        if self._schemes is None:
            self._schemes = self._space.enumerate()
        return self._schemes

    def _missing(self, study: optuna.study.Study) -> list[list[dict[str, Any]]]:
        """Schemes no trial holds (running, waiting, finished) nor failed twice."""
        held: set[str] = set()
        failures: dict[str, int] = {}
        for trial in study.get_trials(deepcopy=False):
            # A popped trial holds its scheme before its objective records it.
            scheme = trial_scheme(trial) or trial.system_attrs.get(PLANNED_ATTR)
            fixed = trial.system_attrs.get("fixed_params")
            if scheme is None and fixed:
                scheme = self._from_params(fixed)
            if scheme is None:
                continue
            key = scheme_key(scheme)
            if trial.state == TrialState.FAIL:
                failures[key] = failures.get(key, 0) + 1
            else:
                held.add(key)
        return [
            s
            for s in self._all_schemes()
            if scheme_key(s) not in held and failures.get(scheme_key(s), 0) < _MAX_FAILURES
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
        study._storage.set_trial_system_attr(trial._trial_id, SPACE_ATTR, self._space.to_json())
        if self._refiner is not None and not trial.system_attrs.get("fixed_params"):
            refined = self.refined_space(study)
            if refined is not None:
                # Read by suggest_scheme from the frozen trial the live trial holds.
                data = refined.to_json()
                study._storage.set_trial_system_attr(trial._trial_id, REFINED_SPACE_ATTR, data)
                trial.system_attrs[REFINED_SPACE_ATTR] = data
        if self._exhaustive and not trial.system_attrs.get("fixed_params"):
            missing = self._missing(study)
            if not missing:
                study._storage.set_trial_user_attr(trial._trial_id, EXHAUSTED_ATTR, True)
                trial.user_attrs[EXHAUSTED_ATTR] = True  # what the live trial reads
                with contextlib.suppress(RuntimeError):  # outside optimize(): nothing to stop
                    study.stop()
            else:
                first, rest = missing[0], missing[1:]
                params = scheme_params(first, self._space)
                # Planned as if enqueued: Optuna reads "fixed_params" from the frozen trial it
                # passed here, once this returns; the storage keeps it for other processes.
                for key, value in ((PLANNED_ATTR, first), ("fixed_params", params)):
                    study._storage.set_trial_system_attr(trial._trial_id, key, value)
                    trial.system_attrs[key] = value
                for scheme in rest:
                    study.enqueue_trial(scheme_params(scheme, self._space), skip_if_exists=False)
        self._base.before_trial(study, trial)

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
        return self._base.sample_relative(study, trial, search_space)

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
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.study.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._base.reseed_rng()
