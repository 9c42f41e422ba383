"""The Optuna internals optuna-naap relies on (optuna_naap/_optuna.py), checked on the installed
release, and the range of releases the package declares."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import optuna
import pytest
import tomllib

from optuna_naap import _optuna

ROOT = Path(__file__).resolve().parents[1]


def test_the_declared_optuna_range_is_the_supported_one() -> None:
    """pyproject.toml's requirement and SUPPORTED_OPTUNA say the same, and the installed Optuna
    is inside it."""
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [r for r in requirements if re.match(r"optuna\b(?!-)", r)]
    (low, high) = _optuna.SUPPORTED_OPTUNA
    assert spec == f"optuna>={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}"
    assert _optuna.supported(), optuna.__version__
    assert _optuna.supported("4.0.0") and _optuna.supported(f"{high[0]}.{high[1]}.9")
    assert not _optuna.supported("3.6.1") and not _optuna.supported(f"{high[0]}.{high[1] + 1}.0")


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_accessors_on_a_real_study(storage: str, tmp_path: Path) -> None:
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 'o.db'}"
    study = optuna.create_study(storage=url, direction="maximize")
    other = optuna.create_study(storage=url, direction="maximize") if url else None
    trial = study.ask()
    trial.report(0.5, 1)
    assert isinstance(_optuna.storage_of(study), optuna.storages.BaseStorage)
    assert _optuna.storage_of(study).get_study_id_from_name(study.study_name) == (
        _optuna.study_id_of(study)
    )
    if other is not None:
        assert _optuna.study_id_of(other) != _optuna.study_id_of(study)
    frozen = _optuna.latest_trial(trial)
    assert isinstance(frozen, optuna.trial.FrozenTrial)
    assert frozen.intermediate_values == {1: 0.5}
    assert _optuna.trial_id_of(trial) == _optuna.trial_id_of(frozen)
    assert _optuna.storage_of(study).get_trial(_optuna.trial_id_of(trial)).number == trial.number
    cached = _optuna.cached_frozen_trial(trial)
    assert cached is not None and 1 in cached.intermediate_values
    assert _optuna.cached_frozen_trial(optuna.trial.FixedTrial({})) is None
    study.tell(trial, 0.5)


def test_hypervolume_and_quiet_experimental() -> None:
    losses = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    assert _optuna.compute_hypervolume(losses, np.array([4.0, 4.0])) == pytest.approx(6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _optuna.quiet_experimental():
            optuna.create_study(directions=["maximize", "minimize"]).set_metric_names(["a", "b"])
        pruner = _optuna.quietly(optuna.pruners.WilcoxonPruner)
    assert isinstance(pruner, optuna.pruners.WilcoxonPruner)


def test_storage_modules_are_where_optuna_writes() -> None:
    """The interrupt guard's module prefixes still name Optuna's storage code."""
    import importlib

    for name in ("optuna.storages", "optuna.study._tell"):
        assert name in _optuna.STORAGE_MODULES
        importlib.import_module(name)
