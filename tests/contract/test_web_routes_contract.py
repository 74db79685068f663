"""The routes the web pages read — a budget's burn-down, the monitors list and the recorded gate decisions —
give the same result through a real server (``Workspace.open("http://…", token=…)``) as the local SDK on the
same store, acting as the same user; a user without a role in the project sees none of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.mlops.serving.helpers import register_served

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.errors import NotFoundError
from triops.finops.budgets import new_budget
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

POLICY = """\
policies:
  - name: staging-needs-auc
    gate: model.stage
    rules:
      - name: auc
        expr: metrics.auc >= 0.7
"""


@pytest.fixture
def pair(sqlite_store_url: str, tmp_path: Path) -> Iterator[tuple[Workspace, Workspace, Workspace]]:
    """The local workspace of carol, her remote one, and the remote one of dave (no role anywhere)."""
    from tests.server.conftest import start_server

    home = tmp_path / "server"
    server_ws = Workspace.open(
        sqlite_store_url, artifact_root=home / "artifacts", settings=Settings(home=home)
    )
    now = utc_ms(server_ws.clock.now())
    tokens = {
        user: server_ws.store.write(lambda conn, user=user: create_token(conn, user, "contract", now))[1]
        for user in ("carol", "dave")
    }
    roles.grant(server_ws.store, Principal.owner("admin"), "carol", "admin", None)
    server, thread, url = start_server(server_ws)
    # in code, as the server does per request: on a local store TRIOPS_USER is only a display name
    with server_ws.store.connect() as conn:
        local = server_ws.acting_as(roles.load_principal(conn, "carol"))
    remote, stranger = (
        Workspace.open(url, token=tokens[user], settings=Settings(home=tmp_path / user)) for user in tokens
    )
    yield local, remote, stranger
    for ws in (remote, stranger):
        ws.close()
    server.should_exit = True
    thread.join(timeout=10)
    server_ws.close()


def test_burn_down_monitors_and_gate_decisions_match_local_and_remote(
    pair: tuple[Workspace, Workspace, Workspace],
) -> None:
    local, remote, stranger = pair
    now = utc_ms(local.clock.now())
    usage = [
        UsageRecord(id=new_id(), run_id=f"run-{i}", step_run_id=None, project="claims", pipeline="train",
                    step="fit", started_ms=now - 60_000, ended_ms=now - i, wall_s=600.0, cpu_s=300.0,
                    peak_rss_bytes=1 << 28, bytes_read=0, bytes_written=0, gpu_s=0.0, gpu_model=None,
                    requested_cpu=4.0, requested_memory_gb=8.0, environment="local", tags={})
        for i in range(3)
    ]  # fmt: skip
    local.finops.record_usage(usage)
    budget = remote.finops.set_budget(new_budget("project", "claims", "month", "0.01", "EUR"))
    burn = remote.finops.burn_down(budget)
    assert burn == local.finops.burn_down(budget)
    assert burn.spent[-1] > burn.amount_micros and burn.over_on is not None
    with pytest.raises(NotFoundError, match="budget project 'claims' \\(quarter\\)"):
        remote.finops.burn_down(new_budget("project", "claims", "quarter", "1", "EUR"))

    register_served(local, onnx=False)
    local.monitoring.create("claims@champion", window="200")
    (monitor,) = remote.monitoring.monitors()
    assert remote.monitoring.monitors() == local.monitoring.monitors()
    assert (monitor["model"], monitor["version"], monitor["project"], monitor["windows"]) == (
        "claims",
        1,
        "default",
        0,
    )

    remote.governance.add_policies(POLICY, project="claims")
    facts = {
        "gate": "model.stage",
        "subject_type": "model_version",
        "subject_id": "claims/1",
        "project": "claims",
    }
    remote.governance.check_gate({**facts, "metrics": {"auc": 0.6}})
    remote.governance.check_gate({**facts, "metrics": {"auc": 0.9}})
    decisions = remote.governance.gate_evaluations(project="claims")
    assert decisions == local.governance.gate_evaluations(project="claims")
    assert [d["passed"] for d in decisions] == [True, False]
    assert remote.governance.gate_evaluations(gate="model.stage", limit=1) == decisions[:1]
    first = remote.http.get("/governance/gates/evaluations", limit=1)  # type: ignore[attr-defined]
    second = remote.http.get(  # type: ignore[attr-defined]
        "/governance/gates/evaluations", limit=1, cursor=first["next_cursor"]
    )
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [d["id"] for d in decisions]

    assert stranger.monitoring.monitors() == [] and stranger.governance.gate_evaluations() == []
    with pytest.raises(NotFoundError):
        stranger.governance.gate_evaluations(project="claims")
    with pytest.raises(NotFoundError):
        stranger.finops.burn_down(budget)
