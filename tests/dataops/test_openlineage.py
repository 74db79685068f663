"""OpenLineage RunEvents: built with openlineage-python, emitted to a file and over HTTP.

Validation against the spec is in test_openlineage_spec.py."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.dataops.openlineage import LineageDataset, emit, event_dict, lineage_dataset, run_event
from triops.dataops.profile import profile
from triops.errors import InvalidInputError, RemoteError

from .helpers import PEOPLE, good_people

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _events() -> list[Any]:
    df = good_people()
    report = check(parse_contract(PEOPLE), df)
    fields = tuple((c, str(t)) for c, t in df.schema.items())
    raw = LineageDataset.from_uri(
        "file:///data/people.csv", fields=fields, report=report, profile=profile(df)
    )
    out = LineageDataset.from_uri("memory://features", fields=fields, report=report)
    run_id = str(uuid.uuid4())
    kw: dict[str, Any] = {"run_id": run_id, "job_name": "benefits.train", "event_time": NOW}
    return [
        run_event("START", inputs=[raw], **kw),
        run_event("COMPLETE", inputs=[raw], outputs=[out], **kw),
        run_event("FAIL", inputs=[raw], error="contract gate stopped the run", **kw),
    ]


def test_events_carry_schema_quality_metrics_and_assertions() -> None:
    start, complete, fail = (event_dict(e) for e in _events())
    assert [start["eventType"], complete["eventType"], fail["eventType"]] == ["START", "COMPLETE", "FAIL"]
    assert start["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    assert start["run"]["runId"] == complete["run"]["runId"]
    raw = complete["inputs"][0]
    assert (raw["namespace"], raw["name"]) == ("file", "/data/people.csv")
    assert [f["name"] for f in raw["facets"]["schema"]["fields"]] == ["id", "age", "state", "email"]
    metrics = raw["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 4
    assert metrics["columnMetrics"]["email"]["nullCount"] == 1
    assertions = raw["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {"assertion": "range", "column": "age", "success": True}.items() <= assertions[4].items()
    assert complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 4
    assert fail["run"]["facets"]["errorMessage"]["message"] == "contract gate stopped the run"
    for facet in (raw["facets"]["schema"], metrics, fail["run"]["facets"]["errorMessage"]):
        assert facet["_producer"] and facet["_schemaURL"].startswith("https://openlineage.io/spec/")


def test_events_follow_the_2_0_2_core_shape() -> None:
    """Checks the required fields of the 2-0-2 RunEvent on every event, whatever is installed."""
    for event in (event_dict(e) for e in _events()):
        assert {"eventTime", "producer", "schemaURL", "run", "job"} <= set(event)
        assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
        uuid.UUID(event["run"]["runId"])
        assert {"namespace", "name"} <= set(event["job"])
        for ds in event["inputs"] + event["outputs"]:
            assert {"namespace", "name"} <= set(ds)


def test_emit_appends_json_lines(tmp_path: Path) -> None:
    target = tmp_path / "lineage" / "events.jsonl"
    assert emit(_events(), target) == 3
    assert emit(_events()[:1], target) == 1
    lines = target.read_text().splitlines()
    assert [json.loads(line)["eventType"] for line in lines] == ["START", "COMPLETE", "FAIL", "START"]


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def lineage_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_emit_posts_to_a_marquez_style_endpoint(lineage_server: str) -> None:
    _Collector.received.clear()
    assert emit(_events(), lineage_server + "/api/v1/lineage") == 3
    assert [(p, b["eventType"]) for p, b in _Collector.received] == [
        ("/api/v1/lineage", "START"),
        ("/api/v1/lineage", "COMPLETE"),
        ("/api/v1/lineage", "FAIL"),
    ]


def test_unreachable_endpoint_is_a_remote_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RemoteError, match="refused"):
        emit(_events()[:1], f"http://127.0.0.1:{port}/api/v1/lineage", timeout_s=1.0)


def test_bad_event_inputs_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="not one of"):
        run_event("DONE", run_id=str(uuid.uuid4()), job_name="j", event_time=NOW)
    with pytest.raises(InvalidInputError, match="timezone"):
        run_event("START", run_id=str(uuid.uuid4()), job_name="j", event_time=datetime(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="UUID"):
        run_event("START", run_id="not-a-uuid", job_name="j", event_time=NOW)


def test_lineage_dataset_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    good_people().write_parquet(path)
    ds = lineage_dataset(path)
    assert (ds.namespace, ds.name) == ("file", str(path.resolve()))
    assert ds.fields[0] == ("id", "Int64")
    assert ds.size_bytes == path.stat().st_size
    memory = lineage_dataset(good_people(), name="features")
    assert (memory.namespace, memory.name) == ("triops", "features")
