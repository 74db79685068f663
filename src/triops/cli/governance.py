"""``triops policy|approval|gate``: policies as code, approval requests and recorded gate decisions from the
command line (``audit``
lives in ``cli/audit.py``; ``role``, ``inventory`` and ``compliance`` in ``cli/compliance.py``).

Each command is a thin Typer wrapper over a plain function taking a ``Store`` (tested directly). On a local
store the acting principal is the OS user, its owner (``TRIOPS_USER`` is only a display name); with
``--store http://…`` it is the token's user (docs/security.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.governance_common import (
    JsonOpt,
    ProjectOpt,
    _governance,
    _json,
    _read_data_file,
    _say,
    _table,
)

if TYPE_CHECKING:
    from triops.governance.policies import GateResult
    from triops.store.engine import Store

# ------------------------------------------------------------------------------------------------ policy

policy_app = typer.Typer(
    help="Policies as code: add, list, remove and check gate policies.", no_args_is_help=True
)


def print_gate(result: GateResult, as_json: bool) -> None:
    if as_json:
        _json(result.to_dict())
        return
    verdict = "[green]PASS[/]" if result.passed else "[bold red]FAIL[/]"
    _say(f"gate {result.gate}: {verdict} ({len(result.policies)} policies applied)")
    _table(
        "rules",
        ["policy", "rule", "result", "reason"],
        [[r.policy, r.rule, "pass" if r.passed else "FAIL", r.reason] for r in result.rules],
    )
    for missing in result.approvals_missing:
        _say(f"[yellow]approvals:[/] {missing}")


def check_policies(
    store: Store | None, policy_file: Path | None, facts_file: Path | None
) -> GateResult | int:
    """Lint a policy file (returns its policy count) or evaluate facts against it or the stored policies."""
    from triops.errors import InvalidInputError
    from triops.governance.facts import facts_from_dict
    from triops.governance.gates import gate_policies
    from triops.governance.policies import evaluate, load_policy_file

    policies = load_policy_file(policy_file) if policy_file is not None else None
    if facts_file is None:
        if policies is None:
            raise InvalidInputError("nothing to check", hint="give a policy file, --facts, or both")
        return len(policies)
    facts = facts_from_dict(_read_data_file(facts_file))
    if policies is None:
        if store is None:
            raise InvalidInputError("no store to read policies from")
        policies = gate_policies(store, facts.gate, facts.project)
    return evaluate(policies, facts, {})


@policy_app.command("check")
def policy_check(
    policy_file: Annotated[
        Path | None, typer.Argument(help="policy YAML (default: the stored policies)")
    ] = None,
    facts: Annotated[Path | None, typer.Option("--facts", help="facts as JSON or YAML to evaluate")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a policy file's syntax; with --facts evaluate its gate: each rule's reason, the facts seen."""
    if policy_file is None and facts is not None:
        result: GateResult | int = _governance().check_gate(_read_data_file(facts))
    else:
        result = check_policies(None, policy_file, facts)
    if isinstance(result, int):
        _say(f"[green]{policy_file}: {result} policies, syntax OK[/]")
        return
    print_gate(result, as_json)
    if not result.passed:
        raise typer.Exit(1)


@policy_app.command("add")
def policy_add(
    policy_file: Annotated[Path, typer.Argument(help="policy YAML file")],
    project: ProjectOpt = None,
) -> None:
    """Store the file's policies as active (replacing same-named ones). Audited."""
    from triops.errors import PolicyError

    try:
        text = policy_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy file {policy_file}: {exc}") from exc
    added = _governance().add_policies(text, source=str(policy_file), project=project)
    _say(f"added {len(added)} policies: {', '.join(p.name for p in added)}")


def policy_rows(store: Store, gate: str | None, project: str | None) -> list[dict[str, Any]]:
    from triops.governance.gates import load_policies

    return [
        {
            "name": p.name,
            "gate": p.gate.value,
            "rules": [r.expr for r in p.rules],
            "approvals": None
            if p.approvals is None
            else {"role": p.approvals.role.value, "count": p.approvals.count},
            "description": p.description,
        }
        for p in load_policies(store, gate=gate, project=project)
    ]


@policy_app.command("list")
def policy_list(
    gate: Annotated[str | None, typer.Option("--gate", help="only policies bound to this gate")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Active policies."""
    rows = _governance().policies(gate=gate, project=project)
    if as_json:
        _json(rows)
        return
    _table(
        "policies",
        ["name", "gate", "rules", "approvals"],
        [
            [
                r["name"],
                r["gate"],
                "\n".join(r["rules"]),
                "" if r["approvals"] is None else f"{r['approvals']['count']} from {r['approvals']['role']}",
            ]
            for r in rows
        ],
    )


@policy_app.command("remove")
def policy_remove(
    name: Annotated[str, typer.Argument(help="policy name")], project: ProjectOpt = None
) -> None:
    """Deactivate a policy. Audited."""
    _governance().remove_policy(name, project=project)
    _say(f"removed policy {name}")


# ---------------------------------------------------------------------------------------------- approval


approval_app = typer.Typer(help="Ask for, approve and reject gated changes.", no_args_is_help=True)


def _pairs(items: list[str]) -> dict[str, str]:
    from triops.errors import InvalidInputError

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"--change {item!r} is not KEY=VALUE", hint="e.g. --change to_stage=production"
            )
        out[key.strip()] = value
    return out


@approval_app.command("request")
def approval_request(
    gate: Annotated[str, typer.Option("--gate", help="the gate, e.g. model.stage")],
    subject_id: Annotated[
        str, typer.Option("--subject", help="id of what changes (model version, budget …)")
    ],
    justification: Annotated[str, typer.Option("--justification", "-j", help="why the change is needed")],
    subject_type: Annotated[
        str, typer.Option("--subject-type", help="model_version, budget, dataset …")
    ] = "model_version",
    change: Annotated[
        list[str] | None, typer.Option("--change", help="KEY=VALUE facts of the change")
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="who authored the subject (cannot approve)")
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Open an approval request; the gate's policies say how many approvals from which role. Audited."""
    request = _governance().request_approval(
        gate=gate,
        subject_id=subject_id,
        justification=justification,
        subject_type=subject_type,
        change=_pairs(change or []),
        author=author,
        project=project,
    )
    needs = ", ".join(f"{r.count} from {r.role.value}" for r in request.requirements)
    _say(f"request {request.id} opened: needs {needs}")


def _decide(request_id: str, verdict: str, justification: str) -> None:
    state = _governance().decide(request_id, verdict, justification)
    _say(f"request {request_id} is now {state.status.value}")
    for missing in state.missing:
        _say(f"[yellow]still:[/] {missing}")


@approval_app.command("approve")
def approval_approve(
    request_id: Annotated[str, typer.Argument(help="approval request id")],
    justification: Annotated[str, typer.Option("--justification", "-j", help="why you approve")],
) -> None:
    """Approve a request you did not make or author. Audited."""
    _decide(request_id, "approve", justification)


@approval_app.command("reject")
def approval_reject(
    request_id: Annotated[str, typer.Argument(help="approval request id")],
    justification: Annotated[str, typer.Option("--justification", "-j", help="why you reject")],
) -> None:
    """Reject a request; the change then needs a new request. Audited."""
    _decide(request_id, "reject", justification)


def request_rows(store: Store, status: str | None, project: str | None) -> list[dict[str, Any]]:
    from triops.store.repositories import governance as repo

    with store.connect() as conn:
        return repo.list_requests(conn, status=status, project=project)


@approval_app.command("list")
def approval_list(
    status: Annotated[str | None, typer.Option("--status", help="pending, approved, rejected …")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approval requests, newest first."""
    rows = _governance().approval_requests(status=status, project=project)
    if as_json:
        _json(rows)
        return
    _table(
        "approval requests",
        ["id", "gate", "subject", "requested by", "status", "justification"],
        [
            [
                r["id"],
                r["gate"],
                f"{r['subject_type']}/{r['subject_id']}",
                r["requested_by"],
                r["status"],
                r["justification"],
            ]
            for r in rows
        ],
    )


# ------------------------------------------------------------------------------------------------ gate

gate_app = typer.Typer(help="Recorded gate decisions: list.", no_args_is_help=True)


@gate_app.callback()
def _gate() -> None:
    """Recorded gate decisions (a group of one command today, so `triops gate list` stays stable)."""


@gate_app.command("list")
def gate_list(
    project: ProjectOpt = None,
    gate: Annotated[str | None, typer.Option("--gate", help="only this gate, e.g. model.stage")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Recorded gate decisions, newest first: gate, subject, pass or fail and why (projects you can read)."""
    rows = _governance().gate_evaluations(project=project, gate=gate, limit=limit)
    if as_json:
        _json(rows)
        return
    from datetime import UTC, datetime

    def reasons(row: dict[str, Any]) -> str:
        result = row["result"] if isinstance(row["result"], dict) else {}
        return "; ".join(str(r) for r in result.get("reasons", [])) or "-"

    _table(
        "gate decisions",
        ["when", "gate", "subject", "project", "result", "by", "reasons"],
        [
            [
                datetime.fromtimestamp(r["at_ms"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                r["gate"],
                f"{r['subject_type']}/{r['subject_id']}",
                r["project"] or "-",
                "passed" if r["passed"] else "failed",
                r["actor"],
                reasons(r),
            ]
            for r in rows
        ],
    )


# re-exported so ``triops.cli.governance`` still offers every governance sub-app
from triops.cli.audit import audit_app  # noqa: E402
from triops.cli.compliance import compliance_app, inventory_app, role_app  # noqa: E402

__all__ = [
    "approval_app", "audit_app", "compliance_app", "gate_app", "inventory_app", "policy_app", "role_app"
]  # fmt: skip
