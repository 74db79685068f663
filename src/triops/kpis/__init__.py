"""The shared KPI scorecard: data quality × model performance × cost efficiency, read off one store.

``legacy`` keeps the workspace-wide figures of the first API (``/kpis/scorecard``); the per-project
scorecard is ``definitions`` (defaults and ``kpis.toml``) evaluated over ``facts`` by ``board``, with
snapshots kept over time for trends.
"""

from __future__ import annotations

from triops.kpis.board import KpiRow, evaluate, load_history, record_snapshot
from triops.kpis.definitions import DEFAULT_KPIS, KpiDefinition, load_definitions
from triops.kpis.facts import FACT_PROVIDERS, Facts, gather_facts
from triops.kpis.legacy import Kpi, Scorecard, scorecard

__all__ = [
    "DEFAULT_KPIS",
    "FACT_PROVIDERS",
    "Facts",
    "Kpi",
    "KpiDefinition",
    "KpiRow",
    "Scorecard",
    "evaluate",
    "gather_facts",
    "load_definitions",
    "load_history",
    "record_snapshot",
    "scorecard",
]
