"""SchemePrescreen: skip schemes a 0-epoch predictor rates hopeless, before any training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.study import StudyDirection

from optuna_naap._features import EPSILON_FEATURE
from optuna_naap._judge import (
    check_bar_options,
    judge_scheme_pareto,
    judge_scheme_row,
    margin_quantile,
)
from optuna_naap._optuna import storage_of, trial_id_of
from optuna_naap._pareto import ParetoObjectives, ParetoReferences
from optuna_naap._predictor import NAAPPredictor, scheme_row
from optuna_naap._record import new_decision, record_decision

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from optuna_naap._images import ImageData

__all__ = ["SchemePrescreen"]


class SchemePrescreen:
    """Skip a scheme before any training when a 0-epoch predictor says it cannot reach the top.

    Give it to :class:`~optuna_naap.NAAPSampler` (``prescreen=``): once
    :func:`~optuna_naap.suggest_scheme` has sampled a scheme, the pre-screen predicts its final
    accuracy from the architecture alone (a :class:`~optuna_naap.NAAPPredictor` with
    ``epochs=0``), adds the ``confidence`` quantile of the predictor's cross-validated errors,
    and compares the sum with the ``top_k``-th best known final (the study's COMPLETE trials
    plus ``reference_values``), exactly as :class:`~optuna_naap.NAAPPruner` does at its
    decision epochs. Below it, the trial is pruned at once: it costs no training, and the base
    sampler learns from it as from any pruned trial. The decision goes to the trial's
    ``naap:decision`` user attribute with ``epoch`` 0 (and the flat ``naap:*`` ones).

    When the predictor was fit with the zero-cost epsilon score
    (``extra_features=("Epsilon",)``, rows from :func:`~optuna_naap.epsilon.add_epsilon`), the
    score of the sampled scheme is computed on ``images`` (a grey-scale batch without) and stored
    in the trial's ``Epsilon`` user attribute, where NAAPPruner's predictors find it too. Other
    extra features are read from the trial's user attributes of the same name.

    A pruned pre-screened trial still counts toward ``n_trials``. Single-objective studies are
    screened when they maximize (the predictor predicts accuracy). In a multi-objective study
    (objectives named with ``study.set_metric_names``, see :mod:`optuna_naap.pareto`) a scheme
    is skipped when its predicted accuracy plus the margin cannot reach the accuracy of a
    completed trial that costs no more: dominated by the front before its first epoch
    (``top_k``, ``top_fraction`` and ``reference_values`` play no part there).

    Args:
        predictor: A fitted NAAPPredictor with ``epochs=0``.
        top_k: Keep a scheme that can reach the ``top_k``-th best known final.
        top_fraction: Keep a scheme that can reach the best ``top_fraction`` of the known finals
            (replaces ``top_k``).
        n_startup_trials: Completed trials of the study needed before any skipping.
        confidence: Quantile of the predictor's cross-validated errors used as the margin.
        reference_values: Known finals besides the study's completed trials.
        pareto_references: Known results with their costs for multi-objective studies
            (:class:`~optuna_naap.pareto.ParetoReferences`).
        images: Images for the epsilon score (:class:`~optuna_naap.ImageData` or a normalised
            batch from :func:`~optuna_naap.epsilon.epsilon_batch`); default: the grey-scale batch.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPSampler, SchemePrescreen, load_naap440

            frame = load_naap440()
            prescreen = SchemePrescreen.from_frame(frame[frame.IsTest == 0])
            study = optuna.create_study(
                direction="maximize", sampler=NAAPSampler(prescreen=prescreen)
            )
    """

    def __init__(
        self,
        predictor: NAAPPredictor,
        *,
        top_k: int = 20,
        top_fraction: float | None = None,
        n_startup_trials: int = 0,
        confidence: float = 0.9,
        reference_values: Sequence[float] = (),
        pareto_references: ParetoReferences | None = None,
        images: ImageData | torch.Tensor | None = None,
    ) -> None:
        if pareto_references is not None and not isinstance(pareto_references, ParetoReferences):
            raise ValueError(
                "pareto_references must be a ParetoReferences, "
                f"but got {type(pareto_references).__name__}"
            )
        if not isinstance(predictor, NAAPPredictor) or not hasattr(predictor, "components_"):
            raise ValueError(
                f"predictor must be a fitted NAAPPredictor, but got {type(predictor).__name__}"
            )
        if predictor.epochs != 0:
            raise ValueError(
                "a pre-screen runs before any training: the predictor needs epochs=0, "
                f"but got epochs={predictor.epochs}"
            )
        check_bar_options(
            top_k=top_k,
            top_fraction=top_fraction,
            n_startup_trials=n_startup_trials,
            confidence=confidence,
        )
        references = np.asarray(list(reference_values), dtype="float64")
        if not np.isfinite(references).all():
            raise ValueError("reference_values must be finite numbers")
        self.predictor = predictor
        self.top_k = top_k
        self.top_fraction = top_fraction
        self.n_startup_trials = n_startup_trials
        self.confidence = float(confidence)
        self._references = references
        self.pareto_references = pareto_references
        self._margin = margin_quantile(
            getattr(predictor, "cv_residuals_", np.empty(0)), self.confidence
        )
        self._images = images
        self._batch: torch.Tensor | None = None

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        use_reference: bool = True,
        predictor_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> SchemePrescreen:
        """Fit the 0-epoch predictor on rows in the NAAP-440 layout and return a pre-screen.

        Args:
            frame: Rows with their ``MaxAccuracy`` and ``Scheme`` (and ``Epsilon`` when the
                predictor options ask for it).
            use_reference: Whether the rows' ``MaxAccuracy`` values count as known finals.
            predictor_options: Keyword arguments of the :class:`~optuna_naap.NAAPPredictor`.
            **options: Other keyword arguments of :class:`SchemePrescreen`.
        """
        predictor = NAAPPredictor(0, **dict(predictor_options or {})).fit(frame)
        if use_reference:
            options.setdefault("reference_values", frame["MaxAccuracy"].to_numpy(dtype="float64"))
            options.setdefault("pareto_references", ParetoReferences(frame))
        return cls(predictor, **options)

    def _epsilon(self, scheme: list[dict[str, Any]]) -> float:
        from optuna_naap._epsilon import DEFAULT_WEIGHTS, as_batch, epsilon_score

        if self._batch is None:
            self._batch = as_batch(self._images)
        return epsilon_score(scheme, self._batch, DEFAULT_WEIGHTS)

    def decide(
        self, study: optuna.study.Study, trial: optuna.trial.Trial, scheme: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Decide on ``scheme`` for the live ``trial`` of ``study``, record the decision,
        return it."""
        decision = new_decision(0, "naap440 pre-screen", trial=trial)
        self._decide(study, trial, scheme, decision)
        record_decision(storage_of(study), trial_id_of(trial), decision)
        return decision

    def _decide(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.Trial,
        scheme: list[dict[str, Any]],
        decision: dict[str, Any],
    ) -> None:
        multi = len(study.directions) > 1
        if not multi and study.direction != StudyDirection.MAXIMIZE:
            decision["reason"] = "the pre-screen predicts accuracy: it screens maximizing studies"
            return
        if (
            EPSILON_FEATURE in self.predictor.extra_features
            and trial.user_attrs.get(EPSILON_FEATURE) is None
        ):
            trial.set_user_attr(EPSILON_FEATURE, self._epsilon(scheme))
        row = scheme_row(self.predictor, scheme, trial.user_attrs)
        if isinstance(row, str):
            decision["reason"] = row
            return
        if multi:
            objectives = ParetoObjectives.of_study(study)
            judge_scheme_pareto(
                decision,
                study,
                trial,
                self.predictor,
                row,
                objectives,
                margin=self._margin,
                uncertainty=0.0,
                references=self.pareto_references,
                prefix="before training: ",
                scheme=scheme,
            )
            return
        judge_scheme_row(
            decision,
            study,
            self.predictor,
            row,
            margin=self._margin,
            uncertainty=0.0,
            references=self._references,
            top_k=self.top_k,
            top_fraction=self.top_fraction,
            n_startup_trials=self.n_startup_trials,
            prefix="before training: ",
        )
