"""Search pages ordered by a metric, param or tag (runs missing it, or with NaN, last) are the same slices
of one ordering whatever the limit and offset, with and without a filter, on SQLite and PostgreSQL. The
expected order is computed here in Python from the values logged, not from the store."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from triops import Workspace
from triops.governance import roles
from triops.settings import Settings


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings(home=tmp_path)
    workspace = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=settings)
    # a shared store lists runs to those who may read them, and takes runs from those who may write
    # (the workspace acts as its OS user: the owner of a fresh SQLite store; conftest made it PostgreSQL's admin)
    roles.bootstrap_owner(workspace.store, settings.acting_user)
    workspace.close()  # reopen: the workspace reads its principal's roles once
    workspace = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=settings)
    yield workspace
    workspace.close()


# (auc, model, team): None = not logged; auc NaN sorts with the missing ones
VALUES: list[tuple[float | None, str | None, str]] = [
    (0.5, "rf", "a"),
    (None, "lr", "b"),
    (0.9, None, "a"),
    (math.nan, "gb", "b"),
    (0.5, "rf", "b"),
    (0.1, "lr", "a"),
    (None, None, "a"),
    (0.7, "gb", "b"),
    (0.3, "rf", "a"),
    (math.nan, None, "b"),
    (0.95, "lr", "a"),
]


def _expected(records: list[dict[str, Any]], key: str, descending: bool, team: str | None) -> list[str]:
    rows = [r for r in records if team is None or r["team"] == team]
    newest_first = sorted(rows, key=lambda r: (r["start"], r["id"]), reverse=True)  # the tie-break
    present = [r for r in newest_first if r[key] is not None and not (key == "auc" and math.isnan(r[key]))]
    missing = [r for r in newest_first if r not in present]
    present.sort(key=lambda r: r[key], reverse=descending)  # stable: ties keep newest first
    return [r["id"] for r in present + missing]


def test_pages_ordered_by_an_entity_are_slices_of_one_order(ws: Workspace) -> None:
    records = []
    for auc, model, team in VALUES:
        with ws.start_run("paging", tags={"team": team}) as run:
            if auc is not None:
                run.log_metric("auc", auc)
            if model is not None:
                run.log_param("model", model)
        stored = ws.runs.get(run.id)
        records.append({"id": run.id, "start": stored.start_time, "auc": auc, "model": model, "team": team})
    with ws.start_run("elsewhere") as run:
        run.log_metric("auc", 0.99)
    by_start = sorted(records, key=lambda r: r["id"], reverse=True)  # ties: newest id first
    by_start.sort(key=lambda r: r["start"])
    for limit, offset in ((3, 0), (3, 4), (20, 0)):
        page = ws.runs.search(project="paging", order_by=["start_time"], limit=limit, offset=offset)
        assert [r.id for r in page] == [r["id"] for r in by_start][offset : offset + limit]
    for key, field in (("auc", "metrics.auc"), ("model", "params.model")):
        for descending in (False, True):
            for team in (None, "a"):
                order = [f"{field} {'desc' if descending else 'asc'}"]
                text = "" if team is None else f"tags.team = '{team}'"
                expected = _expected(records, key, descending, team)
                whole = [r.id for r in ws.runs.search(project="paging", filter=text, order_by=order)]
                assert whole == expected, (order, text)
                for limit in (1, 2, 3, 5):
                    for offset in range(len(expected) + 2):
                        page = ws.runs.search(
                            project="paging", filter=text, order_by=order, limit=limit, offset=offset
                        )
                        assert [r.id for r in page] == expected[offset : offset + limit], (
                            order,
                            text,
                            limit,
                            offset,
                        )


def test_the_wire_listing_equals_the_records_in_wire_form(ws: Workspace, tmp_path: Path) -> None:
    from triops.domain.wire import run_to_wire

    for i in range(25):  # more than the ids that travel as plain parameters
        with ws.start_run("wire", name=f"w{i}", tags={"team": "a"}) as run:
            run.log_param("model", "rf")
            run.log_metric("auc", [0.5, math.nan, math.inf, -math.inf][i % 4])
            if i == 3:
                run.log_artifact(b"hello", "notes.txt")
    records = [run_to_wire(r.to_dict()) for r in ws.runs.search(project="wire", limit=30)]
    assert ws.runs.search_wire("wire", "", 30, None) == records
    last = ws.runs.search(project="wire", limit=10)[-1]
    from triops.domain.clock import utc_ms

    after = (utc_ms(last.start_time), last.id)
    expected = [run_to_wire(r.to_dict()) for r in ws.runs.search(project="wire", limit=10, after=after)]
    assert ws.runs.search_wire("wire", "", 10, after) == expected
