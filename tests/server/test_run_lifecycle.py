"""A run ends once: metrics after the end are refused (SDK and API), a finished run cannot be set back to
RUNNING or to another end, and JSON ``true`` is never a metric value. Nothing refused is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.conftest import LiveServer

from triops import Workspace
from triops.domain.records import RunStatus
from triops.errors import ConflictError, InvalidInputError
from triops.settings import Settings


def _api(server: LiveServer, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )


def _batch(value: Any = 1.0) -> dict[str, Any]:
    return {"keys": ["auc"], "values": [value], "steps": [0], "timestamps": [1]}


def _problem(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return str(answer.json()["detail"])


def test_over_the_api_a_finished_run_refuses_metrics_and_stays_finished(live_server: LiveServer) -> None:
    run_id = _api(live_server, "POST", "/runs", {"project": "life", "name": "r"}).json()["id"]
    assert _api(live_server, "POST", f"/runs/{run_id}/metrics", _batch(0.5)).status_code == 204
    finished = _api(live_server, "POST", f"/runs/{run_id}/finish", {"status": "FINISHED"})
    assert finished.status_code == 200 and finished.json()["status"] == "FINISHED"

    detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/metrics", _batch(0.9)), 409)
    assert "after the end" in detail and run_id in detail

    detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/finish", {"status": "RUNNING"}), 422)
    assert "status" in detail and "RUNNING" in detail
    detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/finish", {"status": "FAILED"}), 409)
    assert "already ended as FINISHED" in detail
    # the same end again is harmless (a retried request)
    assert _api(live_server, "POST", f"/runs/{run_id}/finish", {"status": "FINISHED"}).status_code == 200

    stored = live_server.workspace.runs.get(run_id)
    assert stored.status is RunStatus.FINISHED and stored.metrics == {"auc": 0.5}
    assert [m.value for m in live_server.workspace.runs.metric_history(run_id, "auc")] == [0.5]


def test_over_the_api_json_true_is_not_a_metric_value(live_server: LiveServer) -> None:
    run_id = _api(live_server, "POST", "/runs", {"project": "life", "name": "r"}).json()["id"]
    for value in (True, False):
        detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/metrics", _batch(value)), 422)
        assert "values" in detail
    assert live_server.workspace.runs.get(run_id).metrics == {}


def test_in_the_sdk_metrics_after_the_end_raise_and_the_end_is_final(store_url: str, tmp_path: Path) -> None:
    ws = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    try:
        with ws.start_run("life") as run:
            run.log_metric("auc", 0.5)
            with pytest.raises(InvalidInputError, match="'flag'"):
                run.log_metric("flag", True)  # type: ignore[arg-type]
        with pytest.raises(ConflictError, match="after the end of a run"):
            run.log_metric("auc", 0.9)
        with pytest.raises(ConflictError):
            run.log_metrics({"loss": 0.1})
        assert ws.runs.get(run.id).metrics == {"auc": 0.5}

        other = ws.start_run("life")
        with pytest.raises(InvalidInputError, match="RUNNING"):
            other.end(RunStatus.RUNNING)
        assert ws.runs.get(other.id).status is RunStatus.RUNNING
    finally:
        ws.close()


def test_a_second_process_cannot_log_to_or_reopen_an_ended_run(store_url: str, tmp_path: Path) -> None:
    """The store itself refuses, whoever writes: here a sink that did not see the run end."""
    from triops.mlops.tracking.active_run import StoreTrackingSink

    ws = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    try:
        with ws.start_run("life") as run:
            pass
        sink = StoreTrackingSink(ws.store, ws.artifacts, ws.clock, None)
        with pytest.raises(ConflictError, match="after the end"):
            sink.log_metrics(run.id, [("late", 1.0, 0, 1)])
        with pytest.raises(ConflictError, match="already ended as FINISHED"):
            sink.finish_run(run.id, RunStatus.KILLED, "late")
        assert ws.runs.get(run.id).status is RunStatus.FINISHED
    finally:
        ws.close()
