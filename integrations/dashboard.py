"""optuna-dashboard adapter: the code is ``optuna_naap.integrations.dashboard``."""

from __future__ import annotations

from optuna_naap.integrations.dashboard import *  # noqa: F403
from optuna_naap.integrations.dashboard import __all__  # noqa: F401
