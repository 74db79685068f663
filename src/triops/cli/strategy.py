"""Strategy commands: ``simulate``, ``assess scenarios|maturity``, ``roadmap``, ``wardley ...``.

:func:`register` adds them all to the root app; ``app`` holds the same commands for tests. Heavy imports
(numpy, pydantic models, YAML data) happen inside the commands so ``triops --help`` stays fast. How the
results look (the console, JSON output, the simulation and maturity tables, the demo summary) lives in
``cli/strategy_render.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from triops.cli.strategy_render import (
    _comparison_table,
    _emit_json,
    console,
    maturity_table,
    print_demo_summary,
)
from triops.errors import InvalidInputError

assess_app = typer.Typer(help="Assess judgement (scenarios) and maturity (questionnaire + store evidence).")
wardley_app = typer.Typer(help="Wardley maps in the OWM text format: check, render to SVG, default map.")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from exc


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{what} {path} is not JSON (line {exc.lineno}: {exc.msg})") from exc


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


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


def simulate(
    compare: Annotated[
        str | None, typer.Option("--compare", help="approaches, e.g. siloed,integrated")
    ] = None,
    practices: Annotated[str | None, typer.Option(help="a custom mix of practices, comma-separated")] = None,
    runs: Annotated[int, typer.Option(help="Monte Carlo runs")] = 10_000,
    projects: Annotated[int, typer.Option(help="projects in the portfolio")] = 5,
    weeks: Annotated[int, typer.Option(help="horizon in weeks")] = 104,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same result")] = 0,
    level: Annotated[str, typer.Option(help="intro | standard | expert")] = "standard",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="expert: NAME=VALUE parameter override")
    ] = None,
    sources: Annotated[bool, typer.Option("--sources", help="list every parameter with its source")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Simulate an AI project portfolio under operating approaches and compare the outcomes."""
    from rich.table import Table

    from triops.strategy.simparams import load_parameters
    from triops.strategy.simulation import simulate as run_simulation

    params = load_parameters()
    if sources:
        rows = sorted(params.all_params().values(), key=lambda p: p.name)
        if as_json:
            _emit_json(
                [
                    {"name": p.name, "value": p.value, "range": [p.low, p.high], "source": p.source}
                    for p in rows
                ]
            )
            return
        table = Table(title="simulation parameters", show_lines=False)
        for col in ("parameter", "default", "range", "source"):
            table.add_column(col, overflow="fold")
        for p in rows:
            table.add_row(p.name, f"{p.value:g}", f"[{p.low:g}, {p.high:g}]", p.source)
        console.print(table)
        return
    names = _split(compare)
    custom = _split(practices)
    if not names and not custom:
        names = list(params.approaches)
    approaches: Any
    if custom:
        approaches = {n: params.resolve_approach(n) for n in names}
        approaches["custom"] = params.resolve_practices(custom)
    else:
        approaches = names
    with console.status(f"simulating {runs:,} runs of {projects} projects over {weeks} weeks"):
        result = run_simulation(
            approaches,
            runs=runs,
            projects=projects,
            weeks=weeks,
            seed=seed,
            level=level,
            overrides=_overrides(set_ or []) or None,
            params=params,
        )
    if as_json:
        _emit_json(result.to_dict())
        return
    console.print(_comparison_table(result))
    for a in result.approaches:
        console.print(f"[bold]{a.name}[/]: {', '.join(a.practices) or 'no shared practices'}")


@assess_app.command("scenarios")
def assess_scenarios(
    answers: Annotated[Path | None, typer.Option(help="YAML/JSON file of scenario id: choice id")] = None,
    bank: Annotated[
        Path | None, typer.Option(help="a scenario bank YAML instead of the built-in one")
    ] = None,
    pillar: Annotated[
        list[str] | None, typer.Option(help="only scenarios of this pillar (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Answer public-sector scenarios and get feedback right after each answer."""
    from rich.panel import Panel
    from rich.prompt import Prompt
    from rich.table import Table

    from triops.strategy.scenarios import answer, grade, load_bank, read_answers

    scenario_bank = load_bank(bank)
    if answers is not None:
        chosen = read_answers(answers)
    else:
        chosen = {}
        for s in scenario_bank.for_pillars(pillar):
            body = s.situation + "\n\n" + "\n".join(f"[bold]{c.id}[/]) {c.text}" for c in s.choices)
            console.print(Panel(body, title=f"[{s.pillar}] {s.title}", title_align="left"))
            pick = Prompt.ask("Your choice", choices=[c.id for c in s.choices], console=console)
            fb = answer(s, pick)
            colour = "green" if fb.score == fb.best_score else "yellow" if fb.score else "red"
            console.print(f"[{colour}]{fb.score}/{fb.best_score}[/] {fb.explanation}\n")
            chosen[s.id] = pick
    result = grade(scenario_bank, chosen)
    if as_json:
        _emit_json(result.to_dict())
        return
    if answers is not None:
        for fb in result.feedback:
            console.print(
                f"[bold]{fb.scenario_id}[/] {fb.choice_id}: {fb.score}/{fb.best_score} — {fb.explanation}"
            )
    table = Table(title="scenario results by pillar")
    for col in ("pillar", "answered", "score", "read next"):
        table.add_column(col)
    for p in result.pillars:
        table.add_row(
            p.pillar,
            str(p.answered),
            f"{p.score}/{p.max_score} ({p.percent:.0f}%)",
            "\n".join(p.read_next) or "-",
        )
    console.print(table)


@assess_app.command("maturity")
def assess_maturity(
    answers: Annotated[Path | None, typer.Option(help="YAML/JSON file of dimension id: level (0-4)")] = None,
    evidence: Annotated[Path | None, typer.Option(help="JSON file of store evidence counts")] = None,
    interactive: Annotated[bool, typer.Option(help="ask the questions not answered by a file")] = True,
    out: Annotated[
        Path | None, typer.Option(help="also write the result JSON here (input of `triops roadmap`)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    from_store: Annotated[
        bool, typer.Option("--from-store/--no-store", help="read evidence from the workspace store")
    ] = True,
    save: Annotated[bool, typer.Option("--save/--no-save", help="keep the result in the store")] = True,
) -> None:
    """Assess maturity per dimension and pillar; each answer labelled evidence or self-reported."""
    from rich.panel import Panel
    from rich.prompt import Prompt

    from triops.strategy.maturity import StoreEvidence, assess, load_model, read_answer_file

    model = load_model()
    if evidence is not None:
        ev: StoreEvidence | None = StoreEvidence.from_dict(_read_json(evidence, "evidence file"))
    elif from_store:
        from triops.cli.context import open_workspace

        ev = open_workspace().strategy.evidence()
    else:
        ev = None
    given: dict[str, Any] = read_answer_file(answers) if answers else {}
    if answers is None and interactive:
        for d in model.dimensions:
            if d.evidence_level(ev) is not None:
                continue
            console.print(
                Panel("\n".join(d.levels), title=f"[{d.pillar}] {d.name}: {d.question}", title_align="left")
            )
            given[d.id] = int(Prompt.ask("Level", choices=["0", "1", "2", "3", "4"], console=console))
    result = assess(given, ev, model=model)
    if from_store and save and evidence is None:
        _save_assessment(given)
    if out is not None:
        _write(out, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    if as_json:
        _emit_json(result.to_dict())
        return
    console.print(maturity_table(result))


def _save_assessment(answers: dict[str, Any]) -> None:
    """Keep the result in the store: the workspace assesses the same answers against its evidence and saves
    it (on a server, the server does)."""
    from triops.cli.context import open_workspace

    open_workspace().strategy.assess_maturity(answers, from_store=True, save=True)


def roadmap(
    from_: Annotated[
        Path, typer.Option("--from", help="assessment result JSON from `triops assess maturity --out`")
    ],
    fmt: Annotated[str, typer.Option("--format", help="markdown | json")] = "markdown",
    capacity: Annotated[int, typer.Option(help="effort points per 30-day phase")] = 8,
    out: Annotated[Path | None, typer.Option(help="write here instead of printing")] = None,
) -> None:
    """Plan the next 30, 60 and 90 days from a maturity assessment."""
    from triops.strategy.maturity import MaturityResult
    from triops.strategy.roadmap import build_roadmap

    if fmt not in ("markdown", "json"):
        raise InvalidInputError(f"unknown format '{fmt}'", hint="formats: markdown, json")
    plan = build_roadmap(MaturityResult.from_dict(_read_json(from_, "assessment file")), capacity=capacity)
    text = (
        plan.to_markdown()
        if fmt == "markdown"
        else json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"
    )
    if out is not None:
        _write(out, text)
        console.print(f"wrote {len(plan.actions)} actions to {out}")
    else:
        typer.echo(text, nl=False)


def _read_owm(path: Path) -> Any:
    from triops.strategy.wardley import parse

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read OWM file {path}: {exc.strerror}") from exc
    try:
        return parse(text)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc.message}", hint=exc.hint) from exc


@wardley_app.command("check")
def wardley_check(path: Annotated[Path, typer.Argument(help="an .owm file")]) -> None:
    """Parse an OWM file and report bad lines and dangling references."""
    from triops.strategy.wardley import check_references

    m = _read_owm(path)
    for warning in check_references(m):
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"ok: {len(m.anchors)} anchors, {len(m.components)} components, {len(m.links)} links")


@wardley_app.command("render")
def wardley_render(
    path: Annotated[Path, typer.Argument(help="an .owm file")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="SVG file (default: next to the input)")
    ] = None,
) -> None:
    """Render an OWM file to SVG."""
    from triops.strategy.wardley_svg import render_svg

    target = out or path.with_suffix(".svg")
    _write(target, render_svg(_read_owm(path)))
    console.print(f"wrote {target}")


@wardley_app.command("default")
def wardley_default(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the OWM text here")] = None,
    svg: Annotated[Path | None, typer.Option(help="also render it to this SVG file")] = None,
) -> None:
    """The default AI-operations value chain map (citizen need → … → compute)."""
    from triops.strategy.wardley import default_map, write
    from triops.strategy.wardley_svg import render_svg

    m = default_map()
    if svg is not None:
        _write(svg, render_svg(m))
    if out is not None:
        _write(out, write(m))
    else:
        typer.echo(write(m), nl=False)


def register(root: typer.Typer) -> None:
    """Add ``simulate``, ``assess``, ``roadmap`` and ``wardley`` to the root CLI."""
    root.command("simulate")(simulate)
    root.add_typer(assess_app, name="assess")
    root.command("roadmap")(roadmap)
    root.add_typer(wardley_app, name="wardley")


app = typer.Typer(help="Strategy tools.")
register(app)

__all__ = ["app", "assess_app", "console", "maturity_table", "print_demo_summary", "register", "wardley_app"]
