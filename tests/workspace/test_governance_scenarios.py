"""The attacks of issue 14, replayed through a real server on SQLite and PostgreSQL: each one now fails the
attacker.

dora grants herself admin; eve approves alice's request; vic (a viewer) stages a model, moves ``champion``,
mints a token for the admin and sets a budget; carl approves the promotion of the model he registered; one
approval given "for staging" moves a model to production, and one approval is used twice. Every person but the
store's admin (the OS user, who opens the store directly) is a token-authenticated user of the server: on a
local store ``TRIOPS_USER`` is only a display name, so it cannot stand in for another person.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from tests.governance.served import Served, serve

from triops import Workspace
from triops.errors import GateBlockedError, NotFoundError, PermissionDeniedError
from triops.finops.budgets import new_budget
from triops.settings import Settings
from triops.store.audit import iter_events
from triops.store.engine import Store

ANY_STAGE = """\
name: every-stage-needs-an-approver
gate: model.stage
rules:
  - name: always
    expr: "true"
approvals: {role: approver, count: 1}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def admin(store_url: str, home: Path) -> Iterator[Workspace]:
    ws = Workspace.open(store_url, artifact_root=home / "artifacts", settings=Settings(home=home))
    yield ws
    ws.close()


@pytest.fixture
def server(admin: Workspace) -> Iterator[Served]:
    with serve(admin) as served:
        yield served


def _model(ws: Workspace, name: str = "benefit-takeup", project: str = "benefits") -> str:
    x = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 10, "b": [1.0, 0.0, 1.0, 0.0] * 10})
    model = LogisticRegression().fit(x.to_numpy(), [0, 1, 0, 1] * 10)
    return ws.models.register(name, model, training_frame=x, git_commit=None, onnx=False, project=project).ref


def _enforce_stage(ws: Workspace, ref: str, to_stage: str) -> None:
    """The stage gate for a change the registry would refuse for other reasons (the model is there already)."""
    from triops.governance.facts import GateFacts
    from triops.governance.gates import enforce_gate

    facts = GateFacts(
        gate="model.stage",
        subject_type="model_version",
        subject_id=ref,
        project="benefits",
        change={"from_stage": "staging", "to_stage": to_stage},
    )
    enforce_gate(ws.store, facts, ws.principal.name, ws.clock)


def test_an_unbound_user_holds_no_rights_not_even_on_sqlite(admin: Workspace, server: Served) -> None:
    assert admin.principal.can("role.write", None)  # the owner
    dora = server.as_user("dora")
    assert dora.principal.roles == {}
    with pytest.raises(PermissionDeniedError, match=r"role\.write"):
        dora.governance.grant("dora", "admin")
    with pytest.raises(PermissionDeniedError, match=r"run\.write"):
        dora.start_run("benefits")


def test_eve_without_a_role_cannot_approve_alices_request(admin: Workspace, server: Served) -> None:
    admin.governance.add_policies(ANY_STAGE)
    admin.governance.grant("alice", "contributor", "benefits")
    ref = _model(admin)
    alice = server.as_user("alice")
    request = alice.governance.request_approval(
        gate="model.stage",
        subject_id=ref,
        change={"to_stage": "staging"},
        justification="tests",
        project="benefits",
    )
    eve = server.as_user("eve")
    with pytest.raises(PermissionDeniedError):
        eve.governance.approve(request.id, "looks fine")


def test_a_viewer_changes_nothing(admin: Workspace, server: Served) -> None:
    ref = _model(admin)
    admin.governance.grant("vic", "viewer", "benefits")
    vic = server.as_user("vic")
    assert vic.models.get(ref).ref == ref  # reads are fine
    with pytest.raises(PermissionDeniedError, match=r"model\.stage"):
        vic.models.transition(ref, "staging")
    with pytest.raises(PermissionDeniedError, match=r"model\.alias"):
        vic.models.set_alias("benefit-takeup", "champion", 1)
    with pytest.raises(PermissionDeniedError, match=r"token\.write"):
        vic.governance.create_token(admin.principal.name)
    with pytest.raises(PermissionDeniedError, match=r"user\.write"):
        vic.governance.create_user("mallory")
    with pytest.raises(PermissionDeniedError, match=r"budget\.write"):
        vic.finops.set_budget(
            new_budget("project", "benefits", "month", Decimal("1"), "EUR", clock=vic.clock)
        )
    with pytest.raises(PermissionDeniedError, match=r"audit\.read"):
        vic.governance.verify_audit()


def test_a_model_in_a_project_you_cannot_read_does_not_exist(admin: Workspace, server: Served) -> None:
    ref = _model(admin, project="secret")
    admin.governance.grant("vic", "viewer", "benefits")
    vic = server.as_user("vic")
    with pytest.raises(NotFoundError):
        vic.models.get(ref)
    assert vic.models.list_models() == []


def test_the_registrant_cannot_approve_the_promotion_of_their_model(admin: Workspace, server: Served) -> None:
    admin.governance.add_policies(ANY_STAGE)
    admin.governance.grant("carl", "contributor", "benefits")
    admin.governance.grant("carl", "approver", "benefits")
    carl = server.as_user("carl")
    ref = _model(carl)
    request = admin.governance.request_approval(
        gate="model.stage",
        subject_id=ref,
        change={"to_stage": "staging"},
        justification="tests",
        project="benefits",
    )
    with pytest.raises(PermissionDeniedError, match="registered"):
        carl.governance.approve(request.id, "my model is fine")


def test_an_approval_is_bound_to_its_change_and_used_once(admin: Workspace, server: Served) -> None:
    admin.governance.add_policies(ANY_STAGE)
    admin.governance.grant("anna", "approver", "benefits")
    ref = _model(admin)
    anna = server.as_user("anna")
    request = admin.governance.request_approval(
        gate="model.stage", subject_id=ref, change={"to_stage": "staging"}, justification="staging tests"
    )
    anna.governance.approve(request.id, "fine for staging tests")
    assert admin.models.transition(ref, "staging").stage == "staging"
    with pytest.raises(GateBlockedError):  # the staging approval does not cover production
        admin.models.transition(ref, "production")
    with pytest.raises(GateBlockedError):  # nor is it reusable for staging again
        _enforce_stage(admin, ref, "staging")
    live = admin.governance.request_approval(
        gate="model.stage", subject_id=ref, change={"to_stage": "production"}, justification="go live"
    )
    anna.governance.approve(live.id, "fairness reviewed")
    admin.governance.add_policies(ANY_STAGE.replace("every-stage", "second"))  # the policies move on
    with pytest.raises(GateBlockedError, match="policies changed"):
        admin.models.transition(ref, "production")
    again = admin.governance.request_approval(
        gate="model.stage", subject_id=ref, change={"to_stage": "production"}, justification="go live"
    )
    anna.governance.approve(again.id, "reviewed under the new policies")
    assert admin.models.transition(ref, "production").stage == "production"
    with admin.store.connect() as conn:
        actions = [e.action for e in iter_events(conn)]
    assert actions.count("approval.consume") == 2


def test_budget_and_token_changes_are_audited_under_the_real_actor(admin: Workspace, server: Served) -> None:
    admin.governance.grant("fin", "finops", "benefits")
    fin = server.as_user("fin")
    fin.finops.set_budget(new_budget("project", "benefits", "month", Decimal("10"), "EUR", clock=fin.clock))
    issued = admin.governance.create_token("svc", name="ci")
    admin.governance.revoke_token(issued.id)
    admin.governance.disable_user("svc")
    with admin.store.connect() as conn:
        events = {e.action: e.actor for e in iter_events(conn)}
    owner = admin.principal.name
    assert events["budget.set"] == "fin"
    assert events["token.create"] == events["token.revoke"] == events["user.disable"] == owner


def test_triops_user_on_a_local_store_is_a_display_name_not_a_principal(admin: Workspace, home: Path) -> None:
    from triops.settings import os_user

    admin.governance.grant("dora", "viewer", "benefits")
    named = Workspace.open(
        admin.url, artifact_root=home / "artifacts", settings=Settings(home=home, user="dora")
    )
    assert named.principal.name == os_user() == admin.principal.name  # not dora, not dora's viewer role
    assert named.principal.roles == admin.principal.roles
    named.governance.grant("anna", "approver", "benefits")
    with admin.store.connect() as conn:
        events = list(iter_events(conn))
    named.close()
    shown = [e for e in events if e.action == "identity.display_name"]
    assert [(e.actor, e.after) for e in shown] == [
        (os_user(), {"principal": os_user(), "display_name": "dora"})
    ]
    assert {e.actor for e in events if e.action == "role.grant"} == {os_user()}
    assert [b.role for b in admin.governance.bindings(user="dora")] == ["viewer"]  # nothing granted to dora


def test_a_store_opened_directly_gives_full_rights_only_to_its_admin(
    store: Store, store_url: str, home: Path
) -> None:
    """A shared store (PostgreSQL; here also a SQLite file someone else administers) opened directly acts as the
    OS user with exactly that user's bindings: naming its admin in TRIOPS_USER borrows nothing, and an admin's
    direct changes are audited under the admin's own name."""
    from triops.governance.rbac import Principal
    from triops.governance.roles import bootstrap_owner, grant
    from triops.settings import os_user

    bootstrap_owner(store, "db-admin")  # `triops init --admin db-admin`: the OS user is not it
    settings = Settings(home=home, user="db-admin")
    with Workspace.open(store_url, artifact_root=home / "artifacts", settings=settings) as direct:
        assert direct.principal.name == os_user() and direct.principal.roles == {}
        with pytest.raises(PermissionDeniedError, match=r"role\.write"):
            direct.governance.grant(os_user(), "admin")
        with pytest.raises(PermissionDeniedError, match=r"run\.write"):
            direct.start_run("benefits")
    grant(store, Principal.owner("db-admin"), os_user(), "admin", None)  # now an admin opens it
    with Workspace.open(store_url, artifact_root=home / "artifacts", settings=Settings(home=home)) as direct:
        direct.governance.grant("anna", "approver", "benefits")
    with store.connect() as conn:
        granted = [e for e in iter_events(conn) if e.action == "role.grant"]
    assert [(e.actor, e.after["principal"]) for e in granted] == [
        ("db-admin", os_user()),
        (os_user(), "anna"),
    ]
