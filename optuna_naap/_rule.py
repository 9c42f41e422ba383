"""The NAAP-440 rule: judge a recorded scheme and its curve prefix with fitted NAAPPredictors
against the top of the known finals of its task (or, in a multi-objective study, against the
Pareto front at the scheme's exact costs).

:class:`SchemeRule` is what :class:`~optuna_naap.NAAPPruner` applies to the trials of the
rule's own task; the judging functions are shared with the pre-screen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import TrialState

from optuna_naap._checks import check_int
from optuna_naap._data import curve_epochs, truncate_curves
from optuna_naap._judge import (
    check_bar_options,
    judge_scheme_pareto,
    judge_scheme_row,
    margin_quantile,
)
from optuna_naap._pareto import ParetoObjectives, ParetoReferences
from optuna_naap._predictor import NAAPPredictor, scheme_row
from optuna_naap._record import DATA_ATTR, new_decision
from optuna_naap._space import SchemeSpace
from optuna_naap._study_io import study_to_frame
from optuna_naap._task import NAAP440_DATA, KnowledgeTask
from optuna_naap._trial import accuracy_curve, latest_epoch, trial_curve, trial_scheme

if TYPE_CHECKING:
    import optuna
    import pandas as pd

__all__ = ["FRONT_CONFIDENCE", "LEAN_BAR", "SchemeRule", "WIDE_BAR", "default_decision_epochs"]

#: The margin's confidence on the Pareto front when ``confidence`` is not given: chosen on
#: NAAP-440's training rows for the multi-objective rule (``benchmarks/tune_pareto.py``;
#: docs/pareto.md). The single-objective bar's default is its own, :data:`LEAN_BAR`'s.
FRONT_CONFIDENCE = 0.9

#: The single-objective bar of :class:`SchemeRule`'s defaults (keyword arguments of it and so of
#: ``NAAPPruner.from_frame``): a top-10 bar at confidence 0.95. On NAAP-440's training rows it
#: was the cheapest setting that kept, on average, at least 0.95 of the 10 best with no regret
#: (``benchmarks/tune_decisions.py``; docs/pruner.md). The defaults since 2026-12-04; passing
#: it changes nothing.
LEAN_BAR: Mapping[str, Any] = MappingProxyType({"top_k": 10, "confidence": 0.95})

#: The wide single-objective bar, the defaults before 2026-12-04: a top-20 bar at confidence
#: 0.9. It keeps a little more of the 10 best (0.983 against 0.950 on NAAP-440's training rows)
#: for about 40% more compute (docs/pruner.md).
WIDE_BAR: Mapping[str, Any] = MappingProxyType({"top_k": 20, "confidence": 0.9})


def default_decision_epochs(max_epochs: int) -> list[int]:
    """NAAPPruner's default decision epochs: a screen after epoch 1 and the main decision at
    10% of training (epochs 1 and 9 of 90)."""
    return sorted({1, max(1, round(0.1 * max_epochs))})


class SchemeRule:
    """The NAAP-440 rule of :class:`~optuna_naap.NAAPPruner`: prune a scheme that cannot reach the
    top of its task's known finals.

    A maximizing trial that recorded its scheme (:func:`~optuna_naap.suggest_scheme` /
    :func:`~optuna_naap.record_scheme`), its epochs (:func:`~optuna_naap.report_epoch`) and the
    rule's task (``data``, the recipe, ``max_epochs``; :func:`~optuna_naap.record_task`) is
    judged at each decision epoch (the predictors' epochs): its predicted final accuracy plus a
    margin is compared with the ``top_k``-th best known final (the study's COMPLETE trials plus
    ``reference_values``; with ``top_fraction``, that quantile of them), and pruned below it.
    The margin is the ``confidence`` quantile of the predictor's cross-validated errors plus
    ``uncertainty`` times its spread for the trial. Until ``top_k`` finals are known and
    ``n_startup_trials`` of the study's own trials have completed, nothing is pruned. In a
    multi-objective study the bar is the Pareto front at the trial's exact costs instead
    (``pareto_references`` are known results there). The defaults were chosen by replaying
    NAAP-440's training rows only: the decision epochs with ``benchmarks/tune_pruner.py``, the
    bar (:data:`LEAN_BAR`) with ``benchmarks/tune_decisions.py``, the front's margin with
    ``benchmarks/tune_pareto.py`` (docs/pruner.md, docs/pareto.md).

    A trial of another task (other data, recipe or epochs, none declared, or a scheme outside
    NAAP-440's space for NAAP-440's rule) is not judged by the rule: NAAPPruner's transfer mode
    judges it (docs/transfer.md).

    Args:
        predictor: A fitted :class:`~optuna_naap.NAAPPredictor` (its ``epochs`` is the decision
            epoch), or a mapping from decision epoch to fitted predictor.
        max_epochs: Epochs of full training of the rule's task (90 in the NAAP recipe).
        top_k: Keep a scheme that can reach the ``top_k``-th best known final; a mapping from
            decision epoch to ``top_k`` gives each decision its own bar (a wide one early,
            where predictions are uncertain, a narrow one late, where they are not).
        top_fraction: Keep a scheme that can reach the best ``top_fraction`` of the known
            finals (replaces ``top_k``; in (0, 1)).
        n_startup_trials: Completed trials of the study itself needed before the rule prunes.
        confidence: Quantile of the predictor's cross-validated errors used as the margin (0
            for none; 1 for the largest error seen). Default: 0.95 for the top-k bar
            (:data:`LEAN_BAR`) and 0.9 on the Pareto front
            (:data:`~optuna_naap._rule.FRONT_CONFIDENCE`), each chosen on NAAP-440's training
            rows; a value given is used for both.
        uncertainty: Predicted standard deviations added to the margin.
        reference_values: Known finals besides the study's completed trials.
        pareto_references: Known results (accuracy and exact costs) for multi-objective
            studies (:class:`~optuna_naap.pareto.ParetoReferences`).
        data: The data the predictors and references come from, as trials record it in
            ``naap:data`` (``"cifar10"``: NAAP-440).

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import NAAPPruner, SchemeRule, load_naap440

            rows = load_naap440()
            rule = SchemeRule.from_frame(
                rows[rows["IsTest"] == 0],
                decision_epochs=[9],
                predictor_options={"n_models": 1, "iterations": 100},  # quick; defaults are better
            )
            study = optuna.create_study(direction="maximize", pruner=NAAPPruner(rule))
    """

    def __init__(
        self,
        predictor: NAAPPredictor | Mapping[int, NAAPPredictor],
        *,
        max_epochs: int = 90,
        top_k: int | Mapping[int, int] = LEAN_BAR["top_k"],
        top_fraction: float | None = None,
        n_startup_trials: int = 0,
        confidence: float | None = None,
        uncertainty: float = 0.0,
        reference_values: Sequence[float] = (),
        pareto_references: ParetoReferences | None = None,
        data: str = NAAP440_DATA,
    ) -> None:
        bars = dict(top_k) if isinstance(top_k, Mapping) else None
        for epoch, k in (bars or {}).items():
            check_int(f"top_k[{epoch}]", k, low=1)
        widest: int = max(bars.values(), default=1) if bars is not None else top_k  # type: ignore[assignment]
        references = self._check_options(
            max_epochs=max_epochs,
            top_k=widest,
            top_fraction=top_fraction,
            n_startup_trials=n_startup_trials,
            confidence=confidence,
            uncertainty=uncertainty,
            reference_values=reference_values,
            pareto_references=pareto_references,
            data=data,
        )
        if isinstance(predictor, NAAPPredictor):
            predictors = {predictor.epochs: predictor}
        elif isinstance(predictor, Mapping):
            predictors = dict(predictor)
        else:
            raise ValueError(
                "predictor must be a fitted NAAPPredictor or a mapping from decision epoch to "
                f"one, but got {type(predictor).__name__}"
            )
        if not predictors:
            raise ValueError("a SchemeRule needs at least one fitted NAAPPredictor")
        for epoch, model in predictors.items():
            if not isinstance(model, NAAPPredictor) or not hasattr(model, "components_"):
                raise ValueError(f"the predictor for epoch {epoch} is not a fitted NAAPPredictor")
            if model.epochs != epoch or not 1 <= epoch < max_epochs:
                raise ValueError(
                    f"decision epochs must be the predictors' epochs, between 1 and "
                    f"max_epochs - 1 = {max_epochs - 1}, but got epoch {epoch} for a predictor "
                    f"of epochs={model.epochs}"
                )
        if bars is not None and set(bars) != set(predictors):
            raise ValueError(
                f"top_k's decision epochs {sorted(bars)} must be the predictors' "
                f"{sorted(predictors)}"
            )
        self.predictors = dict(sorted(predictors.items()))
        self.max_epochs = max_epochs
        self.top_k = top_k
        #: The bar of each decision epoch.
        self.bars: dict[int, int] = (
            bars if bars is not None else dict.fromkeys(self.predictors, widest)
        )
        self.top_fraction = top_fraction
        self.n_startup_trials = n_startup_trials
        #: The margins' confidence: of the top-k bar, and on the Pareto front.
        self.confidence = LEAN_BAR["confidence"] if confidence is None else float(confidence)
        self.front_confidence = FRONT_CONFIDENCE if confidence is None else float(confidence)
        self.uncertainty = float(uncertainty)
        self.references = references
        self.pareto_references = pareto_references
        self.task = KnowledgeTask(data, max_epochs)
        # How far above its prediction a scheme can plausibly end: a quantile of the
        # predictor's out-of-fold errors (0 where it was fit on too few rows to measure them).
        self.margins = self._margins(self.confidence)
        self.front_margins = self._margins(self.front_confidence)
        self._in_naap_space: dict[str, bool] = {}  # by scheme JSON: a walk of the space each

    def _margins(self, confidence: float) -> dict[int, float]:
        return {
            epoch: margin_quantile(getattr(model, "cv_residuals_", np.empty(0)), confidence)
            for epoch, model in self.predictors.items()
        }

    @staticmethod
    def _check_options(
        *,
        max_epochs: int = 90,
        top_k: int = LEAN_BAR["top_k"],
        top_fraction: float | None = None,
        n_startup_trials: int = 0,
        confidence: float | None = None,
        uncertainty: float = 0.0,
        reference_values: Sequence[float] = (),
        pareto_references: ParetoReferences | None = None,
        data: str = NAAP440_DATA,
    ) -> np.ndarray:
        """Check the rule's options (the arguments of :class:`SchemeRule` but the predictor)
        and return ``reference_values`` as an array.

        Raises:
            ValueError: an option out of its range, naming the value.
        """
        if not isinstance(data, str) or not data.strip():
            raise ValueError(f"data must be the knowledge's data name, but got {data=}")
        if pareto_references is not None and not isinstance(pareto_references, ParetoReferences):
            raise ValueError(
                "pareto_references must be a ParetoReferences, "
                f"but got {type(pareto_references).__name__}"
            )
        check_int("max_epochs", max_epochs, low=1)
        check_bar_options(
            top_k=top_k,
            top_fraction=top_fraction,
            n_startup_trials=n_startup_trials,
            confidence=LEAN_BAR["confidence"] if confidence is None else confidence,
        )
        if (
            isinstance(uncertainty, bool)
            or not isinstance(uncertainty, (int, float))
            or not math.isfinite(uncertainty)
            or not uncertainty >= 0
        ):
            raise ValueError(f"uncertainty must be >= 0, but got {uncertainty=}")
        references = np.asarray(list(reference_values), dtype="float64")
        if not np.isfinite(references).all():
            raise ValueError("reference_values must be finite numbers")
        return references

    @property
    def decision_epochs(self) -> list[int]:
        """The epochs at which the rule decides."""
        return list(self.predictors)

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
    ) -> SchemeRule:
        """Fit the predictor(s) from rows in the NAAP-440 layout.

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
            **options: Other keyword arguments of :class:`SchemeRule`.
        """
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
    ) -> SchemeRule:
        """:meth:`from_frame` on a study's COMPLETE trials (for example a NAAP-440 import, or a
        dataset built with ``optuna-naap build-dataset``), exported as NAAP-440 rows.

        The rule's ``data`` is what the study's trials declare in ``naap:data`` (a
        Fashion-MNIST dataset's rule judges Fashion-MNIST trials, and NAAPPruner judges others
        in transfer mode); rows that declare nothing, as an import of a NAAP-440 CSV, are taken
        for NAAP-440's (``"cifar10"``); pass ``data=`` to say otherwise.

        Args:
            study: The study to learn from.
            epochs: Epochs of each row (default: the most any COMPLETE trial reported).
            **options: Keyword arguments of :meth:`from_frame`.

        Raises:
            ValueError: the study's trials declare more than one data set and ``data`` is not
                given.
        """
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

    def mismatch(
        self, trial: optuna.trial.FrozenTrial, scheme: list[dict[str, Any]]
    ) -> str | None:
        """How a scheme trial differs from the rule's task (``None`` when it is the rule's):
        its task, or, for NAAP-440's rule, its ``scheme`` outside NAAP-440's space (its
        predictors never saw one)."""
        mismatch = self.task.mismatch(trial)
        if mismatch is None and self.task.data == NAAP440_DATA:
            key = json.dumps(scheme)
            inside = self._in_naap_space.get(key)
            if inside is None:
                inside = self._in_naap_space[key] = SchemeSpace().contains(scheme)
            if not inside:
                mismatch = "a scheme outside NAAP-440's space"
        return mismatch

    def decide(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        bound: dict[str, Any] | None,
        objectives: ParetoObjectives | None = None,
    ) -> dict[str, Any] | None:
        """Judge ``trial`` at the latest decision epoch it reached and was not judged at.

        Args:
            study: The trial's study.
            trial: The trial, as the pruner is given it.
            bound: The decision already recorded on the trial, or ``None``.
            objectives: A multi-objective study's objectives: judge against the Pareto front at
                the trial's own costs; ``None``: against the top of the known finals.

        Returns:
            The decision record, or ``None`` when no decision epoch is due.
        """
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
                margin=self.front_margins[epoch],
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
            top_k=self.bars[epoch],
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
