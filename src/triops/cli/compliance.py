"""``triops role|inventory|compliance``: project roles, the AI use-case inventory (OMB M-25-21) and
framework evidence reports, over the same helpers as ``cli/governance.py``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from triops.governance.frameworks import FrameworkReport


from triops.cli.governance_common import (
    JsonOpt,
    ProjectOpt,
    _console,
    _governance,
    _json,
    _read_data_file,
    _say,
    _table,
)

role_app = typer.Typer(help="Grant, revoke and list project roles.", no_args_is_help=True)
inventory_app = typer.Typer(help="The AI use-case inventory (OMB M-25-21 fields).", no_args_is_help=True)
compliance_app = typer.Typer(
    help="Framework evidence reports (NIST AI RMF, EU AI Act).", no_args_is_help=True
)


@role_app.command("grant")
def role_grant(
    user: Annotated[str, typer.Argument(help="user or service account name")],
    role: Annotated[str, typer.Argument(help="viewer | contributor | approver | finops | admin")],
    project: ProjectOpt = None,
) -> None:
    """Give USER a ROLE in a project (or everywhere). Audited."""
    binding = _governance().grant(user, role, project)
    _say(f"granted {binding.role} to {binding.principal} in {binding.project}")


@role_app.command("revoke")
def role_revoke(
    user: Annotated[str, typer.Argument(help="user or service account name")],
    role: Annotated[str, typer.Argument(help="the role to take away")],
    project: ProjectOpt = None,
) -> None:
    """Take a ROLE away from USER. Audited."""
    binding = _governance().revoke(user, role, project)
    _say(f"revoked {binding.role} from {binding.principal} in {binding.project}")


@role_app.command("list")
def role_list(
    user: Annotated[str | None, typer.Option("--user", help="only this user's roles")] = None,
    project: ProjectOpt = None,
    permissions: Annotated[bool, typer.Option("--permissions", help="list each role's permissions")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Role bindings, or with --permissions what each role may do."""
    if permissions:
        from triops.governance.rbac import ROLE_DESCRIPTIONS, ROLE_PERMISSIONS

        perm_rows = [
            {
                "role": r.value,
                "description": ROLE_DESCRIPTIONS[r],
                "permissions": sorted(p.value for p in perms),
            }
            for r, perms in ROLE_PERMISSIONS.items()
        ]
        if as_json:
            _json(perm_rows)
        else:
            rows = [[str(r["role"]), str(r["description"]), ", ".join(r["permissions"])] for r in perm_rows]
            _table("roles", ["role", "what it is for", "permissions"], rows)
        return
    bindings = [b.to_dict() for b in _governance().bindings(user=user, project=project)]
    if as_json:
        _json(bindings)
        return
    _table(
        "role bindings",
        ["user", "role", "project", "granted by"],
        [[b["principal"], b["role"], b["project"], b["granted_by"]] for b in bindings],
    )


# --------------------------------------------------------------------------------------------- inventory


@inventory_app.command("add")
def inventory_add(
    file: Annotated[Path, typer.Argument(help="use case as YAML or JSON (see docs/governance.md#inventory)")],
    replace: Annotated[bool, typer.Option("--replace", help="update the use case of the same name")] = False,
) -> None:
    """Add a use case to the inventory. Audited."""
    use_case = _governance().add_use_case(_read_data_file(file), replace=replace)
    _say(f"{'updated' if replace else 'added'} use case {use_case.name} ({use_case.id})")
    for gap in use_case.gaps():
        _say(f"[yellow]gap:[/] {gap}")


@inventory_app.command("list")
def inventory_list(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Use cases in the inventory, with their gaps."""
    items = [uc.to_dict() for uc in _governance().use_cases(project=project)]
    if as_json:
        _json(items)
        return
    _table(
        "AI use-case inventory",
        ["name", "stage", "high-impact", "models", "gaps"],
        [
            [i["name"], i["stage"], i["high_impact"], ", ".join(i["model_ids"]), str(len(i["gaps"]))]
            for i in items
        ],
    )


@inventory_app.command("export")
def inventory_export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: stdout)")] = None,
    project: ProjectOpt = None,
) -> None:
    """Export the inventory as CSV or JSON."""
    text = _governance().export_inventory(fmt, project=project)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        _say(f"wrote {out}")


# -------------------------------------------------------------------------------------------- compliance


@compliance_app.callback()
def _compliance() -> None:
    """Framework evidence reports (NIST AI RMF, EU AI Act)."""


def print_report(report: FrameworkReport, as_json: bool, missing_only: bool) -> None:
    from triops.governance.frameworks import STATUS_TEXT, STATUSES

    if as_json:
        _json(report.to_dict())
        return
    items = [i for i in report.items if not missing_only or i.status != "present"]
    colour = {"present": "green", "partial": "yellow", "missing": "red", "needs-statement": "magenta"}
    _say(f"{report.framework}: " + ", ".join(f"{report.count(s)} {STATUS_TEXT[s]}" for s in STATUSES))
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"evidence for {report.framework}")
    for column in ("item", "status", "evidence (API route · command)", "missing"):
        table.add_column(column)
    for item in items:
        shown = [
            f"{e.label}\n  {e.link}" + (f"\n  $ {e.command}" if e.command else "") for e in item.evidence
        ]
        missing = list(item.missing)
        if item.statement is not None and item.status != "present":
            missing.append(f"a human statement: {item.statement}")
        table.add_row(
            f"{item.id}\n[dim]{escape(item.title)}[/]",
            f"[{colour[item.status]}]{STATUS_TEXT[item.status]}[/]",
            escape("\n".join(shown)),
            escape("\n".join(missing)),
        )
    _console().print(table)
    if any(i.statement is not None and i.status != "present" for i in items):
        _say(
            f'record a statement: triops compliance statement add --framework {report.framework} --item "ID" '
            '--text "…" [--reference URL]'
        )


@compliance_app.command("report")
def compliance_report(
    framework: Annotated[str, typer.Option("--framework", help="nist-ai-rmf or eu-ai-act")],
    missing_only: Annotated[
        bool, typer.Option("--missing-only", help="hide items with all evidence present")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """For each framework item: the evidence every pillar holds (with the API route and the command that
    show it), the statements recorded, and what is missing. Needs audit.read."""
    print_report(_governance().compliance_report(framework), as_json, missing_only)


statement_app = typer.Typer(
    help="Human statements for framework items the store cannot show (audited).", no_args_is_help=True
)
compliance_app.add_typer(statement_app, name="statement")
FrameworkOpt = Annotated[str, typer.Option("--framework", help="nist-ai-rmf or eu-ai-act")]


@statement_app.command("add")
def statement_add(
    framework: FrameworkOpt,
    item: Annotated[str, typer.Option("--item", help='the item id, e.g. "GOVERN 2.2" or "Annex IV(7)"')],
    text: Annotated[str, typer.Option("--text", help="the statement (what the item asks)")],
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="where a supporting document is kept (URL, path, ticket)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a statement for ITEM: stored, audited, and counted as its evidence. Needs inventory.write."""
    row = _governance().record_statement(framework, item, text, reference=reference)
    if as_json:
        _json(row)
        return
    _say(f"recorded statement {row['id']} for {row['framework']} {row['item']} (audited)")


@statement_app.command("list")
def statement_list(
    framework: FrameworkOpt,
    item: Annotated[str | None, typer.Option("--item", help="only this item's statements")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Statements recorded for a framework, newest first. Needs audit.read."""
    rows = _governance().statements(framework, item=item)
    if as_json:
        _json(rows)
        return
    _table(
        f"statements for {framework}",
        ["item", "statement", "reference", "recorded by", "id"],
        [
            [str(r["item"]), str(r["text"]), str(r["reference"] or ""), str(r["recorded_by"]), str(r["id"])]
            for r in rows
        ],
    )


# ---------------------------------------------------------------------------------------------- approval
