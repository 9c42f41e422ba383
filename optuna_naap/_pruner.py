"""NAAPPruner: predict a trial's final accuracy at ~10% of training and prune the hopeless."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_naap._features import scheme_features
from optuna_naap._predictor import NAAPPredictor
from optuna_naap._study_predictor import StudyPredictor
from optuna_naap._trial import trial_curve, trial_scheme

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DECISION_ATTR", "NAAPPruner", "default_decision_epochs"]

#: User attribute with the whole decision (JSON); the flat ``naap:*`` ones are for sorting.
DECISION_ATTR = "naap:decision"


def default_decision_epochs(max_epochs: int) -> list[int]:
    """NAAPPruner's default decision epochs: a screen after epoch 1 and the main decision at
    10% of training (epochs 1 and 9 of 90)."""
    return sorted({1, max(1, round(0.1 * max_epochs))})


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


def new_decision(epoch: int, predictor: str | None = None) -> dict[str, Any]:
    """A decision record before deciding: kept, nothing predicted yet."""
    return {
        "epoch": epoch,
        "predictor": predictor,
        "predicted": None,
        "std": None,
        "margin": None,
        "threshold": None,
        "known_finals": None,
        "verdict": "kept",
        "reason": "",
    }


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


class NAAPPruner(BasePruner):
    """Prune a trial whose predicted final accuracy cannot reach the top of the known finals.

    At each decision epoch (:meth:`from_frame`'s default: epoch 1 and 10% of ``max_epochs``,
    so epochs 1 and 9 of 90) the pruner builds the trial's row (its recorded scheme and the
    curve reported with :func:`~optuna_naap.report_epoch`), asks the predictor fitted for that
    epoch for the final accuracy, adds a margin, and compares the sum with the ``top_k``-th best
    known final: the values of the study's COMPLETE trials plus ``reference_values`` (for
    example the finals of the rows the predictor was fit on). Below it, the trial is pruned.
    With ``top_fraction`` instead, the bar is that quantile of the known finals (0.05: the best
    5%). Until ``top_k`` finals (or, with ``top_fraction``, 1 / top_fraction of them) are known,
    and until ``n_startup_trials`` of the study's own trials have completed, nothing is pruned.

    The margin is how far above its prediction a scheme can plausibly end: the ``confidence``
    quantile of the predictor's cross-validated errors (``cv_residuals_``, true minus predicted
    on its fit rows), plus ``uncertainty`` times the predictor's spread for this trial
    (:meth:`~optuna_naap.NAAPPredictor.predict_with_uncertainty`). The defaults (``top_k=20``,
    ``confidence=0.9``, decisions at epochs 1 and 9) were chosen by replaying the NAAP-440
    training rows only (``benchmarks/tune_pruner.py``; docs/pruner.md has the figures).

    Every decision is written to the trial's user attributes: ``naap:decision`` (JSON with the
    epoch, predicted final, std, margin, threshold, verdict and reason) and the flat
    ``naap:epoch``, ``naap:predicted``, ``naap:threshold`` and ``naap:verdict`` (sortable
    columns in optuna-dashboard). Decisions depend only on what the storage holds, so several
    workers on one RDB storage agree.

    It never breaks a study: a trial without a recorded scheme or without losses is kept (and
    says why); a non-finite accuracy at a decision epoch is pruned, as Optuna's own pruners do;
    a minimizing study is never pruned (the predictor predicts accuracy), with a warning. A
    multi-objective study is an error, as for Optuna's pruners.

    Args:
        predictor: A fitted :class:`~optuna_naap.NAAPPredictor` (its ``epochs`` is the decision
            epoch), or a mapping from decision epoch to fitted predictor.
        max_epochs: Epochs of full training (90 in the NAAP recipe).
        top_k: Keep a trial that can reach the ``top_k``-th best known final.
        top_fraction: Keep a trial that can reach the best ``top_fraction`` of the known finals
            (replaces ``top_k``; in (0, 1)).
        n_startup_trials: Completed trials of the study itself needed before any pruning (for
            reference values from another space or recipe).
        confidence: Quantile of the predictor's cross-validated errors used as the margin
            (0 for none; 1 for the largest error seen).
        uncertainty: Predicted standard deviations added to the margin.
        reference_values: Known finals besides the study's completed trials.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPPruner, load_naap440

            frame = load_naap440("naap440v2.csv")
            pruner = NAAPPruner.from_frame(frame[frame.IsTest == 0])
            study = optuna.create_study(direction="maximize", pruner=pruner)
    """

    def __init__(
        self,
        predictor: NAAPPredictor | Mapping[int, NAAPPredictor] | None = None,
        *,
        max_epochs: int = 90,
        top_k: int = 20,
        top_fraction: float | None = None,
        n_startup_trials: int = 0,
        confidence: float = 0.9,
        uncertainty: float = 0.0,
        reference_values: Sequence[float] = (),
        learn_steps: Sequence[int] = (),
        min_trials: int = 10,
        refit_every: int = 10,
        prior: bool = True,
    ) -> None:
        if not isinstance(max_epochs, int) or isinstance(max_epochs, bool) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, but got {max_epochs=}")
        check_bar_options(
            top_k=top_k,
            top_fraction=top_fraction,
            n_startup_trials=n_startup_trials,
            confidence=confidence,
        )
        if not isinstance(uncertainty, (int, float)) or not uncertainty >= 0:
            raise ValueError(f"uncertainty must be >= 0, but got {uncertainty=}")
        for name, value, low in (("min_trials", min_trials, 2), ("refit_every", refit_every, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, but got {name}={value!r}")
        steps = sorted({int(s) for s in learn_steps})
        if any(not 1 <= s < max_epochs for s in steps):
            raise ValueError(
                f"learn_steps must lie between 1 and max_epochs - 1 = {max_epochs - 1}, "
                f"but got {learn_steps=}"
            )
        if predictor is None:
            predictors = {}
        elif isinstance(predictor, NAAPPredictor):
            predictors = {predictor.epochs: predictor}
        else:
            predictors = dict(predictor)
        if not predictors and not steps:
            raise ValueError(
                "NAAPPruner needs a fitted predictor, or learn_steps to learn from the study"
            )
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
        self._predictors = dict(sorted(predictors.items()))
        self._max_epochs = max_epochs
        self._top_k = top_k
        self._top_fraction = top_fraction
        self._n_startup_trials = n_startup_trials
        self._uncertainty = float(uncertainty)
        self._confidence = float(confidence)
        # How far above its prediction a scheme can plausibly end: a quantile of the
        # predictor's out-of-fold errors (0 where it was fit on too few rows to measure them).
        self._margins = {
            epoch: self._quantile(getattr(model, "cv_residuals_", np.empty(0)))
            for epoch, model in self._predictors.items()
        }
        self._references = references
        self._learn_steps = steps
        self._min_trials = min_trials
        self._refit_every = refit_every
        self._prior = bool(prior)
        # Learnt models are a cache of what the storage holds: (study id, step) -> model.
        self._study_models: dict[tuple[int, int], tuple[int, StudyPredictor]] = {}
        self._warned_direction = False

    @property
    def decision_epochs(self) -> list[int]:
        """The epochs (steps) at which the pruner decides."""
        return sorted({*self._predictors, *self._learn_steps})

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
            max_epochs: Epochs of full training.
            use_reference: Whether the rows' ``MaxAccuracy`` values count as known finals.
            predictor_options: Keyword arguments of each :class:`~optuna_naap.NAAPPredictor`.
            **options: Other keyword arguments of :class:`NAAPPruner`.
        """
        if decision_epochs is None:
            decision_epochs = default_decision_epochs(max_epochs)
        predictors = {
            int(e): NAAPPredictor(int(e), **dict(predictor_options or {})).fit(frame)
            for e in decision_epochs
        }
        if use_reference:
            options.setdefault("reference_values", frame["MaxAccuracy"].to_numpy(dtype="float64"))
        return cls(predictors, max_epochs=max_epochs, **options)

    @classmethod
    def from_study(
        cls, study: optuna.study.Study, *, epochs: int | None = None, **options: Any
    ) -> NAAPPruner:
        """:meth:`from_frame` on a study's COMPLETE trials (for example a NAAP-440 import, or a
        dataset built with ``optuna-naap build-dataset``), exported as NAAP-440 rows.

        Args:
            study: The study to learn from.
            epochs: Epochs of each row (default: the most any COMPLETE trial reported).
            **options: Keyword arguments of :meth:`from_frame`.
        """
        from optuna_naap._study_io import study_to_frame

        return cls.from_frame(study_to_frame(study, epochs=epochs), **options)

    # -- deciding ---------------------------------------------------------------------------

    def _threshold(
        self, done: Sequence[optuna.trial.FrozenTrial], sign: float
    ) -> tuple[float, int, str]:
        return known_finals_bar(
            done,
            sign,
            references=self._references,
            top_k=self._top_k,
            top_fraction=self._top_fraction,
            n_startup_trials=self._n_startup_trials,
        )

    def _study_model(
        self, study: optuna.study.Study, done: Sequence[optuna.trial.FrozenTrial], step: int
    ) -> StudyPredictor | str:
        """The model learnt from the study's COMPLETE trials ``done``, refit as more complete."""
        key = (study._study_id, step)
        fitted_on, model = self._study_models.get(key, (0, None))
        if model is not None and len(done) < fitted_on + self._refit_every:
            return model
        if len(done) < self._min_trials:
            return f"learning from the study: {len(done)} of {self._min_trials} trials completed"
        prior = self._predictors.get(step) if self._prior else None
        try:
            model = StudyPredictor(step, prior=prior).fit(done)
        except ValueError as exc:
            return model if model is not None else str(exc)  # keep the last good model
        self._study_models[key] = (len(done), model)
        return model

    def _row(self, trial: optuna.trial.FrozenTrial, epoch: int) -> dict[str, Any] | str:
        predictor = self._predictors[epoch]
        curve = trial_curve(trial, epoch)
        if curve is None:
            return f"no complete curve for epochs 1..{epoch} (use report_epoch)"
        scheme = trial_scheme(trial)
        if scheme is None:
            return "no valid scheme recorded (use suggest_scheme or record_scheme)"
        row = scheme_row(predictor, scheme, trial.user_attrs)
        if isinstance(row, dict):
            row.update(curve)
        return row

    def _record(
        self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial, decision: dict[str, Any]
    ) -> None:
        # Pruners get a FrozenTrial: the storage is the way to annotate the live trial.
        storage = study._storage
        trial_id = trial._trial_id
        storage.set_trial_user_attr(trial_id, DECISION_ATTR, decision)
        for key in ("epoch", "predicted", "threshold", "verdict"):
            storage.set_trial_user_attr(trial_id, f"naap:{key}", decision[key])

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        if len(study.directions) > 1:
            raise NotImplementedError(
                "NAAPPruner does not support multi-objective studies (nor do Optuna's pruners)"
            )
        epoch = trial.last_step
        if epoch is None or (epoch not in self._predictors and epoch not in self._learn_steps):
            return False
        previous = trial.user_attrs.get(DECISION_ATTR)
        if isinstance(previous, dict) and previous.get("epoch") == epoch:
            return bool(previous.get("verdict") == "pruned")  # asked twice: same answer

        decision = new_decision(epoch)
        self._decide(study, trial, epoch, decision)
        self._record(study, trial, decision)
        return decision["verdict"] == "pruned"

    def _decide(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        epoch: int,
        decision: dict[str, Any],
    ) -> None:
        maximize = study.direction == StudyDirection.MAXIMIZE
        value = trial.intermediate_values.get(epoch, math.nan)
        if not math.isfinite(value):
            decision.update(verdict="pruned", reason=f"non-finite value at step {epoch}")
            return

        # Read once: both the learnt model and the threshold depend on the completed trials.
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        # The study's own model once it has learnt (it holds the NAAP-440 prior if any) ...
        learnt: StudyPredictor | str = "not learning at this step (learn_steps)"
        if epoch in self._learn_steps:
            learnt = self._study_model(study, done, epoch)
        if isinstance(learnt, StudyPredictor):
            predicted, spread = float(learnt.predict([trial])[0]), None
            residuals = learnt.cv_residuals_ if maximize else -learnt.cv_residuals_
            margin = self._quantile(residuals)
            decision.update(predictor=f"study ({learnt.n_train_trials_} trials)")
        else:
            # ... else the NAAP-440 predictor, for maximized accuracies of recorded schemes.
            if epoch not in self._predictors:
                decision["reason"] = learnt
                return
            if not maximize:
                if not self._warned_direction:
                    warnings.warn(
                        "NAAPPruner's NAAP-440 predictor predicts accuracy and prunes only "
                        "maximizing studies; use learn_steps to learn from a minimizing study",
                        stacklevel=3,
                    )
                    self._warned_direction = True
                decision["reason"] = (
                    "the study minimizes; the NAAP-440 predictor needs direction='maximize'"
                )
                return
            row = self._row(trial, epoch)
            if isinstance(row, str):
                decision["reason"] = row if epoch not in self._learn_steps else f"{row}; {learnt}"
                return
            import pandas as pd

            mean, std = self._predictors[epoch].predict_with_uncertainty(pd.DataFrame([row]))
            predicted, spread = float(mean[0]), float(std[0])
            margin = self._margins[epoch] + self._uncertainty * spread
            decision.update(predictor="naap440")

        sign = 1.0 if maximize else -1.0
        threshold, known, waiting = self._threshold(done, sign)
        decision.update(predicted=predicted, std=spread, margin=margin, known_finals=known)
        if math.isnan(threshold):
            decision["reason"] = waiting
            return
        reach = predicted + sign * margin  # the best the trial plausibly ends at
        decision["threshold"] = threshold
        hopeless = sign * reach < sign * threshold
        if hopeless:
            decision["verdict"] = "pruned"
        decision["reason"] = (
            f"predicted final {predicted:.4f} {'+' if maximize else '-'} margin {margin:.4f} "
            f"= {reach:.4f} {'cannot reach' if hopeless else 'can reach'} the "
            f"{self._bar_name()} threshold {threshold:.4f} of {known} known finals"
        )

    def _bar_name(self) -> str:
        return bar_name(self._top_k, self._top_fraction)

    def _quantile(self, residuals: np.ndarray) -> float:
        return margin_quantile(residuals, self._confidence)
