"""NAAPPruner: predict a trial's final value early and prune the trials that cannot reach the
top of the study."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection

from optuna_naap._learner import StudyLearner
from optuna_naap._nsga import warn_if_generations_stall
from optuna_naap._optuna import storage_of, study_id_of, trial_id_of
from optuna_naap._pareto import ParetoObjectives
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._record import DECISION_ATTR, bound_decision, new_decision, record_decision
from optuna_naap._rule import SchemeRule
from optuna_naap._task import NAAP440_DATA, describe_task
from optuna_naap._transfer import PACKAGED_PRIOR, TRANSFER_LEARNER, packaged_prior
from optuna_naap._trial import latest_epoch, recorded_scheme

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DECISION_ATTR", "NAAPPruner"]

#: Keywords NAAPPruner took before 0.2 that configure only the NAAP-440 rule: now
#: :class:`~optuna_naap.SchemeRule`'s (accepted with a FutureWarning until 0.3).
_RULE_KEYWORDS = (
    "max_epochs",
    "top_k",
    "top_fraction",
    "n_startup_trials",
    "confidence",
    "uncertainty",
    "reference_values",
    "pareto_references",
    "data",
)


class NAAPPruner(BasePruner):
    """Prune a trial whose predicted final value cannot reach the top of the study.

    ``NAAPPruner()`` is a drop-in pruner for any Optuna objective that reports intermediate
    values (any step numbering from 0 or 1, any interval, gaps, out of order; maximize or
    minimize). Each trial is judged in one of three modes, named in its decision record
    (``mode``):

    * ``"naap440"``: a scheme trial of the ``rule``'s own task (NAAP-440: CIFAR-10, the NAAP
      recipe, 90 epochs) is judged by the :class:`~optuna_naap.SchemeRule`: its predicted
      final accuracy plus a margin against the top of the known finals
      (:meth:`from_frame` / :meth:`from_study` fit one).
    * ``"transfer"``: a scheme trial of another task (other data, recipe or epochs, none
      declared; :func:`~optuna_naap.record_task`), or any scheme trial without a rule, is
      judged by ``learn`` with a NAAP-440 prior as one more feature of its model, calibrated
      on the study's own completed trials; the references are the study's own finals only
      (docs/transfer.md).
    * ``"study"``: any other trial is judged by ``learn`` (a
      :class:`~optuna_naap.StudyLearner`): the MedianPruner rule, and at checkpoints a
      model of the study's own completed trials that prunes a trial which cannot plausibly
      reach the study's top, each only where the study's trials say it can be trusted.
      ``learn=False`` keeps such trials (and says why).

    Once a trial is pruned it stays pruned: later steps answer ``True`` too, as Optuna's
    pruners do. Every decision is written to the trial's user attributes: ``naap:decision``
    (JSON: epoch, mode, predictor, predicted final, std, margin, threshold, verdict, reason,
    and the trial it judged) and the flat ``naap:epoch``, ``naap:predicted``,
    ``naap:threshold`` and ``naap:verdict`` (sortable columns in optuna-dashboard). Decisions
    depend only on what the storage holds and the completed-trial counts, so several workers on
    one RDB storage agree and the same seeds give the same decisions; learnt models are a
    per-process cache of the storage.

    **Multi-objective studies** (accuracy against MACs, parameters, a measured latency; see
    :mod:`optuna_naap.pareto`): ask :func:`~optuna_naap.should_prune` instead of
    ``trial.should_prune()`` (which Optuna refuses there). The rule prunes a trial whose
    predicted accuracy plus the margin would be dominated by the study's front at its own exact
    cost; other trials are kept, with the reason.

    Args:
        rule: The NAAP-440 rule (:class:`~optuna_naap.SchemeRule`), or ``None``.
        learn: ``True`` (a default :class:`~optuna_naap.StudyLearner`), a StudyLearner, or
            ``False`` to judge only the rule's trials.
        transfer: How a scheme trial of another task than the rule's (or any, without a rule)
            is judged. ``True``: transfer mode, with the prior fit once per process on the
            packaged NAAP-440 training rows (architecture only, :func:`packaged_prior`) for
            NAAP-440's rule or none, or the rule's earliest predictor for a rule of another
            task; with ``learn=True`` the learner has :data:`TRANSFER_LEARNER`'s settings (no
            MedianPruner floor, a top-10 bar at confidence 0.95: nothing is pruned before 5
            trials have completed), a given StudyLearner keeps its own. A fitted
            :class:`~optuna_naap.NAAPPredictor`: that prior. ``False``: the learner alone.
        **deprecated: The rule's options as NAAPPruner took them before 0.2
            (``NAAPPruner(predictor, max_epochs=..., top_k=...)``): accepted with a
            FutureWarning until 0.3; they are :class:`~optuna_naap.SchemeRule`'s now.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPPruner

            def objective(trial):
                lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
                value = 0.0
                for step in range(20):
                    value = (1 - lr) * (1 - 0.8**step)
                    trial.report(value, step)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
                return value

            study = optuna.create_study(direction="maximize", pruner=NAAPPruner())
            study.optimize(objective, n_trials=30)

    Example (a NAS study of the user's own task: transfer mode):
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPPruner, record_task, report_epoch, suggest_scheme

            def objective(trial):
                scheme = suggest_scheme(trial)
                record_task(trial, "my-data", epochs=6)
                accuracy = 0.0
                for epoch in range(1, 7):
                    accuracy = 0.4 + 0.02 * epoch + 0.01 * len(scheme)  # your training here
                    report_epoch(trial, epoch, accuracy=accuracy, loss_mean=1.0, loss_median=1.0)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
                return accuracy

            study = optuna.create_study(direction="maximize", pruner=NAAPPruner())
            study.optimize(objective, n_trials=8)

    Example (NAAP-440's own task, CIFAR-10 with the NAAP recipe: its rule):
        .. code-block:: python

            import optuna
            from optuna_naap import CIFAR10Objective, NAAPPruner, load_naap440

            rows = load_naap440()
            pruner = NAAPPruner.from_frame(
                rows[rows["IsTest"] == 0],
                predictor_options={"n_models": 1, "iterations": 100},  # quick; defaults are better
            )
            study = optuna.create_study(direction="maximize", pruner=pruner)
            # study.optimize(CIFAR10Objective(), n_trials=100)  # GPU hours
    """

    def __init__(
        self,
        rule: SchemeRule | None = None,
        *,
        learn: bool | StudyLearner = True,
        transfer: bool | NAAPPredictor = True,
        **deprecated: Any,
    ) -> None:
        rule = _rule_from_deprecated(rule, deprecated)
        if rule is not None and not isinstance(rule, SchemeRule):
            raise ValueError(f"rule must be a SchemeRule or None, but got {type(rule).__name__}")
        if isinstance(transfer, NAAPPredictor):
            if not hasattr(transfer, "components_"):
                raise ValueError("transfer must be True, False or a fitted NAAPPredictor")
        elif not isinstance(transfer, bool):
            raise ValueError(
                "transfer must be True, False or a fitted NAAPPredictor, "
                f"but got {type(transfer).__name__}"
            )
        if not isinstance(learn, (bool, StudyLearner)):
            raise ValueError(
                f"learn must be True, False or a StudyLearner, but got {type(learn).__name__}"
            )
        self._rule = rule
        self._learner: StudyLearner | None = (
            StudyLearner() if learn is True else learn if isinstance(learn, StudyLearner) else None
        )
        self._default_learner = learn is True
        self._transfer = transfer
        # Transfer mode's learner (the learner with the prior as a feature): made on first need,
        # since the packaged prior costs a fit.
        self._transfer_learner: StudyLearner | None = None
        self._warned_direction = False
        # The latest decision on each running trial, by storage and trial id: the trial a
        # pruner is given is the objective's cached copy, which never sees the attributes the
        # pruner writes through the storage. A trial runs in one process, so this is enough.
        self._decided: weakref.WeakKeyDictionary[Any, dict[int, dict[str, Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self._objectives: weakref.WeakKeyDictionary[Any, dict[int, ParetoObjectives]] = (
            weakref.WeakKeyDictionary()
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_decided"], state["_objectives"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._decided = weakref.WeakKeyDictionary()
        self._objectives = weakref.WeakKeyDictionary()

    @property
    def rule(self) -> SchemeRule | None:
        """The :class:`~optuna_naap.SchemeRule` judging scheme trials of its task, or ``None``."""
        return self._rule

    @property
    def decision_epochs(self) -> list[int]:
        """The epochs at which the rule decides (empty without one)."""
        return self._rule.decision_epochs if self._rule is not None else []

    @property
    def learner(self) -> StudyLearner | None:
        """The :class:`~optuna_naap.StudyLearner` judging other trials, or ``None``."""
        return self._learner

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        learn: bool | StudyLearner = True,
        transfer: bool | NAAPPredictor = True,
        **rule_options: Any,
    ) -> NAAPPruner:
        """A pruner whose rule is fit on rows in the NAAP-440 layout.

        Args:
            frame: The rows, as
                :meth:`SchemeRule.from_frame <optuna_naap.SchemeRule.from_frame>` takes them.
            learn: As in :class:`NAAPPruner`.
            transfer: As in :class:`NAAPPruner`.
            **rule_options: Keyword arguments of
                :meth:`SchemeRule.from_frame <optuna_naap.SchemeRule.from_frame>`.
        """
        return cls(SchemeRule.from_frame(frame, **rule_options), learn=learn, transfer=transfer)

    @classmethod
    def from_study(
        cls,
        study: optuna.study.Study,
        *,
        learn: bool | StudyLearner = True,
        transfer: bool | NAAPPredictor = True,
        **rule_options: Any,
    ) -> NAAPPruner:
        """A pruner whose rule is fit on a study's COMPLETE trials.

        Args:
            study: The study to learn from (see
                :meth:`SchemeRule.from_study <optuna_naap.SchemeRule.from_study>`).
            learn: As in :class:`NAAPPruner`.
            transfer: As in :class:`NAAPPruner`.
            **rule_options: Keyword arguments of
                :meth:`SchemeRule.from_study <optuna_naap.SchemeRule.from_study>`.
        """
        return cls(SchemeRule.from_study(study, **rule_options), learn=learn, transfer=transfer)

    # -- deciding ---------------------------------------------------------------------------

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        multi = len(study.directions) > 1
        if (trial.last_step if not multi else latest_epoch(trial)) is None:
            return False
        decided = self._decided.setdefault(storage_of(study), {})
        bound = decided.get(trial_id_of(trial)) or bound_decision(trial)
        if bound is not None and bound.get("verdict") == "pruned":
            return True  # once pruned, pruned at every later step
        if multi:
            decision = self._pareto(study, trial, bound)
        else:
            maximize = study.direction == StudyDirection.MAXIMIZE
            decision = self._single(study, trial, bound, maximize)
        if decision is None:
            return False
        record_decision(storage_of(study), trial_id_of(trial), decision)
        decided[trial_id_of(trial)] = decision
        if decision["verdict"] == "pruned":
            warn_if_generations_stall(study.sampler)
        return decision["verdict"] == "pruned"

    def _pareto(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """A multi-objective study: the Pareto rule on recorded schemes, else kept."""
        # The objectives' names are a storage read: once per study and process.
        known = self._objectives.setdefault(storage_of(study), {})
        objectives = known.get(study_id_of(study))
        if objectives is None:
            objectives = known[study_id_of(study)] = ParetoObjectives.of_study(study)
        scheme = recorded_scheme(trial) if self._rule is not None else None
        mismatch = self._rule.mismatch(trial, scheme) if self._rule and scheme else None
        if self._rule is not None and scheme is not None and mismatch is None:
            return self._rule.decide(study, trial, bound, objectives)
        if bound is not None:
            return None
        decision = new_decision(int(latest_epoch(trial) or 0), trial=trial)
        decision["reason"] = (
            f"multi-objective: kept; the trial's task ({mismatch}) is not the knowledge's "
            f"({self._knowledge()}), whose finals and predictions are not on its scale"
            if mismatch is not None
            else "multi-objective: NAAPPruner judges schemes recorded with suggest_scheme and "
            "report_epoch, with NAAP-440 predictors (NAAPPruner.from_frame)"
            if self._rule is None
            else "multi-objective: no scheme and losses recorded (use suggest_scheme and "
            "report_epoch)"
        )
        return decision

    def _single(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
        maximize: bool,
    ) -> dict[str, Any] | None:
        scheme = recorded_scheme(trial) if maximize else None
        if scheme is None:
            if self._learner is not None:
                decision = self._learner.decide(study, trial, bound)
                if decision is not None:
                    decision["mode"] = "study"
                return decision
            return self._unjudged(study, trial, bound, maximize)
        mismatch = self._rule.mismatch(trial, scheme) if self._rule is not None else None
        if self._rule is not None and mismatch is None:
            decision = self._rule.decide(study, trial, bound)
            if decision is not None:
                decision["mode"] = "naap440"
            return decision
        # A scheme trial of another task than the knowledge's, or no predictors given: the
        # knowledge is not on the trial's scale, so it can only be a prior (transfer mode).
        why = (
            f"the trial's task ({mismatch}) is not the knowledge's ({self._knowledge()})"
            if mismatch is not None
            else f"no predictors given for this trial's task ({describe_task(trial.user_attrs)})"
        )
        learner = self._transfer_learner_for()
        if learner is None:
            decision = self._unjudged(study, trial, bound, maximize)
            if decision is not None:
                decision["reason"] = f"kept: {why}, and learn=False"
            return decision
        decision = learner.decide(study, trial, bound)
        if decision is not None:
            if learner.prior is not None:
                decision["mode"] = "transfer"
                decision["naap440"] = (
                    f"{why}: NAAP-440's finals and predictions are not on this task's scale, so "
                    f"they only give a prior ({learner.prior_label}), calibrated on this study's "
                    "own completed trials "
                    + (
                        f"(nothing pruned before {learner.min_trials} have completed)"
                        if learner.floor_percentile is None
                        else f"(MedianPruner's rule until {learner.min_trials} have completed)"
                    )
                )
            else:
                decision["mode"] = "study"
                decision["naap440"] = f"{why}: judged by the study's own trials alone"
        return decision

    def _knowledge(self) -> str:
        """The rule's task, as decision records name it."""
        return self._rule.task.describe() if self._rule is not None else "none"

    def _transfer_learner_for(self) -> StudyLearner | None:
        """The learner of transfer mode: the study learner with the prior as a feature
        (``None`` with ``learn=False``; the plain learner with ``transfer=False`` or a learner
        that brings its own prior)."""
        if self._learner is None:
            return None
        if self._transfer is False or self._learner.prior is not None:
            return self._learner
        if self._transfer_learner is None:
            base = StudyLearner(**TRANSFER_LEARNER) if self._default_learner else self._learner
            if isinstance(self._transfer, NAAPPredictor):
                prior = self._transfer
                label = f"the given NAAPPredictor (epochs={prior.epochs})"
            elif self._rule is not None and self._rule.task.data != NAAP440_DATA:
                # Knowledge of the user's own task: its earliest predictor.
                epoch = next(iter(self._rule.predictors))
                prior = self._rule.predictors[epoch]
                label = f"the pruner's NAAPPredictor for epoch {epoch} ({self._knowledge()})"
            else:
                # NAAP-440: its architecture-only predictor, since a curve prefix of another
                # task is outside what a NAAP-440 curve model has seen.
                prior, label = packaged_prior(), PACKAGED_PRIOR
            self._transfer_learner = base.with_prior(prior, label=label)
        return self._transfer_learner

    def _unjudged(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
        maximize: bool,
    ) -> dict[str, Any] | None:
        """learn=False and no NAAP-440 rule for this trial: kept, said once."""
        if bound is not None:
            return None
        if self._rule is not None and not maximize:
            if not self._warned_direction:
                warnings.warn(
                    "NAAPPruner's NAAP-440 predictor predicts accuracy and judges only "
                    "maximizing studies; leave learn=True to learn from a minimizing study",
                    stacklevel=3,
                )
                self._warned_direction = True
            reason = "the study minimizes; the NAAP-440 predictor needs direction='maximize'"
        else:
            reason = (
                "no scheme and losses recorded (use suggest_scheme and report_epoch), and "
                "learn=False"
            )
        decision = new_decision(int(trial.last_step or 0), trial=trial)
        decision["reason"] = reason
        return decision


def _rule_from_deprecated(rule: Any, deprecated: dict[str, Any]) -> SchemeRule | None:
    """The rule of a NAAPPruner made the pre-0.2 way (``NAAPPruner(predictor, top_k=...)``),
    with a FutureWarning; ``rule`` itself otherwise."""
    unknown = sorted(set(deprecated) - set(_RULE_KEYWORDS))
    if unknown:
        raise TypeError(f"NAAPPruner() got an unexpected keyword argument {unknown[0]!r}")
    old_predictor = isinstance(rule, (NAAPPredictor, Mapping))
    if not deprecated and not old_predictor:
        return rule
    if isinstance(rule, SchemeRule):
        names = ", ".join(sorted(deprecated))
        raise ValueError(f"{names} configure the rule: pass them to SchemeRule, not NAAPPruner")
    warnings.warn(
        "NAAPPruner(predictor, max_epochs=..., top_k=..., ...) is deprecated and goes in 0.3: "
        "use NAAPPruner(SchemeRule(predictor, ...)); the rule's options are SchemeRule's",
        FutureWarning,
        stacklevel=3,
    )
    if rule is None or (isinstance(rule, Mapping) and not rule):
        SchemeRule._check_options(**deprecated)  # checked as before, though they rule nothing
        return None
    return SchemeRule(rule, **deprecated)
