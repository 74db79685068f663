"""``triops wardley check|render|default|from-store``: Wardley maps in the OWM language.

``check`` reports every error and warning in one pass (exit 1 on errors); ``render`` writes SVG and warns
about everything it could not draw; ``from-store`` draws the value chain the store's records show.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from triops.cli.strategy_common import write_text
from triops.cli.strategy_render import _emit_json, console
from triops.errors import InvalidInputError

if TYPE_CHECKING:
    from triops.strategy.wardley import WardleyMap
    from triops.strategy.wardley_parse import ParseReport

wardley_app = typer.Typer(
    help="Wardley maps in the OWM text language: check, render to SVG, default, from the store."
)


def _say(kind: str, text: str) -> None:
    """One warning or error line; the text is escaped, since OWM coordinates look like rich markup."""
    from rich.markup import escape

    colour = "red" if kind == "error" else "yellow"
    console.print(f"[{colour}]{kind}:[/] {escape(text)}")


def _report(path: Path) -> ParseReport:
    from triops.strategy.wardley_parse import parse_report

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read OWM file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"OWM file {path} is not UTF-8 text ({exc.reason})") from exc
    return parse_report(text)


def _read_map(path: Path) -> WardleyMap:
    report = _report(path)
    for warning in report.warnings:
        _say("warning", f"{path}: {warning}")
    if report.errors:
        count = len(report.errors)
        raise InvalidInputError(
            f"{path}: " + "; ".join(str(e) for e in report.errors),
            hint=f"{count} error{'s' if count > 1 else ''}; `triops wardley check {path}` lists them",
        )
    return report.map


def _warn_render(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        _say("not drawn", warning)


@wardley_app.command("check")
def wardley_check(
    path: Annotated[Path, typer.Argument(help="an .owm file")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Parse an OWM file and report every bad line and dangling reference at once."""
    report = _report(path)
    m = report.map
    if as_json:
        _emit_json(
            {
                "file": str(path),
                "ok": report.ok,
                "errors": [{"line": e.line, "message": e.message} for e in report.errors],
                "warnings": list(report.warnings),
                "statements": len(m.statements),
            }
        )
    else:
        for e in report.errors:
            _say("error", f"{path}: {e}")
        for warning in report.warnings:
            _say("warning", f"{path}: {warning}")
        if report.ok:
            console.print(
                f"ok: {len(m.anchors)} anchors, {len(m.components)} components, {len(m.links)} links, "
                f"{len(m.statements)} statements, {len(report.warnings)} warnings"
            )
    if not report.ok:
        raise typer.Exit(1)


@wardley_app.command("render")
def wardley_render(
    path: Annotated[Path, typer.Argument(help="an .owm file")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="SVG file (default: next to the input)")
    ] = None,
) -> None:
    """Render an OWM file to SVG, naming everything that could not be drawn."""
    from triops.strategy.wardley_svg import render

    rendered = render(_read_map(path))
    target = out or path.with_suffix(".svg")
    write_text(target, rendered.svg)
    _warn_render(rendered.warnings)
    console.print(f"wrote {target}")


def _emit_map(m: WardleyMap, out: Path | None, svg: Path | None) -> None:
    from triops.strategy.wardley import write
    from triops.strategy.wardley_svg import render

    if svg is not None:
        rendered = render(m)
        write_text(svg, rendered.svg)
        _warn_render(rendered.warnings)
    if out is not None:
        write_text(out, write(m))
    else:
        typer.echo(write(m), nl=False)


@wardley_app.command("default")
def wardley_default(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the OWM text here")] = None,
    svg: Annotated[Path | None, typer.Option(help="also render it to this SVG file")] = None,
) -> None:
    """The generic AI-operations value chain map (citizen need → … → compute), to start a workshop from."""
    from triops.strategy.wardley import default_map

    _emit_map(default_map(), out, svg)


@wardley_app.command("from-store")
def wardley_from_store(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the OWM text here")] = None,
    svg: Annotated[Path | None, typer.Option(help="also render it to this SVG file")] = None,
) -> None:
    """The value chain the workspace's records show: services, models, pipelines, data, practices in use."""
    from triops.cli.context import open_workspace

    _emit_map(open_workspace().strategy.wardley_from_store(), out, svg)
