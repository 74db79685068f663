"""OpenLineage to an HTTP endpoint: events are posted by a background thread, one per request (the spec has
no batch format), in order, flushed at the end of the run, and a slow or stuck endpoint never holds up a
step. Checked against a real HTTP server on 127.0.0.1 that can be made to hang."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from triops.dataops.hooks import OpenLineageHook
from triops.dataops.openlineage_http import HttpLineageSender, endpoint_url
from triops.dataops.openlineage_spec import validate_lines
from triops.mlops.pipelines.hooks import ArtifactLink, RunContext, RunOutcome, StepContext, StepResult

RUN = str(uuid.uuid4())
SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "openlineage-2-0-2"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []
    gate = threading.Event()  # cleared: every request waits, as a stuck endpoint does

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.gate.wait(30)
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    _Receiver.gate.set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Receiver.gate.set()
    server.shutdown()
    server.server_close()


def _ctx(step: str) -> StepContext:
    step_run = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{RUN}/{step}"))
    return StepContext(RUN, "p", "train", step, step_run, (), {}, {}, {}, "inline", None)


def _out(step: str) -> tuple[ArtifactLink, ...]:
    return (ArtifactLink("output", uuid.uuid5(uuid.NAMESPACE_URL, step).hex * 2, 3, "application/json"),)


def test_a_stuck_endpoint_never_holds_up_a_step_and_gets_every_event_in_order(receiver: str) -> None:
    _Receiver.gate.clear()  # the endpoint accepts connections but answers nothing
    hook = OpenLineageHook(receiver)
    run = RunContext(RUN, "p", "train", {}, "inline", tuple(f"s{i}" for i in range(20)))
    started = time.monotonic()
    hook.before_run(run)
    for i in range(20):
        ctx = _ctx(f"s{i}")
        hook.before_step(ctx)
        hook.after_step(ctx, StepResult(ctx.step, ctx.step_run_id, "DONE", 1, 0, 1, outputs=_out(ctx.step)))
    on_the_step_path = time.monotonic() - started
    assert len(_Receiver.received) == 0, "nothing was answered yet"
    assert on_the_step_path < 5, "the steps did not wait for the endpoint (its requests hang up to 30 s)"
    _Receiver.gate.set()
    hook.after_run(run, RunOutcome(RUN, "FINISHED", None, {f"s{i}": "DONE" for i in range(20)}))
    # flushed before after_run returned: one POST per event, in the order the run emitted them
    events = [body for _, body in _Receiver.received]
    assert {path for path, _ in _Receiver.received} == {"/api/v1/lineage"}
    kinds = [(e["job"]["name"], e["eventType"]) for e in events]
    expected = [("train", "START")]
    expected += [(f"train.s{i}", kind) for i in range(20) for kind in ("START", "COMPLETE")]
    assert kinds == [*expected, ("train", "COMPLETE")]
    assert hook.emitted == 42 and hook.undelivered == []


@pytest.mark.skipif(not SPEC.is_dir(), reason=f"the OpenLineage spec is not at {SPEC} (../shared/specs)")
def test_what_the_endpoint_receives_is_valid_under_the_official_schema(receiver: str, tmp_path: Path) -> None:
    hook = OpenLineageHook(receiver)
    run = RunContext(RUN, "p", "train", {}, "inline", ("s0",))
    hook.before_run(run)
    ctx = _ctx("s0")
    hook.before_step(ctx)
    hook.after_step(ctx, StepResult("s0", ctx.step_run_id, "DONE", 1, 0, 1, outputs=_out("s0")))
    hook.after_run(run, RunOutcome(RUN, "FINISHED", None, {"s0": "DONE"}))
    lines = tmp_path / "received.jsonl"
    lines.write_text("".join(json.dumps(body) + "\n" for _, body in _Receiver.received))
    assert len(_Receiver.received) == 4 and validate_lines(lines, spec_directory=SPEC) == []


def test_a_full_queue_keeps_the_event_instead_of_waiting(receiver: str) -> None:
    _Receiver.gate.clear()
    sender = HttpLineageSender(receiver, max_queue=2, flush_timeout_s=10)
    started = time.monotonic()
    for i in range(10):
        sender.send({"n": i})
    assert time.monotonic() - started < 2, "send never waits"
    assert len(sender.undelivered) >= 7  # one being posted, two queued, the rest refused at once
    _Receiver.gate.set()
    assert sender.flush()
    assert sender.delivered + len(sender.undelivered) == 10
    assert [b["n"] for _, b in _Receiver.received] == sorted(b["n"] for _, b in _Receiver.received)
    sender.close()


def test_the_default_path_is_the_marquez_one() -> None:
    assert endpoint_url("http://h:5000") == "http://h:5000/api/v1/lineage"
    assert endpoint_url("http://h:5000/") == "http://h:5000/api/v1/lineage"
    assert endpoint_url("https://h/custom/path") == "https://h/custom/path"
