"""``triops audit``: verify, seal, export and read the tamper-evident audit log (``policy`` and
``approval`` live in ``cli/governance.py``, over the same helpers from ``cli/governance_common.py``).

Each command is a thin Typer wrapper over ``ws.governance``; the key that signs checkpoints lives outside the
store and outside ``TRIOPS_HOME`` (``~/.config/triops/keys`` unless ``TRIOPS_AUDIT_KEY_PATH`` says otherwise),
and every command that wrote events ends by signing the head into the witness file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.governance_common import (
    JsonOpt,
    ProjectOpt,
    _console,
    _governance,
    _json,
    _say,
    _table,
)

if TYPE_CHECKING:
    from triops.governance.audit import AuditKey, VerifyReport
    from triops.store.engine import Store

audit_app = typer.Typer(help="Verify and export the tamper-evident audit log.", no_args_is_help=True)


def key_for(home: Path, configured: Path | None, *, create: bool) -> AuditKey | None:
    from triops.governance.audit import AuditKey, default_key_path

    path = default_key_path(home, configured)
    if create:
        return AuditKey.load_or_create(path)
    if path.exists():
        return AuditKey.load(path)
    public = path.with_name(path.name + ".pub")
    return AuditKey.load(public) if public.exists() else None


def print_verify(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        _json(report.to_dict())
        return
    chain = report.chain
    console = _console()
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if report.ok:
        console.print(
            f"[green]audit log OK[/]: {chain.checked} events, {chain.checkpoints_checked} checkpoints, "
            f"last seq {chain.last_seq}"
        )
        return
    console.print(f"[bold red]audit log TAMPERED[/]: first bad sequence number {report.first_bad_seq}")
    _table("problems", ["seq", "kind", "what"], [[str(p.seq), p.kind, p.message] for p in chain.problems])


@audit_app.command("verify")
def audit_verify(
    file: Annotated[
        Path | None, typer.Option("--file", help="verify an exported JSON Lines file instead")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="audit key (private or .pub) to check signatures")
    ] = None,
    witness: Annotated[
        Path | None,
        typer.Option(
            "--witness", help="also check against signed heads kept elsewhere (`audit witness --out`)"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-hash the chain, check the signed checkpoints and the witness; exit 1 with the first bad sequence
    number."""
    from triops.governance import audit

    if file is not None:
        from triops.governance.audit import VerifyReport

        report = VerifyReport(audit.verify_jsonl(file))
    else:
        entries = None
        if witness is not None:
            from triops.errors import InvalidInputError
            from triops.governance.witness import read_entries

            try:
                entries = list(read_entries(witness.read_bytes().splitlines(), str(witness)))
            except OSError as exc:
                raise InvalidInputError(f"cannot read the witness {witness}: {exc}") from None
        report = _governance().verify_audit(key_path=key, witness=entries)
    print_verify(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("witness")
def audit_witness(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="append the signed head to this file (default: print it)"),
    ] = None,
) -> None:
    """Sign the head of the log now and hand it out: keep it outside the store (a ticket, another machine)
    and check it later with `triops audit verify --witness FILE`."""
    from triops.governance.witness import append_entry

    head = _governance().witness()
    if head is None:
        _say("the audit log is empty: nothing to witness")
        return
    if out is None:
        sys.stdout.write(head.to_line().decode())
        return
    append_entry(out, head)
    _say(f"appended the signed head (seq {head.seq}) to {out}")


@audit_app.command("seal")
def audit_seal(
    every: Annotated[int, typer.Option("--every", min=1, help="sign a checkpoint every N events")] = 1000,
) -> None:
    """Sign the checkpoints that are due (creates the key outside the store on first use)."""
    signed, key_id = _governance().seal_audit(every=every)
    _say(f"signed {len(signed)} checkpoint(s) with key {key_id}")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """Write every audit event as JSON Lines (canonical JSON, one event a line)."""
    governance = _governance()
    if out is None:
        governance.export_audit(sys.stdout.buffer)
        return
    with out.open("wb") as fh:
        count = governance.export_audit(fh)
    _say(f"wrote {count} events to {out}")


def event_rows(store: Store, limit: int, object_id: str | None, project: str | None) -> list[dict[str, Any]]:
    from triops.store import audit as audit_store

    with store.connect() as conn:
        events = audit_store.list_events(conn, object_id=object_id, project=project, limit=limit)
    return [e.to_dict() for e in events]


@audit_app.command("log")
def audit_log(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="how many of the latest events")] = 20,
    object_id: Annotated[
        str | None, typer.Option("--object", help="only events about this object id")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest audit events."""
    rows = _governance().audit_events(limit=limit, object_id=object_id, project=project)
    if as_json:
        _json(rows)
        return
    from triops.domain.clock import from_ms

    _table(
        "audit log",
        ["seq", "time (UTC)", "actor", "action", "object", "project"],
        [
            [
                str(r["seq"]),
                from_ms(r["at_ms"]).strftime("%Y-%m-%d %H:%M:%S"),
                r["actor"],
                r["action"],
                f"{r['object_type']}/{r['object_id']}",
                r["project"] or "",
            ]
            for r in rows
        ],
    )


__all__ = ["audit_app", "event_rows", "key_for", "print_verify"]
