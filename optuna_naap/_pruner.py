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
from optuna_naap._trial import trial_curve, trial_scheme

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DECISION_ATTR", "NAAPPruner"]

#: User attribute with the whole decision (JSON); the flat ``naap:*`` ones are for sorting.
DECISION_ATTR = "naap:decision"


class NAAPPruner(BasePruner):
    """Prune a trial whose predicted final accuracy cannot reach the top of the known finals.

    At each decision epoch (default: 10% of ``max_epochs``, so epoch 9 of 90) the pruner builds
    the trial's row (its recorded scheme and the curve reported with
    :func:`~optuna_naap.report_epoch`), asks the predictor fitted for that epoch for the final
    accuracy and its uncertainty, and compares ``predicted + uncertainty * std`` with the
    ``top_k``-th best known final: the values of the study's COMPLETE trials plus
    ``reference_values`` (for example the finals of the rows the predictor was fit on). Below it,
    the trial is pruned. Until ``top_k`` finals are known, nothing is pruned.

    Every decision is written to the trial's user attributes: ``naap:decision`` (JSON with the
    epoch, predicted final, std, threshold, verdict and reason) and the flat ``naap:epoch``,
    ``naap:predicted``, ``naap:threshold`` and ``naap:verdict`` (sortable columns in
    optuna-dashboard). Decisions depend only on what the storage holds, so several workers on
    one RDB storage agree.

    It never breaks a study: a trial without a recorded scheme or without losses is kept (and
    says why); a non-finite accuracy at a decision epoch is pruned, as Optuna's own pruners do;
    a minimizing study is never pruned (the predictor predicts accuracy), with a warning. A
    multi-objective study is an error, as for Optuna's pruners.

    Args:
        predictor: A fitted :class:`~optuna_naap.NAAPPredictor` (its ``epochs`` is the decision
            epoch), or a mapping from decision epoch to fitted predictor.
        max_epochs: Epochs of full training (90 in the NAAP recipe).
        top_k: Keep a trial that can reach the ``top_k``-th best known final.
        uncertainty: How many predicted standard deviations a trial is given the benefit of.
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
        predictor: NAAPPredictor | Mapping[int, NAAPPredictor],
        *,
        max_epochs: int = 90,
        top_k: int = 10,
        uncertainty: float = 1.0,
        reference_values: Sequence[float] = (),
    ) -> None:
        if not isinstance(max_epochs, int) or isinstance(max_epochs, bool) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, but got {max_epochs=}")
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, but got {top_k=}")
        if not isinstance(uncertainty, (int, float)) or not uncertainty >= 0:
            raise ValueError(f"uncertainty must be >= 0, but got {uncertainty=}")
        predictors = (
            {predictor.epochs: predictor}
            if isinstance(predictor, NAAPPredictor)
            else dict(predictor)
        )
        if not predictors:
            raise ValueError("NAAPPruner needs at least one fitted predictor")
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
        self._uncertainty = float(uncertainty)
        self._references = references
        self._warned_direction = False

    @property
    def decision_epochs(self) -> list[int]:
        """The epochs at which the pruner decides."""
        return list(self._predictors)

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
            decision_epochs: Decision epochs (default: 10% of ``max_epochs``).
            max_epochs: Epochs of full training.
            use_reference: Whether the rows' ``MaxAccuracy`` values count as known finals.
            predictor_options: Keyword arguments of each :class:`~optuna_naap.NAAPPredictor`.
            **options: Other keyword arguments of :class:`NAAPPruner`.
        """
        if decision_epochs is None:
            decision_epochs = [max(1, round(0.1 * max_epochs))]
        predictors = {
            int(e): NAAPPredictor(int(e), **dict(predictor_options or {})).fit(frame)
            for e in decision_epochs
        }
        if use_reference:
            options.setdefault("reference_values", frame["MaxAccuracy"].to_numpy(dtype="float64"))
        return cls(predictors, max_epochs=max_epochs, **options)

    # -- deciding ---------------------------------------------------------------------------

    def _threshold(self, study: optuna.study.Study) -> tuple[float, int]:
        finals = [
            t.value
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)
        ]
        known = np.concatenate([self._references, np.asarray(finals, dtype="float64")])
        if len(known) < self._top_k:
            return math.nan, len(known)
        kth = len(known) - self._top_k  # the top_k-th best, counting from the best
        return float(np.partition(known, kth)[kth]), len(known)

    def _row(self, trial: optuna.trial.FrozenTrial, epoch: int) -> dict[str, Any] | str:
        predictor = self._predictors[epoch]
        curve = trial_curve(trial, epoch)
        if curve is None:
            return f"no complete curve for epochs 1..{epoch} (use report_epoch)"
        scheme = trial_scheme(trial)
        if scheme is None:
            return "no valid scheme recorded (use suggest_scheme or record_scheme)"
        row: dict[str, Any] = dict(scheme_features(scheme))
        if predictor.uses_schemes_:
            row["Scheme"] = json.dumps(scheme)
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
        if epoch is None or epoch not in self._predictors:
            return False
        previous = trial.user_attrs.get(DECISION_ATTR)
        if isinstance(previous, dict) and previous.get("epoch") == epoch:
            return bool(previous.get("verdict") == "pruned")  # asked twice: same answer

        decision: dict[str, Any] = {
            "epoch": epoch,
            "predicted": None,
            "std": None,
            "threshold": None,
            "known_finals": None,
            "verdict": "kept",
            "reason": "",
        }
        accuracy = trial.intermediate_values.get(epoch, math.nan)
        if study.direction != StudyDirection.MAXIMIZE:
            if not self._warned_direction:
                warnings.warn(
                    "NAAPPruner predicts accuracy and prunes only maximizing studies; "
                    "this study minimizes, so no trial is pruned",
                    stacklevel=2,
                )
                self._warned_direction = True
            decision["reason"] = "the study minimizes; NAAPPruner needs direction='maximize'"
        elif not math.isfinite(accuracy):
            decision.update(verdict="pruned", reason=f"non-finite accuracy at epoch {epoch}")
        else:
            row = self._row(trial, epoch)
            if isinstance(row, str):
                decision["reason"] = row
            else:
                import pandas as pd

                frame = pd.DataFrame([row])
                mean, std = self._predictors[epoch].predict_with_uncertainty(frame)
                predicted, spread = float(mean[0]), float(std[0])
                threshold, known = self._threshold(study)
                decision.update(predicted=predicted, std=spread, known_finals=known)
                if math.isnan(threshold):
                    decision["reason"] = (
                        f"startup: {known} known finals, top_k={self._top_k} needed"
                    )
                else:
                    upper = predicted + self._uncertainty * spread
                    decision["threshold"] = threshold
                    if upper < threshold:
                        decision["verdict"] = "pruned"
                        decision["reason"] = (
                            f"predicted final {predicted:.4f} (+{self._uncertainty:g} std = "
                            f"{upper:.4f}) is below the top-{self._top_k} threshold "
                            f"{threshold:.4f} of {known} known finals"
                        )
                    else:
                        decision["reason"] = (
                            f"predicted final {predicted:.4f} (+{self._uncertainty:g} std = "
                            f"{upper:.4f}) can reach the top-{self._top_k} threshold "
                            f"{threshold:.4f} of {known} known finals"
                        )
        self._record(study, trial, decision)
        return decision["verdict"] == "pruned"
