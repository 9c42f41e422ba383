"""NAAPPruner: predict a trial's final accuracy at ~10% of training and prune the hopeless."""

from __future__ import annotations

import json
import math
import threading
import warnings
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._features import scheme_features
from optuna_naap._learner import StudyLearner
from optuna_naap._pareto import ParetoObjectives, ParetoReferences, judge_pareto, trial_costs
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._record import (
    CURVE_ATTR,
    DATA_ATTR,
    DECISION_ATTR,
    bound_decision,
    keep_rule,
    new_decision,
    record_decision,
)
from optuna_naap._task import NAAP440_DATA, KnowledgeTask, describe_task
from optuna_naap._trial import accuracy_curve, latest_epoch, trial_curve, trial_scheme

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DECISION_ATTR",
    "NAAPPruner",
    "TRANSFER_LEARNER",
    "default_decision_epochs",
    "packaged_prior",
    "pruner_for_recipe",
]


def default_decision_epochs(max_epochs: int) -> list[int]:
    """NAAPPruner's default decision epochs: a screen after epoch 1 and the main decision at
    10% of training (epochs 1 and 9 of 90)."""
    return sorted({1, max(1, round(0.1 * max_epochs))})


_PACKAGED_PRIOR: list[NAAPPredictor] = []  # fit once per process, on first need
_PRIOR_LOCK = threading.Lock()

#: The learner of transfer mode when ``learn=True``: no MedianPruner floor (on NAS curves of
#: another task early accuracy ranks schemes poorly: it lost 20-40% of the 10 best in the
#: replays) and a top-10 bar at confidence 0.95. Chosen on a proxy task, NAAP-440's training
#: rows cut to 12 epochs and replayed as an undeclared task (top-10 recall 1.00, compute 42%,
#: against 0.80 and 31% with the median floor); docs/transfer.md has the figures.
TRANSFER_LEARNER: dict[str, Any] = {"top_k": 10, "confidence": 0.95, "floor_percentile": None}

#: How decision records name the prior fit on the packaged NAAP-440 data.
PACKAGED_PRIOR = (
    "the packaged NAAP-440 data's architecture-only NAAPPredictor, fit on its 400 training rows"
)


def packaged_prior() -> NAAPPredictor:
    """The architecture-only NAAPPredictor (``epochs=0``) fit on NAAP-440's training rows
    (``IsTest == 0``) of the packaged data: the prior of transfer mode when no predictor is
    given. Fit once per process (about 10 s on a 2-core CPU)."""
    with _PRIOR_LOCK:
        if not _PACKAGED_PRIOR:
            from optuna_naap._data import load_naap440

            frame = load_naap440()
            _PACKAGED_PRIOR.append(NAAPPredictor(0).fit(frame[frame["IsTest"] == 0]))
        return _PACKAGED_PRIOR[0]


def recorded_scheme(trial: optuna.trial.FrozenTrial) -> list[dict[str, Any]] | None:
    """The scheme of a trial that recorded one and report_epoch's losses, else ``None``."""
    return trial_scheme(trial) if CURVE_ATTR in trial.user_attrs else None


def check_bar_options(
    *, top_k: int, top_fraction: float | None, n_startup_trials: int, confidence: float
) -> None:
    """Validate the options of :func:`known_finals_bar` and of the margin's quantile."""
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, but got {top_k=}")
    if top_fraction is not None and not (
        isinstance(top_fraction, (int, float)) and 0 < top_fraction < 1
    ):
        raise ValueError(f"top_fraction must be in (0, 1) or None, but got {top_fraction=}")
    if not isinstance(n_startup_trials, int) or n_startup_trials < 0:
        raise ValueError(
            f"n_startup_trials must be a non-negative integer, but got {n_startup_trials=}"
        )
    if not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise ValueError(f"confidence must be in [0, 1], but got {confidence=}")


def scheme_row(
    predictor: NAAPPredictor, scheme: list[dict[str, Any]], user_attrs: Mapping[str, Any]
) -> dict[str, Any] | str:
    """A trial's scheme columns for ``predictor`` (no curve), or why there are none.

    Extra features (a zero-cost score, ...) come from the trial's user attributes.
    """
    row: dict[str, Any] = dict(scheme_features(scheme))
    for name in predictor.extra_features:
        value = user_attrs.get(name)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"the predictor needs the user attribute {name!r} (a number)"
        row[name] = float(value)
    if predictor.uses_schemes_:
        row["Scheme"] = json.dumps(scheme)
    return row


def bar_name(top_k: int, top_fraction: float | None) -> str:
    """How decisions name the bar: ``top-20`` or ``top-5%``."""
    return f"top-{100 * top_fraction:g}%" if top_fraction is not None else f"top-{top_k}"


def margin_quantile(residuals: np.ndarray, confidence: float) -> float:
    """The ``confidence`` quantile of out-of-fold errors (0 without any, or at confidence 0)."""
    if not len(residuals) or confidence == 0:
        return 0.0
    return float(np.quantile(residuals, confidence))


def known_finals_bar(
    done: Sequence[optuna.trial.FrozenTrial],
    sign: float,
    *,
    references: np.ndarray,
    top_k: int,
    top_fraction: float | None,
    n_startup_trials: int,
) -> tuple[float, int, str]:
    """The bar a trial must be able to reach (``sign`` -1 for a minimizing study), given the
    study's COMPLETE trials ``done`` and other known finals; the count of known finals; and,
    while there is no bar yet, why (the bar is then NaN)."""
    # ``values`` rather than ``value``: the property's checks cost more than the rest here.
    finals = np.array([t.values[0] for t in done if t.values], dtype="float64")
    finals = finals[np.isfinite(finals)]
    known = sign * np.concatenate([references, finals])
    if len(done) < n_startup_trials:
        return (
            math.nan,
            len(known),
            f"startup: {len(done)} of n_startup_trials={n_startup_trials} trials completed",
        )
    if top_fraction is not None:
        needed = math.ceil(1 / top_fraction)
        if len(known) < needed:
            return (
                math.nan,
                len(known),
                f"startup: {len(known)} known finals, {needed} needed for "
                f"top_fraction={top_fraction:g}",
            )
        return sign * float(np.quantile(known, 1 - top_fraction)), len(known), ""
    if len(known) < top_k:
        return math.nan, len(known), f"startup: {len(known)} known finals, top_k={top_k} needed"
    kth = len(known) - top_k  # the top_k-th best, counting from the best
    return sign * float(np.partition(known, kth)[kth]), len(known), ""


def predict_row(predictor: NAAPPredictor, row: dict[str, Any]) -> tuple[float, float]:
    """The predicted final accuracy of one predictor row, and its spread."""
    import pandas as pd

    mean, std = predictor.predict_with_uncertainty(pd.DataFrame([row]))
    return float(mean[0]), float(std[0])


def judge_scheme_row(
    decision: dict[str, Any],
    study: optuna.study.Study,
    predictor: NAAPPredictor,
    row: dict[str, Any],
    *,
    margin: float,
    uncertainty: float,
    references: np.ndarray,
    top_k: int,
    top_fraction: float | None,
    n_startup_trials: int,
    prefix: str = "",
) -> None:
    """Judge a scheme's predictor row against the known finals of a maximizing ``study``: the
    NAAP-440 decision that the pruner and the pre-screen share. Fills ``decision``."""
    predicted, spread = predict_row(predictor, row)
    margin = margin + uncertainty * spread
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    threshold, known, waiting = known_finals_bar(
        done,
        1.0,
        references=references,
        top_k=top_k,
        top_fraction=top_fraction,
        n_startup_trials=n_startup_trials,
    )
    decision.update(predicted=predicted, std=spread, margin=margin, known_finals=known)
    if math.isnan(threshold):
        decision["reason"] = waiting
        return
    keep_rule(
        decision,
        predicted=predicted,
        margin=margin,
        threshold=threshold,
        maximize=True,
        bar=bar_name(top_k, top_fraction),
        known=known,
        prefix=prefix,
    )


def judge_scheme_pareto(
    decision: dict[str, Any],
    study: optuna.study.Study,
    trial: optuna.trial.FrozenTrial | optuna.trial.Trial,
    predictor: NAAPPredictor,
    row: dict[str, Any],
    objectives: ParetoObjectives,
    *,
    margin: float,
    uncertainty: float,
    references: ParetoReferences | None,
    prefix: str,
    scheme: list[dict[str, Any]] | None = None,
) -> None:
    """Judge a scheme's predictor row against the Pareto front of a multi-objective ``study``
    at the trial's own costs (from ``scheme``, default the one it recorded): the rule the
    pruner and the pre-screen share. Fills ``decision``."""
    costs = trial_costs(trial, objectives, scheme)
    if isinstance(costs, str):
        decision["reason"] = costs
        return
    predicted, spread = predict_row(predictor, row)
    judge_pareto(
        decision,
        study,
        objectives,
        costs,
        predicted=predicted,
        std=spread,
        margin=margin + uncertainty * spread,
        references=references,
        prefix=prefix,
    )


class _SchemeRule:
    """NAAPPruner's NAAP-440 core: judge a recorded scheme and its curve at decision epochs with
    fitted NAAPPredictors, against the top of the known finals."""

    def __init__(
        self,
        predictors: dict[int, NAAPPredictor],
        *,
        top_k: int,
        top_fraction: float | None,
        n_startup_trials: int,
        confidence: float,
        uncertainty: float,
        references: np.ndarray,
        pareto_references: ParetoReferences | None = None,
    ) -> None:
        self.predictors = dict(sorted(predictors.items()))
        self.pareto_references = pareto_references
        self.top_k = top_k
        self.top_fraction = top_fraction
        self.n_startup_trials = n_startup_trials
        self.uncertainty = uncertainty
        self.references = references
        # How far above its prediction a scheme can plausibly end: a quantile of the
        # predictor's out-of-fold errors (0 where it was fit on too few rows to measure them).
        self.margins = {
            epoch: margin_quantile(getattr(model, "cv_residuals_", np.empty(0)), confidence)
            for epoch, model in self.predictors.items()
        }

    def decide(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
        objectives: ParetoObjectives | None = None,
    ) -> dict[str, Any] | None:
        """Judge ``trial`` at the latest decision epoch it reached and was not judged at
        (``None`` when there is none); against the top of the known finals, or with
        ``objectives``, against the Pareto front at the trial's own costs."""
        step = latest_epoch(trial)
        due = [e for e in self.predictors if step is not None and e <= step]
        # The latest decision epoch reached and not yet judged (should_prune may skip epochs).
        if not due or (bound is not None and (bound.get("epoch") or -1) >= due[-1]):
            return None
        epoch = due[-1]
        decision = new_decision(epoch, trial=trial)
        value = accuracy_curve(trial).get(epoch, math.nan)
        if value is None or not math.isfinite(value):
            decision.update(verdict="pruned", reason=f"non-finite value at step {epoch}")
            return decision
        row = self._row(trial, epoch)
        if isinstance(row, str):
            decision["reason"] = row
            return decision
        decision["predictor"] = "naap440"
        if objectives is not None:
            judge_scheme_pareto(
                decision,
                study,
                trial,
                self.predictors[epoch],
                row,
                objectives,
                margin=self.margins[epoch],
                uncertainty=self.uncertainty,
                references=self.pareto_references,
                prefix=f"at epoch {epoch}: ",
            )
            return decision
        judge_scheme_row(
            decision,
            study,
            self.predictors[epoch],
            row,
            margin=self.margins[epoch],
            uncertainty=self.uncertainty,
            references=self.references,
            top_k=self.top_k,
            top_fraction=self.top_fraction,
            n_startup_trials=self.n_startup_trials,
        )
        return decision

    def _row(self, trial: optuna.trial.FrozenTrial, epoch: int) -> dict[str, Any] | str:
        curve = trial_curve(trial, epoch)
        if curve is None:
            return f"no complete curve for epochs 1..{epoch} (use report_epoch)"
        scheme = trial_scheme(trial)
        if scheme is None:
            return "no valid scheme recorded (use suggest_scheme or record_scheme)"
        row = scheme_row(self.predictors[epoch], scheme, trial.user_attrs)
        if isinstance(row, dict):
            row.update(curve)
        return row


class NAAPPruner(BasePruner):
    """Prune a trial whose predicted final value cannot reach the top of the study.

    ``NAAPPruner()`` is a drop-in pruner for any Optuna objective that reports intermediate
    values (any step numbering from 0 or 1, any interval, gaps, out of order; maximize or
    minimize). It judges each trial in one of two ways:

    * **NAAP-440 schemes.** With fitted :class:`~optuna_naap.NAAPPredictor` s (``predictor``,
      or :meth:`from_frame` / :meth:`from_study`), a maximizing trial that recorded its scheme
      (:func:`~optuna_naap.suggest_scheme` / :func:`~optuna_naap.record_scheme`) and its epochs
      (:func:`~optuna_naap.report_epoch`) is judged at each decision epoch (the predictors'
      epochs; :meth:`from_frame`'s default: epoch 1 and 10% of ``max_epochs``, so 1 and 9 of
      90): the predicted final accuracy plus a margin is compared with the ``top_k``-th best
      known final (the study's COMPLETE trials plus ``reference_values``; with
      ``top_fraction`` instead, that quantile of them). Below it, the trial is pruned. The
      margin is the ``confidence`` quantile of the predictor's cross-validated errors plus
      ``uncertainty`` times its spread for the trial. Until ``top_k`` finals are known and
      ``n_startup_trials`` of the study's own trials have completed, nothing is pruned this way.
      The defaults were chosen by replaying the NAAP-440 training rows only
      (``benchmarks/tune_pruner.py``; docs/pruner.md has the figures).
    * **Any other trial** is judged by ``learn`` (a :class:`~optuna_naap.StudyLearner`): the
      MedianPruner rule at every step, and at checkpoints (10%, 25% and 50% of training) a
      model learnt from the study's own completed trials (their params and curve prefixes)
      that prunes a trial which cannot plausibly reach the study's top. ``learn=False`` keeps
      such trials (and says why).

    Once a trial is pruned it stays pruned: later steps answer ``True`` too, as Optuna's
    pruners do. Every decision is written to the trial's user attributes: ``naap:decision``
    (JSON: epoch, predictor, predicted final, std, margin, threshold, verdict, reason, and the
    trial it judged; ``mode``: ``"naap440"`` for NAAP-440's rule, ``"transfer"`` for a scheme
    trial of another task judged with a prior, ``"study"`` for the study's own trials alone) and
    the flat ``naap:epoch``, ``naap:predicted``, ``naap:threshold`` and
    ``naap:verdict`` (sortable columns in optuna-dashboard). Decisions depend only on what the
    storage holds, so several workers on one RDB storage agree; learnt models are a per-process
    cache of it. A non-finite value at a NAAP decision epoch is pruned, as Optuna's own pruners
    do.

    **Multi-objective studies** (accuracy against MACs, parameters, a measured latency; see
    :mod:`optuna_naap.pareto`): name the objectives with ``study.set_metric_names`` and ask
    :func:`~optuna_naap.should_prune` instead of ``trial.should_prune()`` (which Optuna refuses
    there). At each decision epoch a trial is pruned when its predicted accuracy plus the margin
    cannot reach the accuracy of a completed trial that costs no more in every cost: it would be
    dominated by the study's front at its own exact cost. ``top_k``, ``top_fraction``,
    ``reference_values`` and ``learn`` play no part there; other trials are kept.

    Args:
        predictor: A fitted :class:`~optuna_naap.NAAPPredictor` (its ``epochs`` is the decision
            epoch), a mapping from decision epoch to fitted predictor, or ``None``.
        learn: ``True`` (a default :class:`~optuna_naap.StudyLearner`), a StudyLearner, or
            ``False`` to judge only NAAP-440 schemes.
        max_epochs: Epochs of full training of the NAAP-440 schemes (90 in the NAAP recipe).
        top_k: Keep a scheme that can reach the ``top_k``-th best known final.
        top_fraction: Keep a scheme that can reach the best ``top_fraction`` of the known
            finals (replaces ``top_k``; in (0, 1)).
        n_startup_trials: Completed trials of the study itself needed before the NAAP-440
            predictors prune (for reference values from another space or recipe).
        confidence: Quantile of the NAAP-440 predictor's cross-validated errors used as the
            margin (0 for none; 1 for the largest error seen).
        uncertainty: Predicted standard deviations added to the margin.
        reference_values: Known finals besides the study's completed trials.
        pareto_references: Known results (accuracy and exact costs) for multi-objective
            studies: a trial is also pruned when ``k`` of them dominate it
            (:class:`~optuna_naap.pareto.ParetoReferences`; :meth:`from_frame` makes one from
            its rows).
        transfer: How a scheme trial of another task than the knowledge's is judged (the
            knowledge's task: ``data``, the NAAP recipe, ``max_epochs`` epochs; another task:
            other data, recipe or epochs, or none declared, see
            :func:`~optuna_naap.record_task`). ``True``: transfer mode, the learner with a prior
            as one more feature of its model (the packaged NAAP-440 data's architecture-only
            predictor, :func:`packaged_prior`, for NAAP-440 knowledge; the earliest given
            predictor for knowledge of another task), calibrated on the study's own completed
            trials (with ``learn=True``, a learner with :data:`TRANSFER_LEARNER`'s settings: no
            MedianPruner floor, a top-10 bar at confidence 0.95, so nothing is pruned before
            ``min_trials`` trials have completed; a given StudyLearner keeps its own); a fitted
            NAAPPredictor: that prior; ``False``: the learner alone.
            ``NAAPPruner()`` (no predictors) judges every scheme trial this way.
        data: The data the predictors and ``reference_values`` come from, as trials record it
            in ``naap:data`` (``"cifar10"``: NAAP-440). :meth:`from_study` reads it from the
            study.

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
    """

    def __init__(
        self,
        predictor: NAAPPredictor | Mapping[int, NAAPPredictor] | None = None,
        *,
        learn: bool | StudyLearner = True,
        max_epochs: int = 90,
        top_k: int = 20,
        top_fraction: float | None = None,
        n_startup_trials: int = 0,
        confidence: float = 0.9,
        uncertainty: float = 0.0,
        reference_values: Sequence[float] = (),
        pareto_references: ParetoReferences | None = None,
        transfer: bool | NAAPPredictor = True,
        data: str = NAAP440_DATA,
    ) -> None:
        if isinstance(transfer, NAAPPredictor):
            if not hasattr(transfer, "components_"):
                raise ValueError("transfer must be True, False or a fitted NAAPPredictor")
        elif not isinstance(transfer, bool):
            raise ValueError(
                "transfer must be True, False or a fitted NAAPPredictor, "
                f"but got {type(transfer).__name__}"
            )
        if not isinstance(data, str) or not data.strip():
            raise ValueError(f"data must be the knowledge's data name, but got {data=}")
        if pareto_references is not None and not isinstance(pareto_references, ParetoReferences):
            raise ValueError(
                "pareto_references must be a ParetoReferences, "
                f"but got {type(pareto_references).__name__}"
            )
        if not isinstance(max_epochs, int) or isinstance(max_epochs, bool) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, but got {max_epochs=}")
        check_bar_options(
            top_k=top_k,
            top_fraction=top_fraction,
            n_startup_trials=n_startup_trials,
            confidence=confidence,
        )
        if (
            isinstance(uncertainty, bool)
            or not isinstance(uncertainty, (int, float))
            or not math.isfinite(uncertainty)
            or not uncertainty >= 0
        ):
            raise ValueError(f"uncertainty must be >= 0, but got {uncertainty=}")
        if not isinstance(learn, (bool, StudyLearner)):
            raise ValueError(
                f"learn must be True, False or a StudyLearner, but got {type(learn).__name__}"
            )
        if predictor is None:
            predictors = {}
        elif isinstance(predictor, NAAPPredictor):
            predictors = {predictor.epochs: predictor}
        else:
            predictors = dict(predictor)
        for epoch, model in predictors.items():
            if not isinstance(model, NAAPPredictor) or not hasattr(model, "components_"):
                raise ValueError(f"the predictor for epoch {epoch} is not a fitted NAAPPredictor")
            if model.epochs != epoch or not 1 <= epoch < max_epochs:
                raise ValueError(
                    f"decision epochs must be the predictors' epochs, between 1 and "
                    f"max_epochs - 1 = {max_epochs - 1}, but got epoch {epoch} for a predictor "
                    f"of epochs={model.epochs}"
                )
        references = np.asarray(list(reference_values), dtype="float64")
        if not np.isfinite(references).all():
            raise ValueError("reference_values must be finite numbers")
        self._max_epochs = max_epochs
        self._rule = (
            _SchemeRule(
                predictors,
                top_k=top_k,
                top_fraction=top_fraction,
                n_startup_trials=n_startup_trials,
                confidence=float(confidence),
                uncertainty=float(uncertainty),
                references=references,
                pareto_references=pareto_references,
            )
            if predictors
            else None
        )
        self._learner: StudyLearner | None = (
            StudyLearner() if learn is True else learn if isinstance(learn, StudyLearner) else None
        )
        self._task = KnowledgeTask(data, max_epochs)
        self._default_learner = learn is True
        self._transfer = transfer
        # Transfer mode's learner (the learner with the prior as a feature): made on first need,
        # since the packaged prior costs a fit.
        self._transfer_learner: StudyLearner | None = None
        self._in_naap_space: dict[str, bool] = {}  # by scheme JSON: a walk of the space each
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
    def decision_epochs(self) -> list[int]:
        """The epochs at which the NAAP-440 predictors decide (empty without them)."""
        return list(self._rule.predictors) if self._rule is not None else []

    @property
    def learner(self) -> StudyLearner | None:
        """The :class:`~optuna_naap.StudyLearner` judging other trials, or ``None``."""
        return self._learner

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        decision_epochs: Sequence[int] | None = None,
        max_epochs: int = 90,
        use_reference: bool = True,
        predictor_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> NAAPPruner:
        """Fit the predictor(s) from rows in the NAAP-440 layout and return a ready pruner.

        Args:
            frame: Rows with their ``MaxAccuracy`` (for example NAAP-440's training rows, with
                their ``Scheme`` column from :func:`~optuna_naap.load_naap440`).
            decision_epochs: Decision epochs (default: epoch 1 and 10% of ``max_epochs``).
            max_epochs: Epochs of full training. Rows with longer curves are cut to it
                (:func:`~optuna_naap.data.truncate_curves`; exact for the NAAP recipe), so a
                30-epoch study is judged against 30-epoch finals.
            use_reference: Whether the rows count as known results (their ``MaxAccuracy`` as
                ``reference_values``; with their costs as ``pareto_references``).
            predictor_options: Keyword arguments of each :class:`~optuna_naap.NAAPPredictor`.
            **options: Other keyword arguments of :class:`NAAPPruner`.
        """
        from optuna_naap._data import curve_epochs, truncate_curves

        if decision_epochs is None:
            decision_epochs = default_decision_epochs(max_epochs)
        if max_epochs < curve_epochs(frame):
            # A shorter budget: NAAP-440's runs cut to it (exact for the NAAP recipe), so that
            # the references are finals of max_epochs epochs, the study's own scale.
            frame = truncate_curves(frame, max_epochs)
        predictors = {
            int(e): NAAPPredictor(int(e), **dict(predictor_options or {})).fit(frame)
            for e in decision_epochs
        }
        if use_reference:
            options.setdefault("reference_values", frame["MaxAccuracy"].to_numpy(dtype="float64"))
            options.setdefault("pareto_references", ParetoReferences(frame))
        return cls(predictors, max_epochs=max_epochs, **options)

    @classmethod
    def from_study(
        cls, study: optuna.study.Study, *, epochs: int | None = None, **options: Any
    ) -> NAAPPruner:
        """:meth:`from_frame` on a study's COMPLETE trials (for example a NAAP-440 import, or a
        dataset built with ``optuna-naap build-dataset``), exported as NAAP-440 rows.

        The knowledge's ``data`` is what the study's trials declare in ``naap:data`` (a
        Fashion-MNIST dataset's pruner judges Fashion-MNIST trials by its rule and others in
        transfer mode); rows that declare nothing, as an import of a NAAP-440 CSV, are taken
        for NAAP-440's (``"cifar10"``); pass ``data=`` to say otherwise.

        Args:
            study: The study to learn from.
            epochs: Epochs of each row (default: the most any COMPLETE trial reported).
            **options: Keyword arguments of :meth:`from_frame`.

        Raises:
            ValueError: the study's trials declare more than one data set and ``data`` is not
                given.
        """
        from optuna_naap._study_io import study_to_frame

        if "data" not in options:
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            declared = {t.user_attrs.get(DATA_ATTR) for t in done} - {None}
            if len(declared) > 1:
                names = ", ".join(sorted(map(str, declared)))
                raise ValueError(
                    f"the study's trials declare several data sets ({names}): pass data= to "
                    "say which task the pruner's knowledge is"
                )
            if declared:
                options["data"] = str(declared.pop())
        return cls.from_frame(study_to_frame(study, epochs=epochs), **options)

    # -- deciding ---------------------------------------------------------------------------

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        multi = len(study.directions) > 1
        if (trial.last_step if not multi else latest_epoch(trial)) is None:
            return False
        decided = self._decided.setdefault(study._storage, {})
        bound = decided.get(trial._trial_id) or bound_decision(trial)
        if bound is not None and bound.get("verdict") == "pruned":
            return True  # once pruned, pruned at every later step
        if multi:
            decision = self._pareto(study, trial, bound)
        else:
            maximize = study.direction == StudyDirection.MAXIMIZE
            decision = self._single(study, trial, bound, maximize)
        if decision is None:
            return False
        record_decision(study._storage, trial._trial_id, decision)
        decided[trial._trial_id] = decision
        return decision["verdict"] == "pruned"

    def _pareto(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """A multi-objective study: the Pareto rule on recorded schemes, else kept."""
        # The objectives' names are a storage read: once per study and process.
        known = self._objectives.setdefault(study._storage, {})
        objectives = known.get(study._study_id)
        if objectives is None:
            objectives = known[study._study_id] = ParetoObjectives.of_study(study)
        scheme = recorded_scheme(trial) if self._rule is not None else None
        mismatch = self._mismatch(trial, scheme) if scheme is not None else None
        if self._rule is not None and scheme is not None and mismatch is None:
            return self._rule.decide(study, trial, bound, objectives)
        if bound is not None:
            return None
        decision = new_decision(int(latest_epoch(trial) or 0), trial=trial)
        decision["reason"] = (
            f"multi-objective: kept; the trial's task ({mismatch}) is not the knowledge's "
            f"({self._task.describe()}), whose finals and predictions are not on its scale"
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
        mismatch = self._mismatch(trial, scheme) if self._rule is not None else None
        if self._rule is not None and mismatch is None:
            decision = self._rule.decide(study, trial, bound)
            if decision is not None:
                decision["mode"] = "naap440"
            return decision
        # A scheme trial of another task than the knowledge's, or no predictors given: the
        # knowledge is not on the trial's scale, so it can only be a prior (transfer mode).
        why = (
            f"the trial's task ({mismatch}) is not the knowledge's ({self._task.describe()})"
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

    def _mismatch(
        self, trial: optuna.trial.FrozenTrial, scheme: list[dict[str, Any]]
    ) -> str | None:
        """How a scheme trial differs from the knowledge: its task, or, for NAAP-440's
        knowledge, its ``scheme`` outside NAAP-440's space (its predictors never saw one)."""
        mismatch = self._task.mismatch(trial)
        if mismatch is None and self._task.data == NAAP440_DATA:
            key = json.dumps(scheme)
            inside = self._in_naap_space.get(key)
            if inside is None:
                from optuna_naap._space import SchemeSpace

                inside = self._in_naap_space[key] = SchemeSpace().contains(scheme)
            if not inside:
                mismatch = "a scheme outside NAAP-440's space"
        return mismatch

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
            elif self._rule is not None and self._task.data != NAAP440_DATA:
                # Knowledge of the user's own task: its earliest predictor.
                epoch = next(iter(self._rule.predictors))
                prior = self._rule.predictors[epoch]
                label = f"the pruner's NAAPPredictor for epoch {epoch} ({self._task.describe()})"
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


def pruner_for_recipe(
    kind: str,
    *,
    max_epochs: int,
    rows: pd.DataFrame | None = None,
    predictor: NAAPPredictor | None = None,
) -> BasePruner:
    """The pruner a NAS study of schemes trained for ``max_epochs`` uses, by name.

    ``"naap"``: NAAPPruner with ``predictor`` (a saved one), else fit on NAAP-440 ``rows`` at the
    default decision epochs; ``"median"``: MedianPruner with a warm-up of 10% of training;
    ``"none"``: no pruning.

    Raises:
        ValueError: for another name, or ``"naap"`` with neither ``predictor`` nor ``rows``.
    """
    if kind == "none":
        return optuna.pruners.NopPruner()
    if kind == "median":
        warmup = max(1, round(0.1 * max_epochs))
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    if kind != "naap":
        raise ValueError(f"kind must be 'naap', 'median' or 'none', but got {kind=}")
    if predictor is not None:
        return NAAPPruner(predictor, max_epochs=max_epochs)
    if rows is None:
        raise ValueError("a NAAP pruner needs a saved predictor or NAAP-440 rows to fit on")
    return NAAPPruner.from_frame(
        rows, decision_epochs=default_decision_epochs(max_epochs), max_epochs=max_epochs
    )
