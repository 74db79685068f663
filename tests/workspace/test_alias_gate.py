"""Moving a guarded alias passes the ``model.alias.champion`` gate on the SDK (SQLite and PostgreSQL) and over
a real server: a contributor cannot move ``champion`` past a policy asking for an approver's approval; the
requester cannot approve their own request; an approval given for that move lets it through; an alias no
policy names moves freely, and an alias a policy names in ``when: change.alias == ...`` is guarded too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression
from tests.mlops.serving.helpers import FEATURES, claimants

from triops import Workspace
from triops.errors import GateBlockedError, PermissionDeniedError
from triops.governance.rbac import Principal
from triops.settings import Settings

POLICY = """\
policies:
  - name: champion-needs-approver
    gate: model.alias.champion
    rules:
      - name: evaluated-or-not
        expr: approvals >= 0
        reason: always true; the approval is what this policy asks
    approvals: {role: approver, count: 1, expires_in_days: 7}
  - name: production-alias-needs-auc
    gate: model.alias.champion
    when: change.alias == "production"
    rules:
      - name: has-auc
        expr: metrics.auc >= 0.99
        reason: a production alias needs an evaluated AUC of at least 0.99
"""


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    owner = root.acting_as(Principal.owner("olivia"))
    yield owner
    root.close()


def _two_versions(ws: Workspace) -> None:
    data = claimants()
    for c in (1.0, 0.5):
        model = LogisticRegression(C=c, max_iter=500).fit(data[FEATURES], data.ui)
        ws.models.register("claims", model, training_frame=data[FEATURES], onnx=False)
    ws.models.set_alias("claims", "champion", 1)  # no policy yet: the first champion is free


def test_moving_champion_needs_the_approval_bound_to_that_move(ws: Workspace) -> None:
    _two_versions(ws)
    ws.governance.add_policies(POLICY)
    carl = ws.acting_as(Principal.from_bindings("carl", [(None, "contributor")]))
    ava = ws.acting_as(Principal.from_bindings("ava", [(None, "approver")]))
    with pytest.raises(GateBlockedError, match="approval"):
        carl.models.set_alias("claims", "champion", 2)
    assert ws.models.get("claims@champion").version == 1
    request = carl.governance.request_approval(
        gate="model.alias.champion",
        subject_id="claims/2",
        change={"alias": "champion", "to": "claims/2"},
        justification="retrained on the newest passing data",
    )
    with pytest.raises(PermissionDeniedError, match="separation of duties"):
        carl.governance.approve(request.id, "looks fine to me")
    with pytest.raises(GateBlockedError):
        carl.models.set_alias("claims", "champion", 2)  # still pending
    ava.governance.approve(request.id, "evaluation and card checked")
    carl.models.set_alias("claims", "champion", 2)
    assert ws.models.get("claims@champion").version == 2
    checks = [e for e in ws.governance.audit_events() if e["action"] == "gate.evaluate"][::-1]
    # the first champion (no policy yet) passed an empty gate; then blocked, blocked, passed
    assert [(c["object_id"], c["after"]["passed"]) for c in checks] == [
        ("claims/1", True),
        ("claims/2", False),
        ("claims/2", False),
        ("claims/2", True),
    ]


def test_an_approval_for_another_move_does_not_let_champion_move(ws: Workspace) -> None:
    _two_versions(ws)
    ws.governance.add_policies(POLICY)
    carl = ws.acting_as(Principal.from_bindings("carl", [(None, "contributor")]))
    ava = ws.acting_as(Principal.from_bindings("ava", [(None, "approver")]))
    other = carl.governance.request_approval(
        gate="model.alias.champion",
        subject_id="claims/2",
        change={"alias": "production", "to": "claims/2"},
        justification="for the production alias only",
    )
    ava.governance.approve(other.id, "production alias reviewed")
    with pytest.raises(GateBlockedError, match="approval"):
        carl.models.set_alias("claims", "champion", 2)  # the approval is bound to the production move
    right = carl.governance.request_approval(
        gate="model.alias.champion",
        subject_id="claims/2",
        change={"alias": "champion", "from": "claims/1", "to": "claims/2"},
        justification="retrained on the newest passing data",
    )
    ava.governance.approve(right.id, "evaluation and card checked")
    carl.models.set_alias("claims", "champion", 2)
    assert ws.models.get("claims@champion").version == 2
    with pytest.raises(GateBlockedError, match="approval"):
        carl.models.set_alias("claims", "champion", 1)  # moving it back is a new move: gated too


def test_aliases_no_policy_names_move_freely_and_named_ones_are_gated(ws: Workspace) -> None:
    _two_versions(ws)
    ws.governance.add_policies(POLICY)
    carl = ws.acting_as(Principal.from_bindings("carl", [(None, "contributor")]))
    carl.models.set_alias("claims", "challenger", 2)
    assert ws.models.get("claims@challenger").version == 2
    with pytest.raises(GateBlockedError, match="auc"):
        carl.models.set_alias("claims", "production", 2)
    with pytest.raises(Exception, match="production"):
        ws.models.get("claims@production")


def test_moving_champion_over_the_api_is_gated(store_url: str, tmp_path: Path) -> None:
    from tests.server.conftest import start_server

    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.store.repositories.tokens import create_token

    root = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    admin = Principal.owner("admin")
    owner = root.acting_as(admin)
    _two_versions(owner)
    owner.governance.add_policies(POLICY)
    now = utc_ms(root.clock.now())
    tokens = {}
    for user, role in (("carl", "contributor"), ("ava", "approver")):
        _, tokens[user] = root.store.write(lambda conn, u=user: create_token(conn, u, "test", now))
        roles.grant(root.store, admin, user, role, None)
    server, thread, url = start_server(root)
    try:
        carl = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['carl']}"}, timeout=60)
        ava = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['ava']}"}, timeout=60)
        move = carl.put("/api/v1/models/claims/aliases/champion", json={"version": 2})
        assert move.status_code == 409, move.text
        assert "approval" in move.text
        asked = carl.post(
            "/api/v1/governance/approvals",
            json={
                "gate": "model.alias.champion",
                "subject_id": "claims/2",
                "change": {"alias": "champion", "to": "claims/2"},
                "justification": "retrained on the newest passing data",
            },
        )
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        own = carl.post(f"/api/v1/governance/approvals/{request_id}/approve", json={"justification": "mine"})
        assert own.status_code == 403 and "separation of duties" in own.text
        assert ava.post(
            f"/api/v1/governance/approvals/{request_id}/approve", json={"justification": "checked"}
        ).is_success
        moved = carl.put("/api/v1/models/claims/aliases/champion", json={"version": 2})
        assert moved.status_code == 200, moved.text
        assert moved.json()["version"] == 2
        assert carl.get("/api/v1/models/claims/aliases/champion").json()["version"] == 2
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        root.close()
