"""``triops datasets register|list|show|diff|profile``: dataset versions registered in the workspace, and
profiles of data that is not registered yet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.context import console, open_workspace, print_json
from triops.cli.text import safe

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(no_args_is_help=True)

_PROJECT = typer.Option("--project", "-p", help="the project the dataset belongs to")
_SQL_HELP = "with a database URL: the table to read"
_QUERY_HELP = "with a database URL: the SQL query to read"


@app.command("register", help="Register DATA as the next version of NAME, checked against --contract.")
def register(
    name: str,
    data: str,
    contract: Annotated[Path | None, typer.Option("--contract", "-c", help="ODCS contract to check")] = None,
    project: Annotated[str, _PROJECT] = "default",
    table: Annotated[str | None, typer.Option("--table", help=_SQL_HELP)] = None,
    query: Annotated[str | None, typer.Option("--query", help=_QUERY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the version as JSON")] = False,
    keep_data: Annotated[
        bool,
        typer.Option("--keep-data/--no-keep-data", help="keep the data as an artifact (exact diffs later)"),
    ] = True,
    skip_unsupported: Annotated[
        bool, typer.Option("--skip-unsupported", help="check what triops can; list the rest as not checked")
    ] = False,
) -> None:
    from triops.dataops.sources import open_source

    source = open_source(data, name=name, table=table, query=query)
    registered = open_workspace().datasets.register(
        name,
        source,
        contract=contract,
        project=project,
        keep_data=keep_data,
        skip_unsupported=skip_unsupported,
    )
    version = registered.version
    if as_json:
        print_json(version.to_dict())
    else:
        if registered.report is not None and not registered.report.passed:
            from triops.cli.dataops import render_report

            render_report(registered.report, only_failed=True)
        console().print(_headline(version.to_dict()), highlight=False)
    if not version.passed:
        raise typer.Exit(code=1)


@app.command("list", help="The versions of NAME (or of every dataset) with rows, quality and verdict.")
def list_versions(
    name: Annotated[str | None, typer.Argument(help="one dataset (default: all)")] = None,
    project: Annotated[str, _PROJECT] = "default",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from rich.table import Table

    from triops.dataops.quality import format_score

    rows = [r.to_dict() for r in open_workspace().datasets.versions(name, project=project)]
    if as_json:
        print_json([{k: v for k, v in r.items() if k not in ("profile", "quality")} for r in rows])
        return
    table = Table("dataset", "version", "rows", "quality", "verdict", "contract", "registered", "sha256")
    for r in rows:
        table.add_row(
            r["name"],
            str(r["version"]),
            f"{r['row_count']:,}",
            format_score(r["score"]),
            "[green]passed[/]" if r["passed"] else "[red]failed[/]",
            f"{r['contract_id']}@{r['contract_version']}" if r["contract_id"] else "-",
            _when(r["created_ms"]),
            r["content_hash"][:12],
        )
    console().print(table)


@app.command(
    "diff", help="Schema changes, row counts and per-column distribution shift between two versions."
)
def diff(
    name: str,
    v1: int,
    v2: int,
    project: Annotated[str, _PROJECT] = "default",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from triops.cli.dataops import render_dataset_diff

    result = open_workspace().datasets.diff(name, v1, v2, project=project)
    if as_json:
        print_json(result.to_dict())
        return
    render_dataset_diff(result, title=f"{name}: v{v1} → v{v2}")


@app.command("show", help="One dataset version (the latest by default): quality, failed rules, profile.")
def show(
    name: str,
    version: Annotated[int | None, typer.Option("--version", "-v")] = None,
    project: Annotated[str, _PROJECT] = "default",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    data = open_workspace().datasets.get(name, version, project=project).to_dict()
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(_headline(data), highlight=False)
    out.print(
        f"content sha256 {data['content_hash']}; source {data.get('source_uri') or '-'}", highlight=False
    )
    failed = [r for r in (data.get("quality") or {}).get("results", []) if not r.get("passed")]
    for r in failed:
        out.print(
            f"[{'red' if r.get('severity') == 'error' else 'yellow'}]{r['rule']}[/]: "
            f"{r.get('failing_rows', 0):,} failing rows ({r.get('failing_share', 0):.2%}), {r.get('severity')}",
            highlight=False,
        )
    if data.get("profile"):
        out.print(_profile_table(data["profile"]))


@app.command("profile", help="Profile DATA (a file or a database URL) without registering it.")
def profile_cmd(
    data: str,
    table: Annotated[str | None, typer.Option("--table", help=_SQL_HELP)] = None,
    query: Annotated[str | None, typer.Option("--query", help=_QUERY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from triops.dataops.profile import profile
    from triops.dataops.sources import open_source

    result = profile(open_source(data, table=table, query=query)).to_dict()
    if as_json:
        print_json(result)
        return
    console().print(_profile_table(result))


def _headline(v: dict[str, Any]) -> str:
    verdict = "[green]passed[/]" if v["passed"] else "[red]failed[/] (stored as not passed)"
    contract = (
        f"contract {v['contract_id']}@{v['contract_version']} {verdict}"
        if v["contract_id"]
        else "no contract"
    )
    from triops.dataops.quality import format_score

    quality = v.get("quality") or {}
    failing = quality.get("rows_failing")
    rows = f" ({failing:,} rows failing a rule)" if failing else ""
    return (
        f"dataset [bold]{v['name']}[/] v{v['version']}: {v['row_count']:,} rows, {contract}, "
        f"quality score {format_score(v['score'])}/100{rows}, sha256 {v['content_hash'][:12]}…"
    )


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return safe(value)  # text minima and maxima come from the data: never markup


def _profile_table(profile: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(
        "column",
        "type",
        "nulls",
        "distinct",
        "min",
        "max",
        "mean",
        "top value",
        "personal data",
        title=f"profile of {profile['row_count']:,} rows",
    )
    for name, c in profile["columns"].items():
        top = c.get("top_values") or []
        if c.get("protected"):
            lengths = (
                f"length {c.get('length_min')}–{c.get('length_max')}"
                if c.get("length_min") is not None
                else ""
            )
            table.add_row(
                name,
                c["logical_type"],
                f"{c['null_count']:,} ({c['null_share']:.1%})",
                f"{c['distinct']:,}",
                "",
                "",
                "",
                f"[dim]withheld ({c['protected']}) {lengths}[/]",
                f"[yellow]{c.get('personal_data') or 'restricted'}[/]",
            )
            continue
        table.add_row(
            safe(name),
            c["logical_type"],
            f"{c['null_count']:,} ({c['null_share']:.1%})",
            f"{c['distinct']:,}",
            _number(c.get("min")),
            _number(c.get("max")),
            _number(c.get("mean")),
            f"{safe(top[0][0])} ({top[0][1]:,})" if top else "",
            f"[yellow]{c['personal_data']}[/]" if c.get("personal_data") else "",
        )
    return table
