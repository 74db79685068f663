"""FinOps attribution over HTTP and through the remote SDK: serving usage per model version, cost per 1,000
predictions, shared-cost allocation, budgets per cost centre, FOCUS re-import refused; permissions checked
in the services as a matrix (admin, contributor, viewer, outsider)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

USERS = {
    "ada": ("admin", None),
    "cal": ("contributor", "serve"),
    "vic": ("viewer", "serve"),
    "out": ("viewer", "x"),
}


@dataclass
class Api:
    url: str
    clients: dict[str, httpx.Client]
    tokens: dict[str, str]
    workspace: Workspace


@pytest.fixture
def api(sqlite_store_url: str, tmp_path: Path) -> Iterator[Api]:
    ws = Workspace.open(
        sqlite_store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    now = utc_ms(ws.clock.now())
    tokens = {}
    for user, (role, project) in USERS.items():
        _, tokens[user] = ws.store.write(lambda conn, u=user: create_token(conn, u, "t", now))
        roles.grant(ws.store, Principal.owner("root"), user, role, project)
    server, thread, url = start_server(ws)
    clients = {
        u: httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {t}"}, timeout=60)
        for u, t in tokens.items()
    }
    yield Api(url, clients, tokens, ws)
    for client in clients.values():
        client.close()
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


USAGE = {"model_version": "churn/3", "project": "serve", "predictions": 4000, "cpu_s": 720.0}


@pytest.mark.parametrize(
    ("user", "status"), [("ada", 201), ("cal", 201), ("vic", 403), ("out", 404)], ids=list(USERS)
)
def test_serving_usage_permission_matrix(api: Api, user: str, status: int) -> None:
    answer = api.clients[user].post("/finops/serving-usage", json=USAGE)
    assert answer.status_code == status, answer.text
    if status == 201:
        assert answer.json()["predictions"] == 4000
        assert answer.json()["tags"]["model_version"] == "churn/3"


def test_cost_per_model_version_and_per_1000_predictions(api: Api) -> None:
    for _ in range(2):
        assert api.clients["cal"].post("/finops/serving-usage", json=USAGE).status_code == 201
    [row] = api.clients["vic"].get("/finops/costs/models", params={"project": "serve"}).json()["items"]
    assert row["predictions"] == 8000
    assert row["per_1k_predictions_micros"] == round(row["cost_micros"] * 1000 / 8000)
    assert row["cost"].startswith("€")
    bad = api.clients["cal"].post("/finops/serving-usage", json={**USAGE, "predictions": -1})
    assert bad.status_code == 422 and "predictions" in bad.text


def test_shared_cost_allocation_needs_budget_write_and_shows_in_reports(api: Api) -> None:
    api.clients["cal"].post("/finops/serving-usage", json=USAGE)
    month = datetime.now(UTC).strftime("%Y-%m")
    body = {"label": "cluster idle", "amount": "12.34", "currency": "EUR", "period": month, "by": "project"}
    assert api.clients["cal"].post("/finops/allocations", json=body).status_code == 403
    done = api.clients["ada"].post("/finops/allocations", json=body)
    assert done.status_code == 201, done.text
    assert done.json()["shares"] == {"serve": 12_340_000}
    report = api.clients["ada"].get("/finops/costs", params={"by": "project"}).json()["items"]
    assert {"project": "serve", "source": "shared: cluster idle", "cost_micros": 12_340_000}.items() <= next(
        r for r in report if r["source"].startswith("shared")
    ).items()
    assert api.clients["vic"].get("/finops/allocations").status_code == 403  # workspace-wide figures
    listed = api.clients["ada"].get("/finops/allocations").json()["items"]
    assert [a["label"] for a in listed] == ["cluster idle"]


def test_cost_centre_budgets_over_http(api: Api) -> None:
    body = {"scope": "cost_centre", "name": "cc-7", "amount": "10", "currency": "EUR"}
    answer = api.clients["ada"].put("/finops/budgets", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["budget"]["scope"] == "cost_centre"


def test_the_remote_sdk_offers_the_same_attribution(api: Api, tmp_path: Path) -> None:
    ws = Workspace.open(api.url, token=api.tokens["cal"], settings=Settings(home=tmp_path / "client"))
    try:
        record = ws.finops.record_serving_usage("churn/3", project="serve", predictions=1000, cpu_s=36.0)
        assert record.predictions == 1000
        [row] = ws.finops.model_costs(project="serve")
        assert row["model_version"] == "churn/3"
    finally:
        ws.close()
