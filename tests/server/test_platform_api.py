"""The pillar routes over raw HTTP on a live server: bad input, permissions, cursors, ETags, safe downloads,
security headers and the offline docs page."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.dataops.helpers import PEOPLE, good_people
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.mlops.registry.serialization import dump_model
from triops.settings import Settings
from triops.store.repositories.tokens import create_token


@dataclass
class Api:
    url: str
    admin: httpx.Client
    viewer: httpx.Client  # viewer in project "other" only
    workspace: Workspace


@pytest.fixture
def api(sqlite_store_url: str, tmp_path: Path) -> Iterator[Api]:
    ws = Workspace.open(
        sqlite_store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    now = utc_ms(ws.clock.now())
    _, admin_token = ws.store.write(lambda conn: create_token(conn, "ada", "t", now))
    _, viewer_token = ws.store.write(lambda conn: create_token(conn, "vic", "t", now))
    roles.grant(ws.store, Principal.owner("root"), "ada", "admin", None)
    roles.grant(ws.store, Principal.owner("root"), "vic", "viewer", "other")
    server, thread, url = start_server(ws)
    clients = [
        httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {t}"}, timeout=60)
        for t in (admin_token, viewer_token)
    ]
    yield Api(url, clients[0], clients[1], ws)
    for client in clients:
        client.close()
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def _skops() -> bytes:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(50), "b": rng.random(50)})
    return dump_model(LogisticRegression().fit(x, (x.a > 0.5).astype(int)))


def _register(api: Api, name: str = "m") -> dict[str, object]:
    files = {"file": ("m.skops", _skops(), "application/octet-stream")}
    response = api.admin.post(f"/models/{name}/versions", files=files, data={"metadata": "{}"})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_non_skops_model_file_is_refused_and_nothing_is_registered(api: Api) -> None:
    for data in (b"\x80\x04K\x01.", b"PK\x03\x04 not really a zip"):  # a pickle, a broken zip
        files = {"file": ("m.skops", data, "application/octet-stream")}
        response = api.admin.post("/models/m/versions", files=files)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "skops" in response.json()["detail"]
    assert api.admin.get("/models").json()["items"] == []


def test_a_dataset_failing_its_contract_is_stored_as_failed(api: Api) -> None:
    frame = good_people()
    frame[0, "id"] = 2  # a duplicate id
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    files = {
        "file": ("people.csv", buffer.getvalue(), "text/csv"),
        "contract": ("c.yaml", PEOPLE.encode(), "application/yaml"),
    }
    response = api.admin.post("/datasets/people/versions", files=files, data={"project": "hr"})
    assert response.status_code == 201, response.text
    assert response.json()["version"]["passed"] is False and response.json()["report"]["passed"] is False
    stored = api.admin.get("/datasets/people/versions/1", params={"project": "hr"})
    assert stored.json()["passed"] is False
    etag = stored.headers["etag"]
    assert (
        api.admin.get(
            "/datasets/people/versions/1", params={"project": "hr"}, headers={"If-None-Match": etag}
        ).status_code
        == 304
    )


def test_a_cursor_from_another_listing_is_refused(api: Api) -> None:
    for n in range(3):
        _register(api, f"m{n}")
    page = api.admin.get("/models", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    wrong = api.admin.get("/models/m0/versions", params={"cursor": page["next_cursor"]})
    assert wrong.status_code == 422 and "cursor" in wrong.json()["detail"]
    assert api.admin.get("/models", params={"cursor": "not-a-cursor"}).status_code == 422
    rest = api.admin.get("/models", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [m["name"] for m in rest["items"]] == ["m2"] and rest["next_cursor"] is None


def test_a_cursor_walk_is_stable_when_items_arrive_between_pages(api: Api) -> None:
    for name in ("b", "d", "f"):
        _register(api, name)
    first = api.admin.get("/models", params={"limit": 2}).json()
    _register(api, "a")  # sorts before the cursor: must not shift the next page
    second = api.admin.get("/models", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [m["name"] for m in first["items"] + second["items"]] == ["b", "d", "f"]


def test_a_token_without_the_permission_gets_403_naming_it(api: Api) -> None:
    _register(api)
    response = api.viewer.put("/models/m/versions/1/stage", json={"stage": "staging"})
    # the model is workspace-wide: the viewer of "other" cannot even read it
    assert response.status_code == 404
    response = api.viewer.put(
        "/finops/budgets", json={"scope": "project", "name": "other", "amount": "10", "currency": "EUR"}
    )
    assert response.status_code == 403
    problem = response.json()
    assert "budget.write" in problem["detail"] and problem["errors"]["permission"] == "budget.write"


def test_an_object_in_a_project_the_token_cannot_read_is_404(api: Api) -> None:
    buffer = io.BytesIO()
    good_people().write_csv(buffer)
    files = {"file": ("people.csv", buffer.getvalue(), "text/csv")}
    assert api.admin.post("/datasets/people/versions", files=files, data={"project": "hr"}).status_code == 201
    for path in ("/datasets/people/versions/1", "/datasets/people/versions", "/datasets/people/latest"):
        hidden = api.viewer.get(path, params={"project": "hr"})
        absent = api.viewer.get(path.replace("people", "nobody"), params={"project": "hr"})
        assert hidden.status_code == absent.status_code == 404
    assert api.viewer.get("/datasets", params={"project": "other"}).status_code == 404  # no datasets there


def test_downloads_are_attachments_with_etags_whatever_was_claimed(api: Api) -> None:
    _register(api)
    response = api.admin.get("/models/m/versions/1/file")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    etag = response.headers["etag"]
    again = api.admin.get("/models/m/versions/1/file", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    run = api.admin.post("/runs", json={"project": "p"}).json()
    html = b"<script>alert(1)</script>"
    put = api.admin.put(
        f"/runs/{run['id']}/artifacts/page.html", content=html, headers={"Content-Type": "text/html"}
    )
    assert put.status_code == 201 and put.json()["media_type"] == "text/html"
    got = api.admin.get(f"/runs/{run['id']}/artifacts/page.html")
    assert got.headers["content-type"] == "application/octet-stream" and got.content == html
    assert got.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize("name", ["a/%2E%2E/b", "%2E%2E", "x%01y", "x%0Ay", "x%7Fy"])
def test_artifact_names_with_dot_dot_or_control_characters_are_refused(api: Api, name: str) -> None:
    run = api.admin.post("/runs", json={"project": "p"}).json()
    # percent-encoded, so no client normalises the path before the server sees the name
    # (a newline never matches the route's path pattern: 404 before any handler runs)
    response = api.admin.put(f"/runs/{run['id']}/artifacts/{name}", content=b"x")
    assert response.status_code in (404, 422), response.text
    assert api.admin.get(f"/runs/{run['id']}/artifacts/{name}").status_code in (404, 422)
    assert api.admin.get(f"/runs/{run['id']}").json()["artifacts"] == []


def test_every_response_carries_the_security_headers(api: Api) -> None:
    for response in (
        httpx.get(f"{api.url}/healthz"),
        httpx.get(f"{api.url}/api/v1/models"),  # 401
        api.admin.get("/models/nothing"),  # 404
        httpx.get(f"{api.url}/api/v1/docs"),
        httpx.get(f"{api.url}/api/v1/openapi.json"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_docs_page_loads_everything_from_the_server(api: Api) -> None:
    page = httpx.get(f"{api.url}/api/v1/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline: CSP allows self only
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/api/v1/docs/static/") for u in urls)
    for url in urls:
        asset = httpx.get(f"{api.url}{url}")
        assert asset.status_code == 200 and len(asset.content) > 100
    init = httpx.get(f"{api.url}/api/v1/docs/static/swagger-init.js").text
    assert "validatorUrl: null" in init
    bundle = httpx.get(f"{api.url}/api/v1/docs/static/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("application/javascript")
    assert httpx.get(f"{api.url}/api/v1/docs/static/../openapi.json").status_code in (404, 200)
    assert httpx.get(f"{api.url}/api/v1/docs/static/secret.txt").status_code == 404


def test_out_of_range_integers_are_422_not_500(api: Api) -> None:
    for path, params in (
        ("/finops/recommendations", {"idle_days": str(2**70)}),
        ("/models/m/versions/99999999999999999999", {}),
        ("/models", {"limit": "0"}),
        ("/governance/audit/events", {"latest": "-1"}),
    ):
        response = api.admin.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"]


def test_runs_are_listed_page_by_page_newest_first(api: Api) -> None:
    made = [api.admin.post("/runs", json={"project": "p", "name": f"r{i}"}).json()["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    first = True
    while True:
        params = {"project": "p", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.admin.get("/runs", params=params).json()
        assert "items" in page, page
        seen += [r["id"] for r in page["items"]]
        if first:
            api.admin.post("/runs", json={"project": "p", "name": "late"})  # newer: never on a later page
            first = False
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    other = api.admin.get(
        "/runs",
        params={
            "project": "q",
            "cursor": api.admin.get("/runs", params={"project": "p", "limit": 1}).json()["next_cursor"],
        },
    )
    assert other.status_code == 422
    assert api.viewer.get("/runs", params={"project": "p"}).status_code == 404
    assert api.viewer.get("/runs").json()["items"] == []


def test_evaluating_over_the_api_checks_options_and_the_permission(api: Api) -> None:
    _register(api)
    csv = b"x,label\n0.1,0\n0.9,1\n0.2,0\n0.8,1\n"
    path = "/models/m/versions/1/evaluations"

    def post(client: httpx.Client, **form: str) -> httpx.Response:
        return client.post(path, files={"file": ("e.csv", csv, "text/csv")}, data={"target": "label", **form})

    unknown = post(api.admin, options='{"resample": 10}')
    assert unknown.status_code == 422 and unknown.json()["errors"]["field"] == "options.resample"
    wrong = post(api.admin, options='{"resamples": "many"}')
    assert wrong.status_code == 422 and wrong.json()["errors"]["field"] == "options.resamples"
    assert post(api.admin, task="ranking").status_code == 422
    assert post(api.viewer).status_code == 404  # the viewer cannot read the model's project
    files = {"file": ("o.skops", _skops(), "application/octet-stream")}
    other = api.admin.post("/models/o/versions", files=files, data={"metadata": '{"project": "other"}'})
    assert other.status_code == 201, other.text
    denied = api.viewer.post(
        "/models/o/versions/1/evaluations",
        files={"file": ("e.csv", csv, "text/csv")},
        data={"target": "label"},
    )
    assert denied.status_code == 403 and "model.register" in denied.json()["detail"]
    assert api.admin.get(path).json()["items"] == []  # nothing stored by the refused requests


def test_sensitivity_refuses_what_does_not_apply_to_it_by_name(api: Api) -> None:
    body = {"approaches": ["siloed", "integrated"], "runs": 20}
    assert api.admin.post("/strategy/simulate/sensitivity", json=body).status_code == 200
    too_much = {"runs": 5_000, "projects": 50}
    for extra, field in (
        ({"neutral": True}, "neutral"),
        ({"levers": ["cache"]}, "levers"),
        (too_much, "runs"),
    ):
        answer = api.admin.post("/strategy/simulate/sensitivity", json=body | extra)
        assert answer.status_code == 422 and answer.json()["errors"]["field"] == field


def test_one_simulation_request_cannot_hold_the_server_for_minutes(api: Api) -> None:
    """runs × projects × weeks is bounded by the max_simulation_work setting (default 11M: 20,000 runs of
    5 projects over two years fit; 20,000 × 50 × 260 would take minutes)."""
    fits = {"approaches": ["siloed"], "runs": 20_000, "projects": 5, "weeks": 104}
    too_much = {"approaches": ["siloed"], "runs": 20_000, "projects": 50, "weeks": 260}
    answer = api.admin.post("/strategy/simulate", json=too_much)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {"field": "runs", "limit": 11_000_000}
    assert "at most 11,000,000" in answer.json()["detail"]
    assert fits["runs"] * fits["projects"] * fits["weeks"] <= 11_000_000
