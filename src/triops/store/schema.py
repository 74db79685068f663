"""The whole schema: importing this module registers every table on ``metadata`` (the foundation tables and
each pillar's ``tables_<pillar>`` module)."""

from __future__ import annotations

import importlib
import pkgutil

import triops.store
from triops.store import tables
from triops.store.metadata import metadata

for _module in pkgutil.iter_modules(triops.store.__path__):
    if _module.name.startswith("tables_"):
        importlib.import_module(f"triops.store.{_module.name}")

__all__ = ["metadata", "tables"]
