"""``optuna-naap search``: the NAS study, with a live view (imports torch)."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from optuna_naap._front import pareto_mask
from optuna_naap._objective import CIFAR10Objective, EpochResult
from optuna_naap._optuna import storage_of, trial_id_of
from optuna_naap._pareto import ParetoObjectives
from optuna_naap._record import DECISION_ATTR, SCHEME_ATTR
from optuna_naap.cli._interrupt import interrupt_outside_storage
from optuna_naap.cli._recovery import tracked

__all__ = ["SearchView", "describe_best", "print_best", "run_search"]


@dataclass
class SearchView:
    """What the live view shows: the running trial, its epochs, the pruner's last word."""

    n_trials: int | None
    epochs: int
    trial: int | None = None
    scheme_depth: int = 0
    epoch: int = 0
    accuracy: float = math.nan
    predicted: float | None = None
    verdict: str = ""
    best: float = math.nan
    best_trial: int | None = None
    finished: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    #: Multi-objective studies: the objectives, and the completed trials' (number, values).
    objectives: ParetoObjectives | None = None
    complete: list[tuple[int, list[float]]] = field(default_factory=list)

    def count(self, study: optuna.study.Study) -> None:
        """Count the study's trials by state, as the storage holds them now (a queued trial
        that has run since is no longer waiting; other workers' trials count too)."""
        self.finished = dict(Counter(t.state.name for t in study.get_trials(deepcopy=False)))

    def consider(self, trial: optuna.trial.FrozenTrial) -> None:
        """Keep the best COMPLETE trial (its values, for a multi-objective front)."""
        if trial.state != optuna.trial.TrialState.COMPLETE or not trial.values:
            return
        if self.objectives is not None:
            self.complete.append((trial.number, list(trial.values)))
            accuracy, _ = self.objectives.split(trial.values)
        else:
            accuracy = trial.values[0]
        if self.best_trial is None or accuracy > self.best:
            self.best, self.best_trial = float(accuracy), trial.number

    def front(self) -> list[tuple[int, list[float]]]:
        """The completed trials on the current Pareto front, cheapest first."""
        if self.objectives is None or not self.complete:
            return []
        split = [self.objectives.split(v) for _, v in self.complete]
        mask = pareto_mask([a for a, _ in split], [c for _, c in split])
        on = [(n, v) for (n, v), m in zip(self.complete, mask, strict=True) if m]
        return sorted(on, key=lambda item: self.objectives.split(item[1])[1])  # type: ignore[union-attr]

    def render(self, progress: Progress) -> Group:
        table = Table(show_header=True, header_style="bold", expand=False)
        for column in ("trial", "blocks", "epoch", "accuracy", "predicted final", "best so far"):
            table.add_column(column, justify="right")
        table.add_row(
            "-" if self.trial is None else str(self.trial),
            str(self.scheme_depth or "-"),
            f"{self.epoch}/{self.epochs}",
            "-" if math.isnan(self.accuracy) else f"{self.accuracy:.4f}",
            "-" if self.predicted is None else f"{self.predicted:.4f} ({self.verdict})",
            "-" if self.best_trial is None else f"{self.best:.4f} (trial {self.best_trial})",
        )
        done = ", ".join(f"{n} {state.lower()}" for state, n in sorted(self.finished.items()))
        parts: list[Any] = [progress, table]
        front = self.front()
        if front and self.objectives is not None:
            shown = Table(title=f"Pareto front ({len(front)} trials)", header_style="bold")
            for column in ("trial", *self.objectives.names):
                shown.add_column(column, justify="right")
            for number, values in front[:10]:
                shown.add_row(str(number), *(f"{v:.4g}" for v in values))
            parts.append(shown)
        parts.append(f"[dim]{done or 'no trial finished yet'}[/]")
        return Group(*parts)


def run_search(
    study: optuna.study.Study,
    objective: CIFAR10Objective,
    *,
    n_trials: int | None,
    console: Console | None = None,
    live: bool = True,
    callbacks: list[Callable[[optuna.study.Study, optuna.trial.FrozenTrial], None]] | None = None,
    objectives: ParetoObjectives | None = None,
) -> SearchView:
    """Optimize ``study`` with ``objective`` under a rich live view; return the final view.

    Each trial records its process (``naap:worker``). Ctrl-C or SIGTERM propagates as a
    KeyboardInterrupt after Optuna has marked the running trial FAIL and its scheme was queued
    again, so the storage stays consistent and the same command resumes. ``objectives``: a
    multi-objective study's, as the command parsed them (default: read from the study).
    """
    console = console or Console(stderr=True)
    view = SearchView(n_trials, objective.recipe.epochs)
    if len(study.directions) > 1:
        view.objectives = objectives or ParetoObjectives.of_study(study)
    view.count(study)
    for trial in study.get_trials(deepcopy=False):
        view.consider(trial)
    progress = Progress(
        TextColumn("[bold]search[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trials"),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("trials", total=n_trials)

    def on_epoch(trial: optuna.trial.Trial, result: EpochResult) -> None:
        view.trial, view.epoch, view.accuracy = trial.number, result.epoch, result.accuracy
        scheme = trial.user_attrs.get(SCHEME_ATTR) or []
        view.scheme_depth = len(scheme)
        # The pruner writes its decisions through the storage: read the latest from there.
        stored = storage_of(study).get_trial(trial_id_of(trial)).user_attrs.get(DECISION_ATTR)
        if isinstance(stored, dict) and stored.get("predicted") is not None:
            view.predicted, view.verdict = stored["predicted"], stored["verdict"]
        screen.update(view.render(progress))

    def after_trial(study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> None:
        view.count(study)
        decision = trial.user_attrs.get(DECISION_ATTR)
        if isinstance(decision, dict) and decision.get("predicted") is not None:
            view.predicted, view.verdict = decision["predicted"], decision["verdict"]
        view.consider(trial)
        progress.advance(task)
        screen.update(view.render(progress))

    objective.on_epoch = on_epoch
    with (
        interrupt_outside_storage(),
        Live(
            view.render(progress), console=console, refresh_per_second=4, transient=not live
        ) as screen,
    ):
        study.optimize(
            tracked(objective),
            n_trials=n_trials,
            callbacks=[*(callbacks or []), after_trial],
            gc_after_trial=True,
        )
    console.print()
    return view


def describe_best(
    study: optuna.study.Study, objectives: ParetoObjectives | None = None
) -> dict[str, Any] | None:
    """The best COMPLETE trial's number, value and scheme, or None (multi-objective: the
    most accurate trial of the front; ``objectives`` default: read from the study)."""
    if len(study.directions) > 1:
        objectives = objectives or ParetoObjectives.of_study(study)
        front = study.best_trials
        if not front:
            return None
        best = max(front, key=lambda t: objectives.split(t.values)[0])
        return {
            "trial": best.number,
            "value": objectives.split(best.values)[0],
            "scheme": best.user_attrs.get(SCHEME_ATTR),
            "front": [t.number for t in sorted(front, key=lambda t: t.number)],
        }
    try:
        best = study.best_trial
    except ValueError:
        return None
    return {
        "trial": best.number,
        "value": best.value,
        "scheme": best.user_attrs.get(SCHEME_ATTR),
    }


def print_best(study: optuna.study.Study, objectives: ParetoObjectives | None = None) -> None:
    """Print the study's best trial (multi-objective: its front) and its scheme on stdout."""
    best = describe_best(study, objectives)
    if best is None:
        print("no trial completed yet")
        return
    if "front" in best:
        print(f"Pareto front: trials {', '.join(str(n) for n in best['front'])}")
        print(f"most accurate on it: trial {best['trial']}: accuracy {best['value']:.4f}")
    else:
        print(f"best trial {best['trial']}: accuracy {best['value']:.4f}")
    print(f"scheme: {json.dumps(best['scheme'])}")
