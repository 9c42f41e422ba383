"""optuna-dashboard: NAAPPruner's decisions as trial notes, a predicted-vs-actual figure, and
for multi-objective studies the Pareto front with pruned trials at their predicted accuracy.

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

from optuna_naap._checks import check_int
from optuna_naap._front import front_points
from optuna_naap._optuna import storage_of, trial_id_of
from optuna_naap._pareto import ParetoObjectives
from optuna_naap._record import DECISION_ATTR, NOTED_ATTR

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "FIGURE_ID",
    "PARETO_FIGURE_ID",
    "DashboardCallback",
    "decision_note",
    "pareto_figure",
    "prediction_figure",
    "refresh",
    "require_dashboard",
    "serve",
]

#: The figure's id in the study: saving again replaces it.
FIGURE_ID = "naap-predicted-vs-actual"
#: The Pareto-front figure's id in a multi-objective study (one per cost: ``-<cost>`` added).
PARETO_FIGURE_ID = "naap-pareto-front"
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
        return storage_of(self.study)


def _final_accuracy(
    trial: optuna.trial.FrozenTrial, study: optuna.study.Study | None
) -> float | None:
    """A COMPLETE trial's accuracy: its value, or in a multi-objective study the value the
    study names ``accuracy``."""
    if trial.state != TrialState.COMPLETE or not trial.values:
        return None
    if len(trial.values) == 1:
        return float(trial.values[0])
    if study is None:
        return None

    try:
        return ParetoObjectives.of_study(study).split(trial.values)[0]
    except ValueError:
        return None


def decision_note(
    trial: optuna.trial.FrozenTrial, study: optuna.study.Study | None = None
) -> str | None:
    """Markdown explaining the pruner's last decision on ``trial``, or None without one
    (``study`` finds the accuracy among a multi-objective trial's values)."""
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
    if isinstance(decision.get("costs"), list):
        lines.append(f"| costs | {', '.join(f'{c:.4g}' for c in decision['costs'])} |")
    final = _final_accuracy(trial, study)
    if final is not None:
        lines += ["", f"Final accuracy reached: **{final:.4f}**."]
    return "\n".join(lines)


def _save_note(study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
    note = decision_note(trial, study)
    if note is None or trial.user_attrs.get(_NOTED_ATTR) == note:
        return False
    dashboard = require_dashboard()
    dashboard.save_note(_TrialRef(study, trial_id_of(trial)), note)
    if not trial.state.is_finished():
        storage_of(study).set_trial_user_attr(trial_id_of(trial), _NOTED_ATTR, note)
    return True


def prediction_figure(study: optuna.study.Study) -> go.Figure:
    """Plotly figure of ``study``: each decided trial's predicted final against its actual
    final accuracy.

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
        final = _final_accuracy(trial, study)
        if final is not None:
            done_x.append(predicted)
            done_y.append(final)
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


def pareto_figure(study: optuna.study.Study, cost: str | None = None) -> go.Figure:
    """Plotly figure of a multi-objective NAS study: accuracy against ``cost`` (default the
    first) for the completed trials, the front they form, and the pruned trials at the
    accuracy predicted when they were pruned (their exact cost is known)."""
    import plotly.graph_objects as go

    objectives = ParetoObjectives.of_study(study)
    cost = cost or objectives.costs[0]
    j = objectives.costs.index(cost)
    points = front_points(study, objectives)
    done = points["complete"]
    front = sorted((p for p in done if p[3]), key=lambda p: p[2][j])
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[p[2][j] for p in done],
            y=[p[1] for p in done],
            mode="markers",
            name=f"completed ({len(done)})",
            text=[f"trial {p[0]}" for p in done],
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[p[2][j] for p in front],
            y=[p[1] for p in front],
            mode="lines+markers",
            line={"shape": "hv"},
            name=f"Pareto front ({len(front)})",
            text=[f"trial {p[0]}" for p in front],
        )
    )
    pruned = points["pruned"]
    figure.add_trace(
        go.Scatter(
            x=[p[2][j] for p in pruned],
            y=[p[1] for p in pruned],
            mode="markers",
            marker={"symbol": "x", "size": 7},
            name=f"pruned, at predicted accuracy ({len(pruned)})",
            text=[f"trial {p[0]} pruned at epoch {p[3]}" for p in pruned],
        )
    )
    figure.update_layout(
        title=f"NAAPPruner: Pareto front of accuracy and {cost} ({len(done)} completed, "
        f"{len(pruned)} pruned at their predicted accuracy)",
        xaxis={"title": f"{cost} (exact)", "type": "log"},
        yaxis_title="accuracy (completed: final; pruned: predicted)",
    )
    return figure


def _save_figures(study: optuna.study.Study) -> None:
    dashboard = require_dashboard()
    dashboard.save_plotly_graph_object(study, prediction_figure(study), graph_object_id=FIGURE_ID)
    if len(study.directions) > 1:
        try:
            costs = ParetoObjectives.of_study(study).costs
        except ValueError:
            return  # objectives not named: no front to draw
        for cost in costs:
            dashboard.save_plotly_graph_object(
                study, pareto_figure(study, cost), graph_object_id=f"{PARETO_FIGURE_ID}-{cost}"
            )


def refresh(study: optuna.study.Study) -> tuple[int, bool]:
    """Write the notes of ``study``'s decided trials that lack a current one, and the
    figures.

    Returns the number of notes written and whether the figure was saved (only when some
    trial has a decision).
    """
    require_dashboard()
    trials = study.get_trials(deepcopy=False)
    written = sum(_save_note(study, t) for t in trials)
    decided = any(DECISION_ATTR in t.user_attrs for t in trials)
    if decided:
        _save_figures(study)
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
        check_int("every", every, low=1)
        require_dashboard()
        self._every = every
        self._seen = 0

    def __call__(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> None:
        dashboard = require_dashboard()
        note = decision_note(trial, study)
        if note is not None:
            dashboard.save_note(_TrialRef(study, trial_id_of(trial)), note)
        self._seen += 1
        if self._seen % self._every == 0:
            _save_figures(study)


def serve(storage: str, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Refresh the notes and figures of every study in ``storage``, then run optuna-dashboard
    on ``host``:``port`` until interrupted."""
    dashboard = require_dashboard()
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        refresh(optuna.load_study(study_name=summary.study_name, storage=storage))
    dashboard.run_server(storage, host=host, port=port)
