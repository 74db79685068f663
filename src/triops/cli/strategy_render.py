"""How the strategy commands show their results: the shared lazy console, JSON on stdout, and the rich
tables of a simulation comparison and of a sensitivity (tornado) run.

Every comparison shows its header (level, seed, size, shocks, overrides, effects, currency) above the table
and its assumptions line below it, as the JSON does. rich is imported inside the functions so importing this
module for ``triops --help`` stays cheap. The assessment views are in ``cli/strategy_assess_render.py``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from triops.cli.context import LazyConsole

if TYPE_CHECKING:
    from rich.table import Table

    from triops.strategy.sensitivity import SensitivityResult
    from triops.strategy.simulation import LevelControls, SimulationResult


console: Any = LazyConsole()


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "-"
    return f"{x:.1f}" if abs(x) < 10 else f"{x:,.0f}"


def _cell(key: str, value: float) -> str:
    from triops.strategy.simresult import SHARES

    if key in SHARES and value == value:
        return f"{value * 100:+.0f}%"
    return _fmt(value)


def comparison_table(result: SimulationResult) -> Table:
    """The side-by-side table; its caption is the assumptions line."""
    from rich.table import Table

    from triops.strategy.simresult import METRICS, metric_label

    table = Table(title="AI project portfolio: outcomes by approach", caption=result.assumptions_line())
    table.add_column("outcome (median [90 % interval])")
    for a in result.approaches:
        table.add_column(a.name, justify="right")
    for key in METRICS:
        cells = []
        for a in result.approaches:
            s = a.metrics[key]
            cells.append(f"{_cell(key, s.median)} [{_cell(key, s.low)} to {_cell(key, s.high)}]")
        table.add_row(metric_label(key, result.currency), *cells)
    return table


def print_comparison(result: SimulationResult) -> None:
    console.print(f"[bold]{result.header()}[/]")
    console.print(comparison_table(result))
    for a in result.approaches:
        console.print(f"[bold]{a.name}[/]: {', '.join(a.practices) or 'no shared practices'}")


def print_sensitivity(result: SensitivityResult) -> None:
    """Tornado data as a table: each assumed effect, neutral and doubled, widest swing first."""
    from rich.table import Table

    console.print(f"[bold]{result.header}[/]")
    widest = max((r.swing for r in result.rows), default=0.0) or 1.0
    table = Table(
        title=f"Which assumptions move the outcome most ({result.outcome}; as assumed: {_fmt(result.base)})",
        caption=result.assumptions,
    )
    table.add_column("assumed effect (--set name)", overflow="fold")
    for col in ("value", "if no effect", "if twice as strong", "swing"):
        table.add_column(col, justify="right")
    table.add_column("", no_wrap=True)
    for r in result.rows:
        bar = "█" * max(round(10 * r.swing / widest), 1 if r.swing > 0 else 0)
        table.add_row(
            r.effect, f"{r.assumed:g}", _fmt(r.outcome_neutral), _fmt(r.outcome_stronger), _fmt(r.swing), bar
        )
    console.print(table)


def print_controls(c: LevelControls) -> None:
    console.print(f"[bold]At level {c.level} a learner can change:[/]")
    console.print("  approaches to compare: " + ", ".join(c.approaches) + "  (--compare)")
    console.print("  levers (on top of siloed; --levers):")
    for name, label in c.levers:
        console.print(f"    {name}: {label}")
    if c.practices:
        console.print("  any mix of practices (--practices):")
        for name, label in c.practices:
            console.print(f"    {name}: {label}")
    else:
        console.print("  practices: not at this level (level standard lets you mix any practices)")
    console.print(
        f"  every parameter (--set NAME=VALUE): {len(c.parameters)} parameters (see --sources)"
        if c.parameters
        else "  parameters: not at this level (level expert lets you --set any parameter)"
    )
    console.print(f"  random shocks: {'on' if c.shocks else 'off'}; --neutral works at every level")


__all__ = ["comparison_table", "console", "print_comparison", "print_controls", "print_sensitivity"]
