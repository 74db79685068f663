"""How the strategy commands (``cli/strategy.py``) show their results: the shared lazy console, JSON on
stdout, and the rich tables for a simulation, a maturity assessment and the end of ``triops demo``.

rich is imported inside the functions so importing this module for ``triops --help`` stays cheap.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from triops.cli.context import LazyConsole

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from triops.strategy.demo import DemoSummary
    from triops.strategy.simulation import SimulationResult


console: Any = LazyConsole()

_LABELS = {
    "projects_in_production": "projects in production",
    "time_to_production_weeks": "time to production (weeks)",
    "total_cost": "total cost (k)",
    "cost_overrun": "development cost overrun",
    "value_delivered": "value delivered (k)",
    "incidents": "incidents (all)",
    "data_incidents": "data incidents",
    "compliance_findings": "compliance findings",
    "trust_incidents": "public-trust incidents",
    "detection_delay_weeks": "weeks to notice degradation",
}


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "-"
    return f"{x:.1f}" if abs(x) < 10 else f"{x:,.0f}"


def _comparison_table(result: SimulationResult) -> Table:
    from rich.table import Table

    table = Table(
        title=f"{result.runs:,} runs x {result.projects} projects x {result.weeks} weeks (seed {result.seed})"
    )
    table.add_column("outcome (median [90 % interval])")
    for a in result.approaches:
        table.add_column(a.name, justify="right")
    for key, label in _LABELS.items():
        cells = []
        for a in result.approaches:
            s = a.metrics[key]
            pct = key == "cost_overrun"
            med, low, high = (
                f"{v * 100:+.0f}%" if pct and v == v else _fmt(v) for v in (s.median, s.low, s.high)
            )
            cells.append(f"{med} [{low} to {high}]")
        table.add_row(label, *cells)
    return table


def maturity_table(result: Any) -> Table:
    """A rich table of a :class:`MaturityResult` (pillar levels, then dimensions)."""
    from rich.table import Table

    table = Table(title=f"maturity (overall level {result.overall})")
    for col in ("pillar", "dimension", "level", "source", "criterion met"):
        table.add_column(col, overflow="fold")
    for p in result.pillars:
        table.add_row(
            f"[bold]{p.pillar}[/]", "[bold]pillar (weakest required)[/]", f"[bold]{p.level}[/]", "", ""
        )
        for d in result.dimensions:
            if d.pillar == p.pillar:
                name = d.name + ("" if d.required else " (optional)")
                table.add_row("", name, str(d.level), d.source, d.criterion)
    return table


def print_demo_summary(summary: DemoSummary, out: Console | None = None) -> None:
    """One screen for the end of ``triops demo``: pillar levels with their basis, then the first actions."""
    from rich.table import Table

    out = out or console
    table = Table(title=f"maturity from the demo's own records (overall level {summary.maturity.overall})")
    for col in ("pillar", "level", "weakest required", "basis"):
        table.add_column(col)
    for p in summary.maturity.pillars:
        dims = [d for d in summary.maturity.dimensions if d.pillar == p.pillar]
        basis = ", ".join(
            f"{sum(d.source == s for d in dims)} {s}"
            for s in ("evidence", "self-reported", "unanswered")
            if any(d.source == s for d in dims)
        )
        table.add_row(p.pillar, str(p.level), ", ".join(p.weakest), basis)
    out.print(table)
    out.print("[bold]First roadmap actions[/]")
    for a in summary.first_actions:
        out.print(
            f"  day {a.phase_days - 29}-{a.phase_days}: {a.title} ({a.owner_role}); "
            f"done when {a.done.description}"
        )
    out.print("Full plan: triops assess maturity --out m.json && triops roadmap --from m.json")


__all__ = ["console", "maturity_table", "print_demo_summary"]
