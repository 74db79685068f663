"""Strategy commands: ``simulate``, ``roadmap``, and the ``assess`` and ``wardley`` groups.

:func:`register` adds them all to the root app; ``app`` holds the same commands for tests. Heavy imports
(numpy, pydantic models, YAML data) happen inside the commands so ``triops --help`` stays fast. The
``assess`` group is in ``cli/strategy_assess.py``, ``wardley`` in ``cli/strategy_wardley.py``; how results
look is in ``cli/strategy_render.py`` and ``cli/strategy_assess_render.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from triops.cli.strategy_assess import assess_app, latest_assessment
from triops.cli.strategy_assess_render import maturity_table, print_demo_summary
from triops.cli.strategy_common import read_json, split, write_text
from triops.cli.strategy_render import (
    _emit_json,
    console,
    print_comparison,
    print_controls,
    print_sensitivity,
)
from triops.cli.strategy_wardley import wardley_app
from triops.errors import InvalidInputError


def _overrides(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InvalidInputError(f"--set {pair!r} is not NAME=NUMBER", hint="e.g. --set cancel_rate=0.02")
    return out


def _print_sources(as_json: bool) -> None:
    from rich.table import Table

    from triops.strategy.simparams import load_parameters

    params = load_parameters()
    rows = sorted(params.all_params().values(), key=lambda p: p.name)
    assumed = params.assumed_effects()
    if as_json:
        _emit_json(
            [
                {
                    "name": p.name,
                    "value": p.value,
                    "range": [p.low, p.high],
                    "source": p.source,
                    "assumed_effect": p.name in assumed,
                }
                for p in rows
            ]
        )
        return
    table = Table(title="simulation parameters", caption=f"* one of the {len(assumed)} assumed effects")
    for col in ("parameter", "default", "range", "source"):
        table.add_column(col, overflow="fold")
    for p in rows:
        mark = " *" if p.name in assumed else ""
        table.add_row(p.name + mark, f"{p.value:g}", f"[{p.low:g}, {p.high:g}]", p.source)
    console.print(table)


def simulate(
    compare: Annotated[
        str | None, typer.Option("--compare", help="named approaches, e.g. siloed,integrated")
    ] = None,
    levers: Annotated[
        str | None, typer.Option(help="add a 'your levers' mix: siloed plus these levers (every level)")
    ] = None,
    practices: Annotated[
        str | None, typer.Option(help="add a 'custom' mix of practices (level standard or expert)")
    ] = None,
    runs: Annotated[
        int | None, typer.Option(help="Monte Carlo runs (default 10,000; 2,000 with --sensitivity)")
    ] = None,
    projects: Annotated[int, typer.Option(help="projects in the portfolio")] = 5,
    weeks: Annotated[int, typer.Option(help="horizon in weeks")] = 104,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same result")] = 0,
    level: Annotated[
        str, typer.Option(help="intro (3 levers) | standard (practices) | expert (all)")
    ] = "standard",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="expert: NAME=VALUE parameter override")
    ] = None,
    neutral: Annotated[
        bool, typer.Option("--neutral", help="set every assumed practice effect to no effect")
    ] = False,
    currency: Annotated[str | None, typer.Option(help="label money in thousands of this ISO code")] = None,
    sensitivity: Annotated[
        bool, typer.Option("--sensitivity", help="rank the assumed effects by how much they move the outcome")
    ] = False,
    metric: Annotated[str, typer.Option(help="outcome the sensitivity ranks by")] = "net_value",
    sources: Annotated[bool, typer.Option("--sources", help="list every parameter with its source")] = False,
    show_controls: Annotated[
        bool, typer.Option("--controls", help="show what a learner can change at --level")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Simulate an AI project portfolio under operating approaches and compare the outcomes."""
    from triops.strategy.simparams import load_parameters
    from triops.strategy.simulation import controls
    from triops.strategy.simulation import simulate as run_simulation

    if sources:
        _print_sources(as_json)
        return
    params = load_parameters()
    if show_controls:
        c = controls(level, params)
        _emit_json(c.to_dict()) if as_json else print_controls(c)
        return
    names, custom, chosen_levers = split(compare), split(practices), split(levers)
    if not names:
        # alone, a custom mix or levers are compared with the siloed baseline
        names = ["siloed"] if custom or chosen_levers else list(params.approaches)
    approaches: Any = names
    if custom:
        approaches = {n: params.resolve_approach(n) for n in names}
        approaches["custom"] = params.resolve_practices(custom)
    lever_mixes = {"your levers": chosen_levers} if chosen_levers else None
    overrides = _overrides(set_ or []) or None
    if sensitivity:
        _sensitivity(
            approaches, runs or 2_000, projects, weeks, seed, level, overrides, currency, metric, as_json
        )
        return
    size = runs or 10_000
    with console.status(f"simulating {size:,} runs of {projects} projects over {weeks} weeks"):
        result = run_simulation(
            approaches,
            runs=size,
            projects=projects,
            weeks=weeks,
            seed=seed,
            level=level,
            overrides=overrides,
            levers=lever_mixes,
            neutral=neutral,
            currency=currency,
            params=params,
        )
    _emit_json(result.to_dict()) if as_json else print_comparison(result)


def _sensitivity(
    approaches: Any,
    runs: int,
    projects: int,
    weeks: int,
    seed: int,
    level: str,
    overrides: dict[str, float] | None,
    currency: str | None,
    metric: str,
    as_json: bool,
) -> None:
    from rich.progress import Progress

    from triops.cli.context import console as real_console
    from triops.strategy.sensitivity import sensitivity as run_sensitivity

    with Progress(console=real_console(), transient=True) as bar:
        task = bar.add_task("varying each assumed effect", total=None)
        result = run_sensitivity(
            approaches,
            metric=metric,
            runs=runs,
            projects=projects,
            weeks=weeks,
            seed=seed,
            level=level,
            overrides=overrides,
            currency=currency,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _emit_json(result.to_dict()) if as_json else print_sensitivity(result)


def roadmap(
    from_: Annotated[
        Path | None,
        typer.Option(
            "--from", help="assessment JSON from `triops assess maturity --out` (default: the latest stored)"
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown | json")] = "markdown",
    capacity: Annotated[int, typer.Option(help="effort points per 30-day phase")] = 8,
    out: Annotated[Path | None, typer.Option(help="write here instead of printing")] = None,
) -> None:
    """Plan the next 30, 60 and 90 days from a maturity assessment (at most three actions a phase)."""
    from triops.strategy.maturity import MaturityResult
    from triops.strategy.roadmap import build_roadmap

    if fmt not in ("markdown", "json"):
        raise InvalidInputError(f"unknown format '{fmt}'", hint="formats: markdown, json")
    result = (
        MaturityResult.from_dict(read_json(from_, "assessment file"))
        if from_ is not None
        else latest_assessment()
    )
    plan = build_roadmap(result, capacity=capacity)
    text = (
        plan.to_markdown()
        if fmt == "markdown"
        else json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"
    )
    if out is not None:
        write_text(out, text)
        console.print(f"wrote {len(plan.actions)} actions to {out}")
    else:
        typer.echo(text, nl=False)


def register(root: typer.Typer) -> None:
    """Add ``simulate``, ``assess``, ``roadmap`` and ``wardley`` to the root CLI."""
    root.command("simulate")(simulate)
    root.add_typer(assess_app, name="assess")
    root.command("roadmap")(roadmap)
    root.add_typer(wardley_app, name="wardley")


app = typer.Typer(help="Strategy tools.")
register(app)

__all__ = ["app", "assess_app", "console", "maturity_table", "print_demo_summary", "register", "wardley_app"]
