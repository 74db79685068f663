"""``triops models list|show|alias|promote|card``: the model registry from the terminal.

The commands are thin: each opens the workspace's registry and calls a function below that takes the
registry, so tests (and the server) can call the same logic directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.context import console, open_workspace, print_json

if TYPE_CHECKING:
    from triops.mlops.registry.service import ModelRegistry

app = typer.Typer(no_args_is_help=True)


def workspace_registry() -> ModelRegistry:
    """The workspace's registry: local (with its governance guards) or the server's over HTTP (the same
    methods, so every command below works with ``--store http://…``)."""
    registry: ModelRegistry = open_workspace().models
    return registry


def show_data(registry: ModelRegistry, ref: str) -> dict[str, Any]:
    """A version with its latest evaluation summary and card completeness."""
    version = registry.get(ref)
    data = version.to_dict()
    records = registry.evaluations(version.ref)
    own = [r for r in records if r["kind"] == "evaluation" and r["model_version_id"] == version.id]
    data["latest_evaluation"] = (
        {
            "id": own[0]["id"],
            "dataset": own[0]["dataset_name"],
            "rows": own[0]["n_rows"],
            "metrics": own[0]["result"].get("metrics", {}),
        }
        if own
        else None
    )
    data["comparisons"] = [r["result"].get("verdict") for r in records if r["kind"] == "comparison"]
    data["card_completeness"] = registry.card_completeness(version.ref)
    return data


def card_text(
    registry: ModelRegistry, ref: str, fmt: str, *, approvals: list[dict[str, Any]] | None = None
) -> str:
    """Regenerate the card of ``ref`` (keeping human sections) and render it."""
    if approvals is not None:
        from triops.mlops.registry.cards import generate_card, render

        return render(generate_card(registry, ref, approvals=approvals), fmt)
    return registry.card(ref, fmt, regenerate=True)


@app.command("list", help="List registered models with their latest version, stage and aliases.")
def list_models(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    rows = workspace_registry().list_models()
    if as_json:
        print_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("model", "versions", "latest", "stage", "aliases", title=f"{len(rows)} models")
    for r in rows:
        aliases = ", ".join(f"{a}→{v}" for a, v in r["aliases"].items())
        table.add_row(
            escape(r["name"]), str(r["versions"]), str(r["latest_version"]), str(r["latest_stage"]), aliases
        )
    console().print(table)


@app.command("show", help="Show a version (NAME, NAME/3 or NAME@ALIAS): lineage, signature, evaluation.")
def show(ref: str, as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    data = show_data(workspace_registry(), ref)
    if as_json:
        print_json(data)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("field", "value", title=escape(data["ref"]), show_header=False)
    for key in (
        "stage",
        "aliases",
        "model_type",
        "run_id",
        "git_commit",
        "cost_to_train_micros",
        "created_by",
    ):
        value = data[key]
        table.add_row(key, escape(", ".join(value) if isinstance(value, list) else str(value)))
    table.add_row("training datasets", ", ".join(data["training_datasets"]) or "-")
    inputs = (data["signature"] or {}).get("inputs", [])
    table.add_row("inputs", escape(", ".join(f"{i['name']}:{i['type']}" for i in inputs)) or "-")
    table.add_row("onnx", "yes" if data["onnx_sha256"] else escape(f"no ({data['onnx_note']})"))
    latest = data["latest_evaluation"]
    if latest:
        for name, m in latest["metrics"].items():
            if m["value"] is not None:
                interval = f" [{m['low']:.4g}, {m['high']:.4g}]" if m["low"] is not None else ""
                table.add_row(name, f"{m['value']:.4g}{interval}")
    for verdict in data["comparisons"]:
        table.add_row("comparison", escape(str(verdict)))
    table.add_row(
        "card completeness", "-" if data["card_completeness"] is None else f"{data['card_completeness']:.0%}"
    )
    console().print(table)


@app.command("alias", help="Point NAME@ALIAS at VERSION (audited); --delete removes the alias.")
def alias(
    name: str,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
    version: Annotated[int | None, typer.Argument()] = None,
    delete: Annotated[bool, typer.Option("--delete", help="remove the alias")] = False,
) -> None:
    registry = workspace_registry()
    if delete:
        registry.remove_alias(name, alias_name)
        console().print(f"removed {name}@{alias_name}")
        return
    if version is None:
        raise typer.BadParameter("give the VERSION number to point the alias at (or --delete)")
    moved = registry.set_alias(name, alias_name, version)
    console().print(f"{name}@{alias_name} → {moved.ref}")


@app.command("promote", help="Move a version to a stage: development, staging, production or archived.")
def promote(ref: str, stage: str) -> None:
    moved = workspace_registry().transition(ref, stage)
    console().print(f"{moved.ref} is now in {moved.stage}")


@app.command("card", help="Regenerate and print a model card (human sections are kept).")
def card(
    ref: str,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json")] = "md",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write to this file")] = None,
) -> None:
    text = card_text(workspace_registry(), ref, fmt)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    console().print(f"wrote {out}")
