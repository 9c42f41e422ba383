"""Adapters to other tools, each behind an optional extra (``optuna_naap.integrations``).

``optuna_naap.integrations.dashboard``: optuna-dashboard notes, figure and server
(``pip install "optuna-naap[dashboard]"``).
"""

from __future__ import annotations

__all__: list[str] = []
