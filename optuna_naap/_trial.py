"""Recording a trial's scheme and curve: the contract every objective uses.

What is recorded lives in the trial's user attributes (JSON, ``naap:`` namespace), so the pruner,
the export and optuna-dashboard read it from any storage and any process.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optuna_naap._optuna import cached_frozen_trial
from optuna_naap._record import (
    ACCURACY_ATTR,
    CURVE_ATTR,
    EXHAUSTED_ATTR,
    REFINED_SPACE_ATTR,
    SCHEME_ATTR,
)
from optuna_naap._scheme import Block, SchemeLike, scheme_to_dicts
from optuna_naap._space import SchemeSpace

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

__all__ = [
    "CURVE_ATTR",
    "SCHEME_ATTR",
    "record_scheme",
    "report_epoch",
    "scheme_params",
    "screen_scheme",
    "suggest_scheme",
    "trial_curve",
    "trial_scheme",
]

#: A block's attributes, in generation order.
ATTRIBUTES = ("kernel_size", "width", "stride", "residual")


def _param(position: int, name: str, choices: tuple[Any, ...], allowed: list[Any]) -> str:
    # Optuna fixes a categorical's choices per name: a restricted set gets a name of its own.
    base = f"naap_b{position}_{name}"
    return base if list(choices) == allowed else _param_name(base, allowed)


def _param_name(base: str, allowed: list[Any]) -> str:
    return base + "_" + "_".join(str(v).lower() for v in allowed)


def suggest_scheme(
    trial: optuna.trial.Trial, space: SchemeSpace | None = None, *, screen: bool = True
) -> list[dict[str, Any]]:
    """Sample a valid scheme of ``space`` with define-by-run parameters and record it.

    The depth is suggested first (``naap_depth``), then each block's kernel, width, stride and
    residual (``naap_b{i}_kernel_size`` ...). Options that would break the space's rules
    (residual where shapes differ, too many strided blocks, a depth that cannot be completed)
    are never offered; where they are excluded the parameter is named after the allowed options,
    since Optuna fixes a categorical's choices per name. Works with any sampler.

    With a :class:`~optuna_naap.NAAPSampler`: a trial whose scheme another trial of the study
    holds already (waiting, running, complete or pruned) is pruned before training, with
    ``naap:duplicate_of`` (see ``NAAPSampler(unique=...)``); a trial started after every scheme
    had run is pruned; with ``refine=`` the scheme comes from the refined space the
    sampler chose for the trial (inside ``space``; refined parameters are named after their
    fewer choices); with ``prescreen=`` the scheme is screened before it is returned and the
    trial pruned if hopeless (``screen=False`` leaves that to :func:`screen_scheme`).

    Returns:
        The scheme in JSON form, also stored in the trial's ``naap:scheme`` user attribute.

    Raises:
        optuna.TrialPruned: when the space is exhausted, another trial holds the scheme, or the
            pre-screen skips it.

    Example:
        .. code-block:: python

            import optuna
            from optuna_naap import suggest_scheme

            def objective(trial):
                scheme = suggest_scheme(trial)
                return len(scheme)

            optuna.create_study(direction="maximize").optimize(objective, n_trials=5)
    """
    if trial.user_attrs.get(EXHAUSTED_ATTR):
        import optuna

        raise optuna.TrialPruned("every scheme of the space has run (exhaustive NAAPSampler)")
    space = space or SchemeSpace()
    scheme = _walk(_refined_space(trial, space) or space, trial.suggest_categorical, names=space)
    trial.set_user_attr(SCHEME_ATTR, scheme)
    claim = getattr(getattr(getattr(trial, "study", None), "sampler", None), "claim", None)
    if claim is not None:
        claim(trial, scheme)  # another worker sampled it at the same moment: not trained twice
    if screen:
        screen_scheme(trial, scheme)
    return scheme


def _refined_space(trial: optuna.trial.Trial, space: SchemeSpace) -> SchemeSpace | None:
    # The sampler annotates the frozen trial the live one reads (see NAAPSampler.before_trial).
    frozen = cached_frozen_trial(trial)
    data = frozen.system_attrs.get(REFINED_SPACE_ATTR) if frozen is not None else None
    if data is None:
        return None
    refined = SchemeSpace.from_json(data)
    if not refined.within(space):
        import warnings

        warnings.warn(
            "the sampler's refined space is not inside the objective's space (give NAAPSampler "
            "the space the objective samples); sampling the objective's space",
            stacklevel=3,
        )
        return None
    return refined


def screen_scheme(trial: optuna.trial.Trial, scheme: SchemeLike) -> None:
    """Ask the study's :class:`~optuna_naap.NAAPSampler` pre-screen about ``scheme``.

    A no-op unless the sampler has a ``prescreen``; for objectives that pick the scheme to
    train themselves (a replay, an enqueued list) after ``suggest_scheme(trial, screen=False)``.

    Raises:
        optuna.TrialPruned: when the pre-screen says the scheme cannot reach the top.
    """
    screen = getattr(getattr(trial, "study", None), "sampler", None)
    screen = getattr(screen, "screen", None)
    if screen is not None:
        screen(trial, scheme_to_dicts(scheme))


def _walk(
    space: SchemeSpace,
    choose: Callable[[str, list[Any]], Any],
    *,
    names: SchemeSpace | None = None,
) -> list[dict[str, Any]]:
    """Build a scheme option by option, asking ``choose(param_name, allowed)`` where there is
    a choice: the one place that decides suggest_scheme's parameter names and choices.

    Parameter names follow the choices of ``names`` (default ``space``), the space the study
    samples, so that a refined space inside it gets names of its own where choices differ."""
    names = names or space
    depths = space.feasible_depths()
    if len(depths) == 1:
        depth = depths[0]
    else:
        all_depths = names.feasible_depths()
        name = "naap_depth" if depths == all_depths else _param_name("naap_depth", depths)
        depth = int(choose(name, depths))
    prefix: list[Block] = []
    for position in range(depth):
        choices = names.positions[position]
        values: dict[str, Any] = {}
        for name, options in (
            ("kernel_size", choices.kernel_sizes),
            ("width", choices.widths),
            ("stride", choices.strides),
            ("residual", choices.residuals),
        ):
            allowed = space.allowed_values(prefix, depth, name, values)
            if len(allowed) == 1:
                values[name] = allowed[0]
            else:
                values[name] = choose(_param(position, name, options, allowed), allowed)
        prefix.append(Block(**values))
    return [b.to_json() for b in prefix]


def scheme_params(scheme: SchemeLike, space: SchemeSpace | None = None) -> dict[str, Any]:
    """The parameters :func:`suggest_scheme` gives a trial that samples ``scheme``.

    For ``study.enqueue_trial(scheme_params(scheme))``: the enqueued trial then trains exactly
    this scheme, with the parameter names and choices every other trial uses.

    Raises:
        ValueError: if the scheme is not in the space.
    """
    return _params_and_distributions(scheme, space or SchemeSpace())[0]


def _params_and_distributions(
    scheme: SchemeLike, space: SchemeSpace
) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
    """:func:`scheme_params` and each parameter's distribution (for ``create_trial``)."""
    from optuna.distributions import CategoricalDistribution

    wanted = scheme_to_dicts(space.validate(scheme))
    params: dict[str, Any] = {}
    distributions: dict[str, BaseDistribution] = {}

    def choose(name: str, allowed: list[Any]) -> Any:
        if name == "naap_depth":
            value: Any = len(wanted)
        else:
            position, attribute = name[len("naap_b") :].split("_", 1)
            key = next(a for a in ATTRIBUTES if attribute == a or attribute.startswith(a + "_"))
            value = wanted[int(position)][key]
        params[name] = value
        distributions[name] = CategoricalDistribution(allowed)
        return value

    _walk(space, choose)
    return params, distributions


def record_scheme(trial: optuna.trial.Trial, scheme: SchemeLike) -> list[dict[str, Any]]:
    """Record on ``trial`` a scheme the objective chose itself (a replay, an enqueued scheme,
    own code).

    Raises:
        ValueError: if the scheme is invalid (naming the block).
    """
    json_scheme = scheme_to_dicts(scheme)
    trial.set_user_attr(SCHEME_ATTR, json_scheme)
    return json_scheme


def report_epoch(
    trial: optuna.trial.Trial,
    epoch: int,
    *,
    accuracy: float,
    loss_mean: float,
    loss_median: float,
) -> None:
    """Report one finished epoch: ``trial.report(accuracy, epoch)`` plus its two losses.

    In a multi-objective study (accuracy against costs, see :mod:`optuna_naap.pareto`), where
    Optuna's ``trial.report`` raises, the accuracy goes to the ``naap:accuracies`` user
    attribute instead; ask :func:`~optuna_naap.should_prune` there, not
    ``trial.should_prune()``.

    Epochs are 1-based, as in the NAAP-440 CSV (``e1Accuracy`` is epoch 1); ``accuracy`` is a
    fraction in [0, 1], ``loss_mean`` and ``loss_median`` the mean and median of the epoch's
    batch losses (finite, >= 0). The losses go into the ``naap:losses`` user attribute so that the
    pruner, the export and the dashboard read them from the stored trial. NaN (a diverged
    epoch) is stored as it is (JSON ``NaN``) and treated as missing by the pruner. Everything
    is checked before anything is written. An epoch reported again keeps its first values
    and warns, as ``trial.report`` does.

    Raises:
        ValueError: if ``epoch`` is not a positive integer, ``accuracy`` is not NaN or in
            [0, 1] (a value in (1, 100] gets a hint about percentages), or a loss is not NaN
            or a finite number >= 0.
    """
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        raise ValueError(f"epoch must be a positive integer (1-based), but got {epoch=}")
    accuracy = _checked_number("accuracy", accuracy, upper=1.0)
    loss_mean = _checked_number("loss_mean", loss_mean)
    loss_median = _checked_number("loss_median", loss_median)
    # The trial's own intermediate values say what it reported (user attributes may be copies
    # from a retried trial's earlier attempt).
    frozen = cached_frozen_trial(trial)
    if frozen is not None and epoch in frozen.intermediate_values:
        import warnings

        warnings.warn(
            f"epoch {epoch} was already reported; its first values are kept", stacklevel=2
        )
        return
    losses = dict(trial.user_attrs.get(CURVE_ATTR, {}))
    losses[str(epoch)] = [loss_mean, loss_median]

    # The accuracy first: Optuna's own checks (a step it already holds) run before ours write.
    if is_multi_objective(trial):
        record_accuracy(trial, epoch, accuracy)  # Optuna's report refuses it there
    else:
        trial.report(accuracy, epoch)
    trial.set_user_attr(CURVE_ATTR, losses)


def _checked_number(name: str, value: Any, *, upper: float = math.inf) -> float:
    """``value`` as a float: NaN, or a number in [0, ``upper``]; else a ValueError that says
    what is wrong (and, for an accuracy in percent, what to do)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, but got {name}={value!r}")
    number = float(value)
    if math.isnan(number) or (0 <= number <= upper and math.isfinite(number)):
        return number
    hint = ""
    if upper == 1.0 and 1 < number <= 100:
        hint = f" (it looks like a percentage: pass {number / 100:g})"
    elif math.isinf(number) and math.isinf(upper):
        hint = " (NaN marks a diverged epoch)"
    bounds = f"a number in [0, {upper:g}]" if math.isfinite(upper) else "a finite number >= 0"
    raise ValueError(f"{name} must be NaN or {bounds}, but got {name}={value!r}{hint}")


def trial_scheme(trial: optuna.trial.FrozenTrial) -> list[dict[str, Any]] | None:
    """Return the scheme recorded on a trial, or ``None`` when there is none or it is invalid."""
    raw = trial.user_attrs.get(SCHEME_ATTR)
    if raw is None:
        return None
    try:
        return scheme_to_dicts(json.loads(raw) if isinstance(raw, str) else raw)
    except (ValueError, TypeError):
        return None


def accuracy_curve(trial: optuna.trial.FrozenTrial) -> dict[int, float]:
    """A trial's reported accuracies by epoch: its intermediate values, or in a
    multi-objective study (which has none) its ``naap:accuracies`` user attribute."""
    if trial.intermediate_values:
        return trial.intermediate_values
    stored = trial.user_attrs.get(ACCURACY_ATTR)
    if not isinstance(stored, dict):
        return {}
    curve: dict[int, float] = {}
    for key, value in stored.items():
        if str(key).isdigit() and isinstance(value, (int, float)):
            curve[int(key)] = float(value)
    return curve


def latest_epoch(trial: optuna.trial.FrozenTrial) -> int | None:
    """The last step a trial reported (its accuracies: intermediate values or
    ``naap:accuracies``), or ``None``."""
    if trial.last_step is not None:
        return trial.last_step
    curve = accuracy_curve(trial)
    return max(curve) if curve else None


def trial_curve(trial: optuna.trial.FrozenTrial, epochs: int) -> dict[str, float] | None:
    """Return the first ``epochs`` epochs of a trial as NAAP CSV columns, or ``None``.

    ``None`` when an epoch's accuracy or losses are missing or not finite.
    """
    losses = trial.user_attrs.get(CURVE_ATTR, {})
    accuracies = accuracy_curve(trial)
    row: dict[str, float] = {}
    for epoch in range(1, epochs + 1):
        accuracy = accuracies.get(epoch)
        pair = losses.get(str(epoch)) if isinstance(losses, dict) else None
        if accuracy is None or not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return None
        values = (float(pair[0]), float(pair[1]), float(accuracy))
        if not all(math.isfinite(v) for v in values):
            return None
        row[f"e{epoch}LossMean"], row[f"e{epoch}LossMedian"], row[f"e{epoch}Accuracy"] = values
    return row


def is_multi_objective(trial: optuna.trial.BaseTrial) -> bool:
    """Whether ``trial`` belongs to a multi-objective study (a FixedTrial belongs to none)."""
    study = getattr(trial, "study", None)
    return study is not None and len(study.directions) > 1


def record_accuracy(trial: optuna.trial.Trial, epoch: int, accuracy: float) -> None:
    """Store an epoch's accuracy in a multi-objective study, where ``trial.report`` raises.

    It goes to the trial's ``naap:accuracies`` user attribute, not to Optuna's intermediate
    values: Optuna's multi-objective samplers (TPE) assume a pruned trial there has none.
    """
    accuracies = dict(trial.user_attrs.get(ACCURACY_ATTR) or {})
    accuracies[str(epoch)] = float(accuracy)
    trial.set_user_attr(ACCURACY_ATTR, accuracies)


def recorded_scheme(trial: optuna.trial.FrozenTrial) -> list[dict[str, Any]] | None:
    """The scheme of a trial that recorded one and report_epoch's losses, else ``None``."""
    return trial_scheme(trial) if CURVE_ATTR in trial.user_attrs else None
