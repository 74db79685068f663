"""Serving over HTTP on a real uvicorn server on a loopback port: predict (JSON one row, rows, columns,
Parquet), signature errors as 422 problems naming the column, 404 naming the aliases, roles, the prediction
log route, and an alias move while requests are in flight (none fails)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.mlops.serving.helpers import register_served, row
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token


class Live:
    def __init__(self, url: str, ws: Workspace, tokens: dict[str, str]) -> None:
        self.url = url
        self.ws = ws
        self.tokens = tokens

    def client(self, who: str = "alice") -> httpx.Client:
        return httpx.Client(
            base_url=self.url + "/api/v1", headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=60
        )


@pytest.fixture
def live(store_url: str, tmp_path: Path) -> Iterator[Live]:
    settings = Settings(home=tmp_path, serving_poll_interval_s=0.05, flush_interval_s=0.05)
    ws = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=settings)
    owner = ws.acting_as(Principal.owner("admin"))
    register_served(owner)
    tokens = {}
    now = utc_ms(ws.clock.now())
    for name, role in (("alice", "contributor"), ("vera", "viewer")):
        _, tokens[name] = ws.store.write(lambda conn, name=name: create_token(conn, name, "test", now))
        roles.grant(ws.store, Principal.owner("admin"), name, role, None)
    server, thread, url = start_server(ws)
    yield Live(url, owner, tokens)
    server.should_exit = True
    thread.join(timeout=30)
    ws.close()


def test_predict_one_row_rows_columns_and_parquet(live: Live) -> None:
    with live.client() as client:
        one = client.post("/models/claims@champion/predict", json={"inputs": row(0)})
        assert one.status_code == 200, one.text
        body = one.json()
        assert one.headers["X-Request-Id"] == body["request_id"]
        assert one.headers["X-Model-Version"] == "claims/1" and body["version"] == 1
        assert len(body["predictions"]) == 1 and 0 <= body["scores"][0] <= 1
        rows = client.post("/models/claims@champion/predict", json={"inputs": [row(1), row(2), row(3)]})
        assert rows.status_code == 200 and len(rows.json()["predictions"]) == 3
        cols = {k: [row(i)[k] for i in (1, 2, 3)] for k in row(0)}
        columns = client.post("/models/claims@champion/predict", json={"columns": cols})
        assert columns.json()["predictions"] == rows.json()["predictions"]
        buffer = io.BytesIO()
        pq.write_table(pa.table(cols), buffer)
        parquet = client.post(
            "/models/claims@champion/predict",
            content=buffer.getvalue(),
            headers={"Content-Type": "application/vnd.apache.parquet"},
        )
        assert parquet.status_code == 200, parquet.text
        assert parquet.json()["predictions"] == rows.json()["predictions"]
        deadline = time.monotonic() + 60
        while True:  # the log is written by a background thread, within a flush interval
            log = client.get("/models/claims/predictions", params={"version": 1}).json()["items"]
            if len(log) == 10 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(log) == 10 and log[0]["id"] == body["request_id"]
        assert str(log[0]["inputs"]["income"]).startswith("[masked:")
        assert client.get("/serving/endpoints").json()[0]["endpoint"] == "claims@champion"


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"age": 40, "tenure": 2.0}, "missing: income"),
        ({**row(0), "postcode": "AB1"}, "extra: postcode"),
        ({**row(0), "age": "forty"}, "mistyped: age (expected integer, got string)"),
    ],
)
def test_signature_errors_are_422_problems_naming_the_column(
    live: Live, inputs: dict[str, object], named: str
) -> None:
    with live.client() as client:
        answer = client.post("/models/claims@champion/predict", json={"inputs": inputs})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert named in answer.json()["detail"]


def test_unknown_alias_bad_bodies_and_roles(live: Live) -> None:
    with live.client() as client:
        missing = client.post("/models/claims@challenger/predict", json={"inputs": row(0)})
        assert missing.status_code == 404
        assert "claims" in missing.json()["detail"] and "champion" in missing.json()["detail"]
        bad_json = client.post(
            "/models/claims@champion/predict", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert bad_json.status_code == 422 and "body" in bad_json.json()["detail"]
        text = client.post(
            "/models/claims@champion/predict", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert text.status_code == 422 and "content-type" in text.json()["detail"]
    with live.client("vera") as viewer:
        denied = viewer.post("/models/claims@champion/predict", json={"inputs": row(0)})
        assert denied.status_code == 403 and "model.predict" in denied.json()["detail"]
    anonymous = httpx.post(f"{live.url}/api/v1/models/claims@champion/predict", json={"inputs": row(0)})
    assert anonymous.status_code == 401


def test_alias_move_during_traffic_fails_no_request(live: Live, store_url: str) -> None:
    if "postgresql" in store_url:
        pytest.skip("one backend is enough for the traffic test on a loaded machine")
    versions: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        with live.client() as client:
            while not stop.is_set():
                answer = client.post("/models/claims@champion/predict", json={"inputs": row(0)})
                if answer.status_code != 200:
                    failures.append(answer.text)
                else:
                    versions.append(answer.json()["version"])

    threads = [threading.Thread(target=traffic) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(versions) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    register_served(live.ws, c=0.01)  # version 2; the alias moves to it
    while (not versions or versions[-1] != 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = len(versions)
    while len(versions) < seen + 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert versions[0] == 1 and versions[-1] == 2
    switched = versions.index(2)
    assert set(versions[switched + 8 :]) == {2}  # after the swap (and requests already past it), only v2


def test_a_revoked_token_stops_predicting_within_the_cache_time(live: Live, store_url: str) -> None:
    if "postgresql" in store_url:
        pytest.skip("token caching does not depend on the backend")
    from triops.server.api.serving import TOKEN_TTL_S
    from triops.store.repositories.tokens import list_tokens, revoke_token

    with live.client() as client:
        assert client.post("/models/claims@champion/predict", json={"inputs": row(0)}).status_code == 200
        with live.ws.store.connect() as conn:
            token_id = next(t["id"] for t in list_tokens(conn) if t["user"] == "alice")
        now = utc_ms(live.ws.clock.now())
        live.ws.store.write(lambda conn: revoke_token(conn, token_id, now))
        time.sleep(TOKEN_TTL_S + 0.5)
        assert client.post("/models/claims@champion/predict", json={"inputs": row(0)}).status_code == 401


def test_a_remote_workspace_predicts_and_reads_the_log(live: Live) -> None:
    from triops.errors import InvalidInputError

    remote = Workspace.open(
        live.url, token=live.tokens["alice"], settings=Settings(home=live.ws.settings.home)
    )
    try:
        served = remote.serving.predict("claims@champion", [row(0), row(1)])
        assert served.version == 1 and len(served.outputs) == 2
        with pytest.raises(InvalidInputError, match="missing: income"):
            remote.serving.predict("claims@champion", {"age": 1, "tenure": 1.0})
        deadline = time.monotonic() + 60
        records: list[object] = []
        while len(records) < 2 and time.monotonic() < deadline:
            records = list(remote.serving.predictions("claims", 1))
            time.sleep(0.1)
        assert [r.id for r in records] == [f"{served.request_id}/0", f"{served.request_id}/1"]  # type: ignore[attr-defined]
        assert remote.serving.prediction_frame("claims", limit=1).height == 1
    finally:
        remote.close()
