"""Inputs that used to end in a plain-text 500 are a 422 naming the field or the limit, over HTTP and in the
SDK; nothing bad is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.conftest import LiveServer

from triops import Workspace
from triops.domain.filters import MAX_FILTER_DEPTH, MAX_ORDER_KEYS
from triops.domain.validation import MAX_VALUES_BATCH
from triops.errors import FilterSyntaxError, InvalidInputError
from triops.settings import Settings

BIG = 2**63


def _api(server: LiveServer, method: str, path: str, body: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )


def _run(server: LiveServer) -> str:
    answer = _api(server, "POST", "/runs", {"project": "bounds", "name": "r"})
    assert answer.status_code == 201
    return str(answer.json()["id"])


def _problem(answer: httpx.Response, status: int = 422) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return str(answer.json()["detail"])


@pytest.mark.parametrize(
    ("field", "batch"),
    [
        ("steps", {"keys": ["x"], "values": [1.0], "steps": [BIG], "timestamps": [1]}),
        ("timestamps", {"keys": ["x"], "values": [1.0], "steps": [0], "timestamps": [BIG]}),
        ("steps", {"keys": ["x"], "values": [1.0], "steps": [-BIG - 1], "timestamps": [1]}),
        ("values", {"keys": ["x"], "values": [True], "steps": [0], "timestamps": [1]}),
    ],
    ids=["step-2^63", "timestamp-2^63", "step-below-int64", "json-true"],
)
def test_metric_batches_out_of_range_are_422_naming_the_field(
    live_server: LiveServer, field: str, batch: dict[str, Any]
) -> None:
    run_id = _run(live_server)
    detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/metrics", batch))
    assert f"body.{field}.0" in detail
    assert live_server.workspace.runs.get(run_id).metrics == {}


def test_the_largest_int64_step_is_stored(live_server: LiveServer) -> None:
    run_id = _run(live_server)
    batch = {"keys": ["x"], "values": [2], "steps": [BIG - 1], "timestamps": [BIG - 1]}
    assert _api(live_server, "POST", f"/runs/{run_id}/metrics", batch).status_code == 204
    history = live_server.workspace.runs.metric_history(run_id, "x")
    assert [(m.value, m.step, m.timestamp_ms) for m in history] == [(2.0, BIG - 1, BIG - 1)]


def test_search_offset_2_63_is_422_and_2_63_minus_1_is_empty(live_server: LiveServer) -> None:
    assert "body.offset" in _problem(_api(live_server, "POST", "/runs/search", {"offset": BIG}))
    answer = _api(live_server, "POST", "/runs/search", {"offset": BIG - 1})
    assert answer.status_code == 200 and answer.json()["runs"] == []


@pytest.mark.parametrize(
    "text", ["(" * 5000 + "metrics.a > 1" + ")" * 5000, "not " * 5000 + "metrics.a > 1", "(" * 3000 + "x"]
)
def test_deep_filters_are_422_naming_the_limit(live_server: LiveServer, text: str) -> None:
    detail = _problem(_api(live_server, "POST", "/runs/search", {"filter": text}))
    assert f"deeper than {MAX_FILTER_DEPTH}" in detail or "10000" in detail or "10,000" in detail


def test_two_thousand_order_keys_are_422_naming_the_limit(live_server: LiveServer) -> None:
    detail = _problem(_api(live_server, "POST", "/runs/search", {"order_by": ["metrics.a"] * 2000}))
    assert "body.order_by" in detail and str(MAX_ORDER_KEYS) in detail


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a\x00b", "control character"), ("\x1b]0;pwned\x07", "control character"), ("x" * 1_000_000, "250")],
    ids=["nul", "esc", "1MB"],
)
def test_bad_run_names_are_422(live_server: LiveServer, name: str, expected: str) -> None:
    detail = _problem(_api(live_server, "POST", "/runs", {"project": "bounds", "name": name}))
    assert expected in detail and "name" in detail
    assert live_server.workspace.runs.search(project="bounds") == []


def test_param_batches_have_a_limit_and_the_sdk_splits_them(live_server: LiveServer, tmp_path: Path) -> None:
    run_id = _run(live_server)
    many = {f"p{i}": "v" for i in range(MAX_VALUES_BATCH + 1)}
    detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/params", {"values": many}))
    assert "body.values" in detail
    ws = Workspace.open(live_server.url, token=live_server.token, settings=Settings(home=tmp_path))
    with ws.start_run("bounds") as run:
        run.log_params(many)
    assert len(ws.runs.get(run.id).params) == MAX_VALUES_BATCH + 1
    ws.close()


def test_control_characters_in_values_are_refused(live_server: LiveServer) -> None:
    run_id = _run(live_server)
    detail = _problem(_api(live_server, "POST", f"/runs/{run_id}/params", {"values": {"p": "a\x1b[2Jb"}}))
    assert "param 'p' value contains the control character" in detail


def test_a_finish_error_keeps_its_text_with_control_characters_escaped(live_server: LiveServer) -> None:
    run_id = _run(live_server)
    answer = _api(
        live_server, "POST", f"/runs/{run_id}/finish", {"status": "FAILED", "error": "boom\x1b[31m\n"}
    )
    assert answer.status_code == 200
    assert live_server.workspace.runs.get(run_id).error == "boom\\x1b[31m\n"


def test_the_sdk_refuses_the_same_inputs_before_sending(tmp_path: Path, store_url: str) -> None:
    with Workspace.open(store_url, settings=Settings(home=tmp_path)) as ws:
        with pytest.raises(InvalidInputError, match="run name contains the control character"):
            ws.start_run("bounds", name="a\x1bb")
        with pytest.raises(InvalidInputError, match="run name is 1,000,000 characters"):
            ws.start_run("bounds", name="x" * 1_000_000)
        with ws.start_run("bounds") as run:
            with pytest.raises(InvalidInputError, match="step is 9223372036854775808"):
                run.log_metric("x", 1.0, step=BIG)
            with pytest.raises(InvalidInputError, match="type bool"):
                run.log_metric("x", True)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="offset is 9223372036854775808"):
            ws.runs.search(offset=BIG)
        with pytest.raises(InvalidInputError, match="order_by has 2,000 keys"):
            ws.runs.search(order_by=["metrics.x"] * 2000)
        with pytest.raises(FilterSyntaxError, match="deeper than"):
            ws.runs.search(filter="not " * 2000 + "metrics.x > 1")
        assert ws.runs.search(offset=BIG - 1) == []
        assert ws.runs.get(run.id).metrics == {}
