"""The governance CLI sub-apps on a real local workspace (SQLite under tmp_path), whose principal is the OS user;
a second person acts through a real server over the same store, with their own token."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.governance.served import Served, serve
from typer.testing import CliRunner

from triops import Workspace
from triops.cli import context
from triops.cli import governance as cli
from triops.errors import InvalidInputError, PermissionDeniedError, PolicyError
from triops.settings import Settings, os_user
from triops.store.engine import Store
from triops.store.tables_governance import audit_events, audit_head

runner = CliRunner()

POLICY = """\
name: fair-before-production
gate: model.stage
when: change.to_stage == "production"
rules:
  - name: fairness-gap
    expr: fairness.max_gap <= 0.05
    reason: the largest gap between groups is at most 0.05
approvals: {role: approver, count: 1}
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_store_url: str) -> Iterator[Store]:
    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRIOPS_USER", raising=False)
    monkeypatch.delenv("TRIOPS_AUDIT_KEY_PATH", raising=False)
    context.close_workspace()
    context.STATE.store_url = sqlite_store_url  # a copy of the session's migrated template
    yield context.open_store()
    context.close_workspace()
    context.STATE.store_url = None


@pytest.fixture
def server(store: Store, sqlite_store_url: str, tmp_path: Path) -> Iterator[Served]:
    """A server over the CLI's store (its own workspace on the same SQLite file)."""
    ws = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "served", settings=Settings(home=tmp_path))
    with serve(ws) as served:
        yield served
    ws.close()


def act_as(user: str, served: Served) -> None:
    """The next commands run as ``user`` through the server, with ``--store URL`` and their token."""
    context.close_workspace()
    context.STATE.store_url, context.STATE.token = served.url, served.token(user)


def ok(app: object, args: list[str]) -> str:
    result = runner.invoke(app, args)  # type: ignore[arg-type]
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_role_grant_list_revoke(store: Store) -> None:
    ok(cli.role_app, ["grant", "anna", "approver", "--project", "benefits"])
    rows = json.loads(ok(cli.role_app, ["list", "--json"]))
    owner = (os_user(), "admin", "*")  # the OS user of a fresh SQLite workspace is its owner
    assert [(r["principal"], r["role"], r["project"]) for r in rows] == [
        owner,
        ("anna", "approver", "benefits"),
    ]
    assert "anna" in ok(cli.role_app, ["list"])
    ok(cli.role_app, ["revoke", "anna", "approver", "--project", "benefits"])
    assert [
        (r["principal"], r["role"], r["project"]) for r in json.loads(ok(cli.role_app, ["list", "--json"]))
    ] == [owner]
    perms = json.loads(ok(cli.role_app, ["list", "--permissions", "--json"]))
    assert {p["role"] for p in perms} == {"viewer", "contributor", "approver", "finops", "admin", "service"}


def test_a_user_with_bindings_acts_with_only_those(store: Store, server: Served) -> None:
    ok(cli.role_app, ["grant", "carl", "contributor", "--project", "benefits"])
    act_as("carl", server)
    result = runner.invoke(cli.role_app, ["grant", "carl", "admin"])
    assert isinstance(result.exception, PermissionDeniedError)
    assert "role.write" in str(result.exception)


def test_triops_user_is_a_display_name_on_a_local_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triops.cli.main import app

    monkeypatch.setenv("TRIOPS_USER", "dora")
    context.close_workspace()
    me = json.loads(ok(app, ["whoami", "--json"]))
    assert (me["principal"], me["display_name"], me["roles"]) == (os_user(), "dora", {"*": ["admin"]})
    assert "single-user" in me["mode"]
    assert json.loads(ok(cli.role_app, ["list", "--user", "dora", "--json"])) == []
    log = json.loads(ok(cli.audit_app, ["log", "--json", "-n", "5"]))
    shown = [e for e in log if e["action"] == "identity.display_name"]
    assert shown and {(e["actor"], e["after"]["display_name"]) for e in shown} == {(os_user(), "dora")}


def test_names_with_markup_and_sql_are_shown_literally(store: Store) -> None:
    name = "[bold red]x[/]'; DROP TABLE role_bindings;--"
    ok(cli.role_app, ["grant", name, "viewer"])
    assert name in ok(cli.role_app, ["list"]).replace("\n", "") or "[bold red]x[/]" in ok(
        cli.role_app, ["list"]
    )
    assert json.loads(ok(cli.role_app, ["list", "--json"]))[0]["principal"] == name


def test_policy_check_lints_and_evaluates(tmp_path: Path, store: Store) -> None:
    policy = tmp_path / "fair.yaml"
    policy.write_text(POLICY)
    assert "1 policies, syntax OK" in ok(cli.policy_app, ["check", str(policy)])
    facts = tmp_path / "facts.yaml"
    facts.write_text("gate: model.stage\nchange: {to_stage: production}\nfairness_gaps: {dp: 0.2}\n")
    result = runner.invoke(cli.policy_app, ["check", str(policy), "--facts", str(facts), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["passed"] is False
    assert data["rules"][0]["reason"].startswith("not met")
    assert data["facts"]["fairness"]["max_gap"] == 0.2


def test_policy_check_names_line_and_column_of_a_syntax_error(tmp_path: Path, store: Store) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngate: deployment\nrules:\n  - expr: metrics.auc >=\n")
    result = runner.invoke(cli.policy_app, ["check", str(bad)])
    assert isinstance(result.exception, PolicyError)
    assert f"{bad}:4:" in str(result.exception)


def test_policy_add_list_remove_and_check_stored(tmp_path: Path, store: Store) -> None:
    policy = tmp_path / "fair.yaml"
    policy.write_text(POLICY)
    ok(cli.policy_app, ["add", str(policy)])
    listed = json.loads(ok(cli.policy_app, ["list", "--json"]))
    assert listed[0]["name"] == "fair-before-production"
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps(
            {"gate": "model.stage", "change": {"to_stage": "production"}, "fairness_gaps": {"dp": 0.01}}
        )
    )
    result = runner.invoke(cli.policy_app, ["check", "--facts", str(facts)])
    assert result.exit_code == 1  # rules pass, the approval is missing
    assert "needs 1 approval" in result.output
    (decision,) = json.loads(ok(cli.gate_app, ["list", "--json"]))
    assert (decision["gate"], decision["passed"]) == ("model.stage", False)
    assert "failed" in ok(cli.gate_app, ["list", "--gate", "model.stage"])
    assert json.loads(ok(cli.gate_app, ["list", "--gate", "data.publish", "--json"])) == []
    ok(cli.policy_app, ["remove", "fair-before-production"])
    assert json.loads(ok(cli.policy_app, ["list", "--json"])) == []


def test_bad_facts_file_is_refused(tmp_path: Path, store: Store) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text("gate: model.stage\nmetrics: {auc: high}\n")
    result = runner.invoke(cli.policy_app, ["check", "--facts", str(facts)])
    assert isinstance(result.exception, InvalidInputError)
    assert "metrics.auc" in str(result.exception)


def test_audit_verify_seal_export_and_tamper(tmp_path: Path, store: Store) -> None:
    for user in ("a", "b", "c"):
        ok(cli.role_app, ["grant", user, "viewer"])  # after the owner's bootstrap: four events
    assert "signed 2 checkpoint" in ok(cli.audit_app, ["seal", "--every", "2"])
    assert (Path(os.environ["XDG_CONFIG_HOME"]) / "triops" / "keys" / "audit_ed25519").exists()
    assert not (tmp_path / "home" / "keys").exists()  # the key is not kept next to the store
    assert "audit log OK" in ok(cli.audit_app, ["verify"])
    report = json.loads(ok(cli.audit_app, ["verify", "--json"]))
    assert report["ok"]
    assert report["checked"] == 4
    assert report["checkpoints_checked"] == 2
    out = tmp_path / "audit.jsonl"
    ok(cli.audit_app, ["export", "--out", str(out)])
    assert len(out.read_text().splitlines()) == 4
    assert "audit log OK" in ok(cli.audit_app, ["verify", "--file", str(out)])
    assert ok(cli.audit_app, ["export"]).splitlines() == out.read_text().splitlines()
    log = json.loads(ok(cli.audit_app, ["log", "--json", "-n", "2"]))
    assert [e["seq"] for e in log] == [4, 3]
    with store.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 2).values(actor="mallory"))
    result = runner.invoke(cli.audit_app, ["verify"])
    assert result.exit_code == 1
    assert "first bad sequence number 2" in result.output


def test_audit_witness_out_then_verify_against_it(tmp_path: Path, store: Store) -> None:
    ok(cli.role_app, ["grant", "a", "viewer"])
    ticket = tmp_path / "ticket.jsonl"
    assert "appended the signed head (seq 2)" in ok(cli.audit_app, ["witness", "--out", str(ticket)])
    assert "audit log OK" in ok(cli.audit_app, ["verify", "--witness", str(ticket)])
    with store.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq == 2))
        conn.execute(sa.update(audit_head).values(seq=1))
    result = runner.invoke(cli.audit_app, ["verify", "--witness", str(ticket)])
    assert result.exit_code == 1
    assert "first bad sequence number 2" in result.output


def test_inventory_add_list_export(tmp_path: Path, store: Store) -> None:
    spec = tmp_path / "uc.yaml"
    spec.write_text(
        "name: UI outreach\npurpose: rank workers for outreach\nstage: operation-and-maintenance\n"
        "high_impact: high-impact\nmodel_ids: [mv-1]\n"
    )
    output = ok(cli.inventory_app, ["add", str(spec)])
    assert "gap:" in output
    items = json.loads(ok(cli.inventory_app, ["list", "--json"]))
    assert items[0]["name"] == "UI outreach"
    assert ok(cli.inventory_app, ["export", "--format", "csv"]).startswith("id,name,")
    target = tmp_path / "inv.json"
    ok(cli.inventory_app, ["export", "--format", "json", "--out", str(target)])
    assert json.loads(target.read_text())[0]["model_ids"] == ["mv-1"]
    result = runner.invoke(cli.inventory_app, ["export", "--format", "xml"])
    assert isinstance(result.exception, InvalidInputError)


def test_inventory_add_with_malformed_yaml_names_the_place(tmp_path: Path, store: Store) -> None:
    spec = tmp_path / "uc.yaml"
    spec.write_text("name: [unclosed\n")
    result = runner.invoke(cli.inventory_app, ["add", str(spec)])
    assert isinstance(result.exception, InvalidInputError)
    assert f"{spec}:" in str(result.exception)


def test_compliance_report(store: Store) -> None:
    data = json.loads(ok(cli.compliance_app, ["report", "--framework", "eu-ai-act", "--json"]))
    assert data["framework"] == "eu-ai-act"
    assert data["summary"]["present"] == 0
    ok(cli.role_app, ["grant", "anna", "approver"])
    text = ok(cli.compliance_app, ["report", "--framework", "nist-ai-rmf", "--missing-only"])
    assert "GOVERN 2.1" not in text  # role bindings are present now
    assert "MEASURE 2.11" in text
    result = runner.invoke(cli.compliance_app, ["report", "--framework", "iso"])
    assert isinstance(result.exception, InvalidInputError)


def test_approval_request_approve_with_separation_of_duties(
    tmp_path: Path, store: Store, server: Served
) -> None:
    policy = tmp_path / "fair.yaml"
    policy.write_text(POLICY)
    ok(cli.policy_app, ["add", str(policy)])
    ok(cli.role_app, ["grant", "anna", "approver"])
    out = ok(
        cli.approval_app,
        [
            "request",
            "--gate",
            "model.stage",
            "--subject",
            "mv-7",
            "--change",
            "to_stage=production",
            "--author",
            "dora",
            "-j",
            "promote the champion",
        ],
    )
    assert "needs 1 from approver" in out
    (row,) = json.loads(ok(cli.approval_app, ["list", "--json"]))
    bad = runner.invoke(
        cli.approval_app,
        ["request", "--gate", "model.stage", "--subject", "x", "--change", "oops", "-j", "x"],
    )
    assert isinstance(bad.exception, InvalidInputError)
    result = runner.invoke(cli.approval_app, ["approve", row["id"], "-j", "mine"])
    # the requester (the OS user) cannot approve, and a local store has no second principal: the refusal
    # says to approve through the server as another token-authenticated user
    assert isinstance(result.exception, PermissionDeniedError)
    assert "single-user" in str(result.exception) and "--store http://" in str(result.exception)
    act_as("dora", server)  # the named author, authenticated this time
    refused = runner.invoke(cli.approval_app, ["approve", row["id"], "-j", "my own change"])
    assert isinstance(refused.exception, PermissionDeniedError)
    act_as("anna", server)
    assert "now approved" in ok(cli.approval_app, ["approve", row["id"], "-j", "fairness report reviewed"])
    assert json.loads(ok(cli.approval_app, ["list", "--json", "--status", "approved"]))[0]["id"] == row["id"]
