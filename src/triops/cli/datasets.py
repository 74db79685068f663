"""``triops datasets diff|show``: dataset versions registered in the workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from triops.cli.context import console, open_workspace, print_json

app = typer.Typer(no_args_is_help=True)


@app.command(
    "diff", help="Schema changes, row counts and per-column distribution shift between two versions."
)
def diff(
    name: str,
    v1: int,
    v2: int,
    project: Annotated[str, typer.Option("--project", "-p")] = "default",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from triops.cli.dataops import render_dataset_diff

    result = open_workspace().datasets.diff(name, v1, v2, project=project)
    if as_json:
        print_json(result.to_dict())
        return
    render_dataset_diff(result, title=f"{name}: v{v1} → v{v2}")


@app.command("show", help="One dataset version (the latest by default): hash, rows, quality and contract.")
def show(
    name: str,
    version: Annotated[int | None, typer.Option("--version", "-v")] = None,
    project: Annotated[str, typer.Option("--project", "-p")] = "default",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    row = open_workspace().datasets.get(name, version, project=project)
    data = row.to_dict() if hasattr(row, "to_dict") else dict(vars(row))
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(
        f"[bold]{name}[/] v{data.get('version')} — {data.get('row_count')} rows, "
        f"quality {data.get('score')}, contract {data.get('contract_id') or 'none'} "
        f"({'passed' if data.get('passed') else 'not passed'})"
    )
    out.print(f"content sha256 {data.get('content_hash')}")
