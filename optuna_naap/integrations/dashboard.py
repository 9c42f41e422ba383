"""optuna-dashboard: NAAPPruner's decisions as trial notes, a predicted-vs-actual figure.

The ``naap:`` user attributes already show (and sort) in optuna-dashboard's trial table; this
module adds a Markdown note per decided trial (``optuna_dashboard.save_note``) and a study-level
plotly figure of predicted against actual final accuracy
(``optuna_dashboard.save_plotly_graph_object``), kept current by :class:`DashboardCallback`
during a study or by :func:`refresh` (``optuna-naap dashboard`` calls it before serving).

Needs the ``dashboard`` extra: ``pip install "optuna-naap[dashboard]"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from optuna_naap._record import DECISION_ATTR, NOTED_ATTR

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "FIGURE_ID",
    "DashboardCallback",
    "decision_note",
    "prediction_figure",
    "refresh",
    "require_dashboard",
    "serve",
]

#: The figure's id in the study: saving again replaces it.
FIGURE_ID = "naap-predicted-vs-actual"
_NOTED_ATTR = NOTED_ATTR
_INSTALL = 'optuna-dashboard is not installed: pip install "optuna-naap[dashboard]"'


def require_dashboard() -> Any:
    """Import optuna_dashboard, or raise ImportError with the one-line install hint."""
    try:
        import optuna_dashboard
        import plotly  # noqa: F401 - save_plotly_graph_object needs it
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return optuna_dashboard


@dataclass(frozen=True)
class _TrialRef:
    """What ``optuna_dashboard.save_note`` reads from a trial, for a trial that has ended."""

    study: optuna.study.Study
    _trial_id: int

    @property
    def storage(self) -> optuna.storages.BaseStorage:
        return self.study._storage


def decision_note(trial: optuna.trial.FrozenTrial) -> str | None:
    """Markdown explaining the pruner's last decision on ``trial``, or None without one."""
    decision = trial.user_attrs.get(DECISION_ATTR)
    if not isinstance(decision, dict):
        return None
    verdict = str(decision.get("verdict", "?"))
    title = (
        f"NAAPSampler pre-screen: {verdict} before training"
        if decision.get("epoch") == 0
        else f"NAAPPruner: {verdict} at epoch {decision.get('epoch')}"
    )
    lines = [
        f"## {title}",
        "",
        str(decision.get("reason", "")),
        "",
        "| | |",
        "|---|---|",
    ]
    for key in ("predictor", "predicted", "std", "margin", "threshold", "known_finals"):
        value = decision.get(key)
        if isinstance(value, float):
            value = f"{value:.4f}"
        lines.append(f"| {key} | {value if value is not None else '-'} |")
    if trial.state == TrialState.COMPLETE and trial.value is not None:
        lines += ["", f"Final accuracy reached: **{trial.value:.4f}**."]
    return "\n".join(lines)


def _save_note(study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
    note = decision_note(trial)
    if note is None or trial.user_attrs.get(_NOTED_ATTR) == note:
        return False
    dashboard = require_dashboard()
    dashboard.save_note(_TrialRef(study, trial._trial_id), note)
    if not trial.state.is_finished():
        study._storage.set_trial_user_attr(trial._trial_id, _NOTED_ATTR, note)
    return True


def prediction_figure(study: optuna.study.Study) -> go.Figure:
    """Plotly figure: each decided trial's predicted final against its actual final accuracy.

    Completed trials are points (x: predicted at the last decision, y: the final value);
    pruned trials have no final, so they are a rug of their predictions along the x axis.
    """
    import plotly.graph_objects as go

    done_x: list[float] = []
    done_y: list[float] = []
    pruned_x: list[float] = []
    done_text: list[str] = []
    pruned_text: list[str] = []
    for trial in study.get_trials(deepcopy=False):
        decision = trial.user_attrs.get(DECISION_ATTR)
        if not isinstance(decision, dict):
            continue
        predicted = decision.get("predicted")
        if predicted is None or not math.isfinite(predicted):
            continue
        label = f"trial {trial.number}: {decision.get('verdict')} at epoch {decision.get('epoch')}"
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            done_x.append(predicted)
            done_y.append(trial.value)
            done_text.append(label)
        elif trial.state == TrialState.PRUNED:
            pruned_x.append(predicted)
            pruned_text.append(label)
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=done_x,
            y=done_y,
            mode="markers",
            name="completed",
            text=done_text,
            hoverinfo="text+x+y",
        )
    )
    if pruned_x:
        low = min(done_y + pruned_x) if done_y else min(pruned_x)
        figure.add_trace(
            go.Scatter(
                x=pruned_x,
                y=[low] * len(pruned_x),
                mode="markers",
                marker={"symbol": "line-ns-open", "size": 12},
                name="pruned (predicted only)",
                text=pruned_text,
                hoverinfo="text+x",
            )
        )
    values = done_x + done_y + pruned_x
    if values:
        figure.add_trace(
            go.Scatter(
                x=[min(values), max(values)],
                y=[min(values), max(values)],
                mode="lines",
                line={"dash": "dot", "color": "grey"},
                name="predicted = actual",
            )
        )
    figure.update_layout(
        title=f"NAAPPruner: predicted vs actual final accuracy ({len(done_x)} completed, "
        f"{len(pruned_x)} pruned)",
        xaxis_title="predicted final accuracy (at the decision)",
        yaxis_title="actual final accuracy (max over test-set evaluations)",
    )
    return figure


def refresh(study: optuna.study.Study) -> tuple[int, bool]:
    """Write the notes of decided trials that lack a current one, and the figure.

    Returns the number of notes written and whether the figure was saved (only when some
    trial has a decision).
    """
    dashboard = require_dashboard()
    trials = study.get_trials(deepcopy=False)
    written = sum(_save_note(study, t) for t in trials)
    decided = any(DECISION_ATTR in t.user_attrs for t in trials)
    if decided:
        dashboard.save_plotly_graph_object(
            study, prediction_figure(study), graph_object_id=FIGURE_ID
        )
    return written, decided


class DashboardCallback:
    """An Optuna callback keeping the notes and the figure current while a study runs.

    Args:
        every: Refresh the figure after this many finished trials (notes after every trial).

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap.integrations.dashboard import DashboardCallback

            def objective(trial):
                return trial.suggest_float("x", 0, 1)

            study = optuna.create_study(
                storage="sqlite:///dashboard-example.db",
                study_name="example",
                direction="maximize",
                load_if_exists=True,
            )
            study.optimize(objective, n_trials=3, callbacks=[DashboardCallback()])
    """

    def __init__(self, every: int = 10) -> None:
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, but got {every=}")
        require_dashboard()
        self._every = every
        self._seen = 0

    def __call__(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> None:
        dashboard = require_dashboard()
        note = decision_note(trial)
        if note is not None:
            dashboard.save_note(_TrialRef(study, trial._trial_id), note)
        self._seen += 1
        if self._seen % self._every == 0:
            dashboard.save_plotly_graph_object(
                study, prediction_figure(study), graph_object_id=FIGURE_ID
            )


def serve(storage: str, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Refresh every study's notes and figure, then run optuna-dashboard until interrupted."""
    dashboard = require_dashboard()
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        refresh(optuna.load_study(study_name=summary.study_name, storage=storage))
    dashboard.run_server(storage, host=host, port=port)
