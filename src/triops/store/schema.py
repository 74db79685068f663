"""The whole schema: importing this module registers every table on ``metadata``."""

from __future__ import annotations

from triops.store import tables
from triops.store.metadata import metadata

__all__ = ["metadata", "tables"]
