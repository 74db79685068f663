"""``triops kpis``: the shared KPI scorecard per project, as the web app's home page shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triops.cli.context import console, open_workspace, print_json


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data yet"
    text = f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}" if unit and unit not in ("metric",) else text


def kpis_cli(
    project: Annotated[
        list[str] | None,
        typer.Option("--project", "-p", help="project (repeatable; default: every readable one)"),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="store a snapshot of the scorecard (for trends)")
    ] = False,
    definitions: Annotated[
        Path | None, typer.Option("--definitions", help="a kpis.toml to use instead of TRIOPS_HOME/kpis.toml")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Print every KPI per project: value (with its interval), target, status and trend."""
    from rich.table import Table

    ws = open_workspace()
    text = None
    if definitions is not None:
        if not definitions.is_file():
            raise typer.BadParameter(f"{definitions} is not a file", param_hint="--definitions")
        text = definitions.read_text(encoding="utf-8")
    projects = project or ws.kpis.projects()
    boards = {
        p: (ws.kpis.record if record else ws.kpis.scorecard)(p, definitions_text=text) for p in projects
    }
    if as_json:
        print_json({p: [r.to_dict() for r in rows] for p, rows in boards.items()})
        return
    if not boards:
        console().print("no projects yet: run `triops demo` or track a run first")
    for name, rows in boards.items():
        table = Table(title=f"KPIs of {name}" + (" (snapshot recorded)" if record else ""))
        for col in ("KPI", "pillar", "value", "interval", "target", "status", "trend", "owner"):
            table.add_column(col)
        for r in rows:
            interval = f"[{r.low:.4g}, {r.high:.4g}]" if r.low is not None and r.high is not None else ""
            target = "" if r.target is None else f"{'≥' if r.direction == 'higher' else '≤'} {r.target:g}"
            value = format_value(r.value, r.unit) if r.value is not None else (r.note or "no data yet")
            table.add_row(r.name, r.pillar, value, interval, target, r.status, r.trend, r.owner)
        console().print(table)
