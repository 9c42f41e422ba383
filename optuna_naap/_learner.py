"""StudyLearner: the part of NAAPPruner that learns from the study it prunes (any objective).

Two rules, either of which prunes:

* a floor, Optuna's MedianPruner rule (by default): a trial whose best value so far is worse
  than the median of the completed trials' values at the same step is pruned;
* a learnt rule at checkpoints of training (10%, 25% and 50% of the steps the completed trials
  reached): a :class:`~optuna_naap.StudyPredictor` fit on the study's completed trials predicts
  the trial's final value; when even that prediction plus a margin (a quantile of the model's
  out-of-fold errors) cannot reach the ``top_k``-th best final, the trial is pruned, unless its
  best value so far is among the ``top_k`` best of the completed trials at that step.

With ``risk`` (0.075 by default), each rule prunes only where the study's own completed trials
say it can be trusted (:mod:`optuna_naap._trust`): the floor from the first step after which
the chance of pruning a trial that would end among the study's best stays within ``risk``
(from the rank correlation of best-so-far values with finals; before, the bottom quarter where
that chance is), the learnt rule where the same chance, for the trial it judges, is within it
on its model's out-of-fold predictions.

The learnt models, a cache of the storage per storage object and study, are refit as more
trials complete: geometrically in their count, or within ``time_share`` of the study's time.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._checks import check_int
from optuna_naap._floor import floor_decision
from optuna_naap._optuna import storage_of, study_id_of
from optuna_naap._record import keep_rule, new_decision
from optuna_naap._study_predictor import StudyPredictor
from optuna_naap._trust import (
    DEFAULT_WARMUP,
    TRUST_MIN_TRIALS,
    FloorTrust,
    checkpoint_steps,
    floor_trust,
    judged_trust,
    learnt_rule_trust,
    overruled_by_step,
    untrusted_reason,
)

if TYPE_CHECKING:
    import optuna

    from optuna_naap._predictor import NAAPPredictor

__all__ = ["StudyLearner", "checkpoint_steps"]

#: A first fit's cost before one was timed (seconds), for the time budget, by model.
_FIRST_FIT_GUESS = {"ridge": 0.01, "catboost": 0.5}


@dataclass
class _StudyState:
    """What one study's learner has learnt (a cache of the storage)."""

    checkpoints: list[int] = field(default_factory=list)
    checkpoints_from: int = -1
    models: dict[int, StudyPredictor] = field(default_factory=dict)
    #: By checkpoint: the learnt rule's margin, and its replay on out-of-fold predictions.
    margins: dict[int, float] = field(default_factory=dict)
    model_trust: dict[int, dict[str, Any]] = field(default_factory=dict)
    floor: FloorTrust | None = None
    floor_from: int = -1
    fitted_on: int = 0
    fit_seconds: float = 0.0
    last_fit_seconds: float = 0.0
    note: str = ""


class StudyLearner:
    """How :class:`~optuna_naap.NAAPPruner` judges trials it has no NAAP-440 predictor for.

    Give it to ``NAAPPruner(learn=StudyLearner(...))`` to change the defaults; ``NAAPPruner()``
    uses ``StudyLearner()``.

    Args:
        checkpoints: Fractions of training (of the median last step of completed trials) at
            which the learnt rule decides; a trial is judged at the first step it reports at or
            past each of them.
        top_k: A trial is kept while it can plausibly reach the ``top_k``-th best final of the
            study's completed trials.
        confidence: Quantile of the model's out-of-fold errors used as the margin: a trial is
            pruned when its chance of reaching the bar, judged by those errors, is below
            ``1 - confidence``.
        min_trials: Completed trials needed before the first model is fit.
        growth: Refit when the completed trials have grown by this factor since the last fit.
        time_share: ``None`` (the default): refits come only by completed-trial counts
            (``growth``), so the same trials give the same decisions on any machine. A share
            of the study's elapsed time (since its first completed trial started) caps fitting
            instead: refits wait while over it (cheaper on fast objectives, but decisions then
            depend on the machine's speed).
        floor_percentile: The floor rule's percentile (50: Optuna's MedianPruner; 25 prunes
            more, 75 less); ``None`` for no floor.
        n_startup_trials: Completed trials before the floor rule prunes (as MedianPruner).
        n_warmup_steps: Steps of a trial before the floor rule prunes (as MedianPruner); the
            measured warm-up (``risk``) may be later.
        risk: The largest chance, measured on the study's completed trials, that a rule prunes
            a trial that would end among the study's best (the ``max(top_k, 10%)`` best by final
            value): the floor prunes from the first step after which every step's chance is
            within it (rank correlation of best-so-far values with finals; before that step,
            the bottom quarter where that chance is), the learnt rule where the chance on its
            model's out-of-fold predictions is. Below 10 completed trials the floor waits for 20%
            of training. The default 0.075 kept 0.9-0.97 of NAAP-440's 10 best, and the suite's
            best within 0.5% of no pruning (docs/own_objective.md). ``None``: both rules prune
            from the first step (cheaper; loses the best wherever MedianPruner does).
        prior: A fitted :class:`~optuna_naap.NAAPPredictor` whose prediction is one more
            feature of the learnt model (transfer of NAAP-440 to a study of schemes trained
            with another recipe or data).
        predictor_options: Keyword arguments of each :class:`~optuna_naap.StudyPredictor`.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPPruner, StudyLearner

            pruner = NAAPPruner(learn=StudyLearner(top_k=10, confidence=0.95))
            study = optuna.create_study(direction="minimize", pruner=pruner)
    """

    def __init__(
        self,
        *,
        checkpoints: Sequence[float] = (0.1, 0.25, 0.5),
        top_k: int = 3,
        confidence: float = 0.8,
        min_trials: int = 5,
        growth: float = 1.25,
        time_share: float | None = None,
        floor_percentile: float | None = 50.0,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        risk: float | None = 0.075,
        prior: NAAPPredictor | None = None,
        predictor_options: dict[str, Any] | None = None,
    ) -> None:
        fractions = [float(f) for f in checkpoints]
        if not all(0 < f < 1 for f in fractions):
            raise ValueError(f"checkpoints must be fractions in (0, 1), but got {checkpoints=}")
        check_int("top_k", top_k, low=1)
        if not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
            raise ValueError(f"confidence must be in [0, 1], but got {confidence=}")
        check_int("min_trials", min_trials, low=4)
        if not isinstance(growth, (int, float)) or not growth > 1:
            raise ValueError(f"growth must be > 1, but got {growth=}")
        if time_share is not None and not (
            isinstance(time_share, (int, float)) and 0 < time_share <= 1
        ):
            raise ValueError(f"time_share must be in (0, 1] or None, but got {time_share=}")
        if floor_percentile is not None and not 0 <= floor_percentile <= 100:
            raise ValueError(
                f"floor_percentile must be in [0, 100] or None, but got {floor_percentile=}"
            )
        for name, value in (
            ("n_startup_trials", n_startup_trials),
            ("n_warmup_steps", n_warmup_steps),
        ):
            check_int(name, value, low=0)
        if risk is not None and not (isinstance(risk, (int, float)) and 0 <= risk < 1):
            raise ValueError(f"risk must be in [0, 1) or None, but got {risk=}")
        if prior is not None and not hasattr(prior, "components_"):
            raise ValueError("prior must be a fitted NAAPPredictor")
        StudyPredictor(0, **dict(predictor_options or {}))  # validates the options now
        self.checkpoints = tuple(sorted(set(fractions)))
        self.top_k = top_k
        self.confidence = float(confidence)
        self.min_trials = min_trials
        self.growth = float(growth)
        self.time_share = None if time_share is None else float(time_share)
        self.floor_percentile = floor_percentile
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.risk = None if risk is None else float(risk)
        self.prior = prior
        #: How decision records name the prior.
        self.prior_label = "a NAAPPredictor" if prior is not None else ""
        self.predictor_options = dict(predictor_options or {})
        # Keyed by the storage object (weakly: a new in-memory study never meets an old
        # study's models, however its ids are numbered) and then by study id.
        self._states: weakref.WeakKeyDictionary[Any, dict[int, _StudyState]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.RLock()

    def __getstate__(self) -> dict[str, Any]:
        # Learnt models are a cache: a copy (another process) starts without them.
        state = self.__dict__.copy()
        del state["_states"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._states = weakref.WeakKeyDictionary()
        self._lock = threading.RLock()

    def with_prior(self, prior: NAAPPredictor, *, label: str) -> StudyLearner:
        """A learner with the same settings whose model also takes ``prior``'s prediction as a
        feature (named ``label`` in the decision records), with nothing learnt yet."""
        clone = StudyLearner.__new__(StudyLearner)
        clone.__setstate__({**self.__getstate__(), "prior": prior, "prior_label": label})
        return clone

    # -- state ------------------------------------------------------------------------------

    def _state(self, study: optuna.study.Study) -> _StudyState:
        storage = storage_of(study)
        with self._lock:
            per_study = self._states.setdefault(storage, {})
            return per_study.setdefault(study_id_of(study), _StudyState())

    def models(self, study: optuna.study.Study) -> dict[int, StudyPredictor]:
        """The models learnt so far for ``study``, by checkpoint step (empty before any)."""
        return dict(self._state(study).models)

    def _usable(self, done: Sequence[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
        return [
            t for t in done if t.values and math.isfinite(t.values[0]) and t.intermediate_values
        ]

    def _margin(self, model: StudyPredictor, maximize: bool) -> float:
        """The ``confidence`` quantile of how much better than predicted trials ended."""
        errors = (1.0 if maximize else -1.0) * model.cv_residuals_
        return float(np.quantile(errors, self.confidence)) if self.confidence else 0.0

    def _refresh(
        self, state: _StudyState, usable: list[optuna.trial.FrozenTrial], maximize: bool
    ) -> None:
        """Refit when due and within the time budget; keep the last good models otherwise."""
        n = len(usable)
        if n < self.min_trials:
            state.note = f"learning from the study: {n} of {self.min_trials} trials completed"
            return
        if state.models and n < math.ceil(state.fitted_on * self.growth):
            return
        starts = [t.datetime_start for t in usable if t.datetime_start is not None]
        elapsed = (datetime.now() - min(starts)).total_seconds() if starts else 0.0
        guess = (
            state.last_fit_seconds * n / max(state.fitted_on, 1)
            if state.fitted_on
            else _FIRST_FIT_GUESS[self.predictor_options.get("model", "ridge")]
        )
        if self.time_share is not None and state.fit_seconds + guess > self.time_share * elapsed:
            if not state.models:
                state.note = (
                    f"learning from the study: waiting for the time budget "
                    f"(time_share={self.time_share:g} of {elapsed:.1f} s)"
                )
            return
        started = time.perf_counter()
        checkpoints = checkpoint_steps(usable, self.checkpoints)
        models: dict[int, StudyPredictor] = {}
        failure = ""
        for step in checkpoints:
            try:
                models[step] = StudyPredictor(
                    step, prior=self.prior, **self.predictor_options
                ).fit(usable)
            except ValueError as exc:
                failure = str(exc)
        seconds = time.perf_counter() - started
        state.fit_seconds += seconds
        state.last_fit_seconds = seconds
        state.fitted_on = n
        if models:
            state.checkpoints, state.models = checkpoints, models
            state.margins = {step: self._margin(m, maximize) for step, m in models.items()}
            state.model_trust = {}  # measured only when a risk budget uses it
            for step, model in models.items() if self.risk is not None else ():
                state.model_trust[step] = learnt_rule_trust(
                    model, margin=state.margins[step], top_k=self.top_k, maximize=maximize
                )
            state.note = ""
        elif not state.models:
            state.note = f"learning from the study: {failure or 'no checkpoint to learn at'}"

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """Judge ``trial`` of ``study`` at its last step, given ``bound``, the decision
        already recorded on it (or ``None``); return a decision to record, or ``None`` when
        there is nothing new to say (kept).

        The record counts steps, not epochs: ``step`` (``epoch`` holds the same number, the
        key older readers use) and ``unit: "step"``."""
        decision = self._decide(study, trial, bound)
        if decision is not None:
            decision.update(step=decision["epoch"], unit="step")
        return decision

    def _decide(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        step = trial.last_step
        if step is None:
            return None
        maximize = study.direction == StudyDirection.MAXIMIZE
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        decision: dict[str, Any] | None = None
        with self._lock:
            state = self._state(study)
            if not state.models and state.checkpoints_from != len(done):
                # Before the first model, know where the checkpoints lie (few trials: cheap).
                state.checkpoints = checkpoint_steps(self._usable(done), self.checkpoints)
                state.checkpoints_from = len(done)
            reached = [c for c in state.checkpoints if c <= step]
            if reached and (bound is None or (bound.get("epoch") or -1) < reached[-1]):
                # A checkpoint the trial has not been judged at: (re)learn when due, then judge.
                self._refresh(state, self._usable(done), maximize)
                reached = [c for c in state.checkpoints if c <= step]
                if reached:
                    decision = self._learnt_rule(state, trial, reached[-1], done, maximize)
        if decision is not None and decision["verdict"] == "pruned":
            return decision
        floor = self._floor(study, trial, step, done, maximize)
        if floor is not None:
            return floor
        return decision

    def _learnt_rule(
        self,
        state: _StudyState,
        trial: optuna.trial.FrozenTrial,
        checkpoint: int,
        done: Sequence[optuna.trial.FrozenTrial],
        maximize: bool,
    ) -> dict[str, Any]:
        decision = new_decision(checkpoint, trial=trial)
        model = state.models.get(checkpoint)
        if model is None:
            decision["reason"] = state.note or "learning from the study"
            return decision
        mean, spread = model.predict_with_uncertainty([trial])
        predicted = float(mean[0])
        sign = 1.0 if maximize else -1.0
        errors = sign * model.cv_residuals_  # how much better than predicted trials ended
        margin = state.margins[checkpoint]
        finals = np.array([t.values[0] for t in done if t.values], dtype="float64")
        finals = np.sort(sign * finals[np.isfinite(finals)])[::-1]
        decision.update(
            # The model is refit now and then (x1.25 completed trials): it may have been fit on
            # fewer trials than the finals known now.
            predictor=(
                f"study + prior (fit on {model.n_train_trials_} completed trials)"
                if model.uses_prior_
                else f"study (fit on {model.n_train_trials_} completed trials)"
            ),
            predicted=predicted,
            std=float(spread[0]),
            margin=margin,
            known_finals=len(finals),
        )
        if model.uses_prior_:
            decision["prior"] = self.prior_label
        if len(finals) < self.top_k:
            decision["reason"] = f"startup: {len(finals)} known finals, top_k={self.top_k} needed"
            return decision
        threshold = sign * float(finals[self.top_k - 1])
        # The chance, judged by the model's own out-of-fold errors, of ending past the bar.
        decision["p_reach"] = float(np.mean(errors >= sign * (threshold - predicted)))
        trust = state.model_trust.get(checkpoint)
        if trust is not None and self.risk is not None:
            trust = judged_trust(trust, model, predicted, top_k=self.top_k, maximize=maximize)
            decision["trust"] = trust
            untrusted = untrusted_reason(trust, checkpoint, risk=self.risk, top_k=self.top_k)
            if untrusted:
                decision["reason"] = untrusted
                return decision
        hopeless = keep_rule(
            decision,
            predicted=predicted,
            margin=margin,
            threshold=threshold,
            maximize=maximize,
            bar=f"top-{self.top_k}",
            known=len(finals),
            prefix=f"at step {checkpoint}: ",
        )
        if hopeless:
            overruled_by_step(decision, trial, checkpoint, done, top_k=self.top_k, sign=sign)
        return decision

    def _floor_trust(
        self, study: optuna.study.Study, done: Sequence[optuna.trial.FrozenTrial], maximize: bool
    ) -> FloorTrust:
        """The floor's trusted warm-up, replayed on the completed trials (cached by their
        count; past 100 trials, refreshed every 2% more)."""
        assert self.floor_percentile is not None and self.risk is not None
        with self._lock:
            state = self._state(study)
            n, last = len(done), state.floor_from
            if state.floor is None or (n != last and (n <= 100 or n >= last + n // 50)):
                usable = self._usable(done)
                default = checkpoint_steps(usable, (DEFAULT_WARMUP,))
                state.floor = floor_trust(
                    usable,
                    percentile=100 - self.floor_percentile,  # in maximize terms
                    top_k=self.top_k,
                    maximize=maximize,
                    risk=self.risk,
                    min_trials=TRUST_MIN_TRIALS,
                    default_warmup=default[0] if default else None,
                )
                state.floor_from = n
            return state.floor

    def _floor(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        step: int,
        done: Sequence[optuna.trial.FrozenTrial],
        maximize: bool,
    ) -> dict[str, Any] | None:
        """:func:`~optuna_naap._floor.floor_decision` with this learner's settings."""
        if self.floor_percentile is None or not done or len(done) < self.n_startup_trials:
            return None
        if step < self.n_warmup_steps:
            return None
        return floor_decision(
            trial,
            step,
            done,
            maximize=maximize,
            percentile=self.floor_percentile,
            trust=None if self.risk is None else lambda: self._floor_trust(study, done, maximize),
        )
