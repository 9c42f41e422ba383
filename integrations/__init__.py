"""Adapters to other tools, each behind an optional extra.

The adapters' code lives in the installed package, ``optuna_naap.integrations``, so that
``import optuna_naap.integrations.dashboard`` works from a source checkout and from an install
alike; this folder re-exports them (``integrations.dashboard``) and holds what is not Python
to import: ``optunahub/``, NAAPPruner packaged for the OptunaHub registry.
"""

from __future__ import annotations

__all__: list[str] = []
