"""``ws.serving`` on SQLite and PostgreSQL: predict, the prediction log (masked, sampled, readable),
permissions, alias moves and the cost per 1,000 predictions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.mlops.serving.helpers import register_served, row

from triops import Workspace
from triops.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from triops.governance.rbac import Principal
from triops.settings import Settings


def _open(store_url: str, tmp_path: Path, **settings: object) -> tuple[Workspace, Workspace]:
    """The workspace and a view of it acting as its owner (a PostgreSQL store has no implicit owner)."""
    root = Workspace.open(
        store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path, **settings)
    )
    return root, root.acting_as(Principal.owner("olivia"))


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root, owner = _open(store_url, tmp_path)
    yield owner
    owner.serving.close()
    root.close()


def test_predictions_are_logged_with_restricted_inputs_hashed(ws: Workspace) -> None:
    register_served(ws)
    served = ws.serving.predict("claims@champion", row(0))
    batch = ws.serving.predict("claims@champion", [row(1), row(2)])
    assert (served.version, served.engine, len(served.outputs)) == (1, "onnx", 1)
    assert served.scores is not None and 0 <= served.scores[0] <= 1
    ws.serving.flush()
    records = list(ws.serving.predictions("claims", 1))
    assert [r.id for r in records] == [
        served.request_id,
        f"{batch.request_id}/0",
        f"{batch.request_id}/1",
    ]
    first = records[0]
    assert first.inputs is not None
    assert first.inputs["age"] == row(0)["age"] and first.inputs["tenure"] == row(0)["tenure"]
    assert str(first.inputs["income"]).startswith("[masked:")  # restricted by the training contract
    assert str(row(0)["income"]) not in str(first.to_dict())
    assert first.output == served.outputs[0] and first.score == served.scores[0]
    assert first.latency_ms > 0 and first.alias == "champion" and first.principal == ws.principal.name
    frame = ws.serving.prediction_frame("claims", 1)
    assert frame.height == 3 and {"age", "tenure", "income", "output", "score"} <= set(frame.columns)
    assert ws.serving.counts() == {"claims/1": 3}
    page = list(ws.serving.predictions("claims", after=(first.time_ms, first.id), limit=1))
    assert [r.id for r in page] == [records[1].id]


def test_restricted_columns_can_be_dropped_and_inputs_sampled(store_url: str, tmp_path: Path) -> None:
    root, ws = _open(store_url, tmp_path, serving_restricted="drop", serving_log_sample_rate=0.0)
    try:
        register_served(ws)
        ws.serving.predict("claims@champion", [row(i) for i in range(20)])
        ws.serving.flush()
        records = list(ws.serving.predictions("claims"))
        assert len(records) == 20 and all(r.inputs is None and r.output is not None for r in records)
    finally:
        ws.serving.close()
        root.close()
    root, ws = _open(store_url, tmp_path, serving_restricted="drop")
    try:
        ws.serving.predict("claims@champion", row(3))
        ws.serving.flush()
        last = list(ws.serving.predictions("claims"))[-1]
        assert last.inputs is not None and set(last.inputs) == {"age", "tenure"}
    finally:
        ws.serving.close()
        root.close()


def test_bad_input_names_the_column(ws: Workspace) -> None:
    register_served(ws)
    good = row(0)
    with pytest.raises(InvalidInputError, match="missing: income"):
        ws.serving.predict("claims@champion", {k: v for k, v in good.items() if k != "income"})
    with pytest.raises(InvalidInputError, match="extra: postcode"):
        ws.serving.predict("claims@champion", {**good, "postcode": "AB1"})
    with pytest.raises(InvalidInputError, match=r"mistyped: age \(expected integer, got string\)"):
        ws.serving.predict("claims@champion", {**good, "age": "forty"})
    with pytest.raises(InvalidInputError, match=r"age \(expected integer, got boolean\)"):
        ws.serving.predict("claims@champion", {**good, "age": True})
    with pytest.raises(NotFoundError, match=r"no alias 'challenger'.*aliases: champion"):
        ws.serving.predict("claims@challenger", good)
    with pytest.raises(InvalidInputError, match="MODEL@ALIAS"):
        ws.serving.predict("claims", good)
    ws.serving.flush()
    assert ws.serving.counts() == {}  # refused requests are not logged


def test_predict_needs_the_predict_permission(ws: Workspace) -> None:
    register_served(ws)
    viewer = ws.acting_as(Principal.from_bindings("vera", [(None, "viewer")]))
    contributor = ws.acting_as(Principal.from_bindings("carl", [(None, "contributor")]))
    outsider = ws.acting_as(Principal("olga", {}))
    try:
        with pytest.raises(PermissionDeniedError, match=r"model\.predict"):
            viewer.serving.predict("claims@champion", row(0))
        assert contributor.serving.predict("claims@champion", row(0)).version == 1
        with pytest.raises(NotFoundError):
            list(outsider.serving.predictions("claims"))
        with pytest.raises(NotFoundError, match="does not exist"):  # 404, not 403, outside your projects
            outsider.serving.predict("claims@champion", row(0))
    finally:
        for view in (viewer, contributor, outsider):
            view.serving.close()


def test_alias_move_switches_the_served_version(ws: Workspace) -> None:
    register_served(ws)
    assert ws.serving.predict("claims@champion", row(0)).version == 1
    register_served(ws, c=0.01)
    endpoint = ws.serving.session().endpoint("claims", "champion")
    assert endpoint.refresh() is True
    assert ws.serving.predict("claims@champion", row(0)).version == 2
    assert endpoint.swaps == 1


def test_skops_serves_when_there_is_no_onnx_file(ws: Workspace) -> None:
    register_served(ws, onnx=False)
    served = ws.serving.predict("claims@champion", [row(0), row(1)])
    assert served.engine == "skops" and len(served.outputs) == 2 and served.scores is not None


def test_serving_is_priced_per_1000_predictions(ws: Workspace) -> None:
    register_served(ws)
    for i in range(50):
        ws.serving.predict("claims@champion", row(i))
    ws.serving.flush()
    costs = ws.serving.costs("claims")
    assert [(c["model_version"], c["predictions"]) for c in costs] == [("claims/1", 50)]
    assert costs[0]["cost_micros"] >= 0 and costs[0]["cost_per_1000_micros"] is not None
    report = ws.finops.report("model")
    assert "claims/1" in report.to_dicts().__repr__()


SDK_SCRIPT = """
import sys, time
from triops import Workspace
from triops.settings import Settings
ws = Workspace.open(sys.argv[1], settings=Settings(home=sys.argv[2], flush_interval_s=60))
for i in range(20):
    ws.serving.predict("claims@champion", {"age": 30 + i, "tenure": 1.5, "income": 20000.0})
print("ready", flush=True)
time.sleep(120)
"""


def test_sdk_predictions_are_durable_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'triops.db'}"
    root, owner = _open(url, tmp_path)
    register_served(owner)
    root.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", SDK_SCRIPT, url, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRIOPS_ARTIFACT_ROOT": str(tmp_path / "a")},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    root, owner = _open(url, tmp_path)
    try:  # a 60 s flush interval: only the SIGTERM handler can have written them
        assert len(list(owner.serving.predictions("claims"))) == 20
        assert owner.serving.costs("claims")[0]["predictions"] == 20  # and priced at exit
    finally:
        root.close()


def test_batch_records_read_back_row_by_row_and_page_with_single_rows(ws: Workspace) -> None:
    import time

    from tests.mlops.serving.helpers import claimants

    register_served(ws)
    first = ws.serving.predict("claims@champion", row(0))
    time.sleep(0.005)
    batch = ws.serving.predict("claims@champion", claimants(40, seed=4)[["age", "tenure", "income"]])
    time.sleep(0.005)
    last = ws.serving.predict("claims@champion", row(1))
    ws.serving.flush()
    every = list(ws.serving.predictions("claims", 1))
    expected = [first.request_id, *sorted(f"{batch.request_id}/{i}" for i in range(40)), last.request_id]
    assert [r.id for r in every] == expected  # (time, id) order, a batch's ids sorted as text
    middle = next(r for r in every if r.id == f"{batch.request_id}/7")
    assert middle.output == batch.outputs[7] and middle.score == batch.scores[7]  # type: ignore[index]
    assert str(middle.inputs["income"]).startswith("[masked:")  # type: ignore[index]
    paged: list[str] = []
    after = None
    while True:  # pages of 7 cross the batch and the single rows around it
        page = list(ws.serving.predictions("claims", 1, after=after, limit=7))
        paged += [r.id for r in page]
        if len(page) < 7:
            break
        after = (page[-1].time_ms, page[-1].id)
    assert paged == expected and ws.serving.counts("claims") == {"claims/1": 42}
    assert [
        r.id for r in ws.serving.predictions("claims", ids=[f"{batch.request_id}/3", last.request_id])
    ] == [
        f"{batch.request_id}/3",
        last.request_id,
    ]
    known = ws.monitoring.log_labels([f"{batch.request_id}/39", f"{batch.request_id}/40"], [1, 0])
    assert known["stored"] == 1 and known["unknown"] == [f"{batch.request_id}/40"]
