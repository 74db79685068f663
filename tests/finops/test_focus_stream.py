"""The FOCUS CSV read in batches on a reading thread while formatted (``focus_stream``): the same bytes as
the whole-frame export in every table order, one snapshot, errors raised, nothing left open when closed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.finops.conftest import NOV_2

from triops.domain.clock import FixedClock
from triops.domain.usage import UsageRecord
from triops.finops.focus import focus_plan, focus_rows, write_focus
from triops.finops.focus_csv import focus_csv_from_frames
from triops.finops.focus_stream import cost_frames, read_batches
from triops.finops.prices import PriceBook
from triops.finops.service import FinOpsService
from triops.store.engine import Store

Make = Callable[..., UsageRecord]
CLOCK = FixedClock(datetime(2026, 11, 2, 18, tzinfo=UTC))
# table order of started_ms (minutes after NOV_2): ascending with ties, strictly descending, and in order
# but for records that cross several batch boundaries (the whole-read-and-sort path)
ORDERS = {
    "ascending": [i // 3 for i in range(40)],
    "descending": list(range(40, 0, -1)),
    "unordered": [i for i in range(40) if i % 13] + [5, 5, 1, 30],
}


def readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "triops-focus-read"]


def fill(store: Store, book: PriceBook, make_usage: Make, minutes: Sequence[int]) -> FinOpsService:
    finops = FinOpsService(store, book, CLOCK)
    records = [
        make_usage(
            step=f"s{i}",
            started_ms=NOV_2 + m * 60_000,
            gpu_s=0.0 if i % 4 else 60.0,
            gpu_model=None if i % 4 else "T4",
            bytes_read=i * 1000,
            tags={"team": "a,b" if i % 2 else "ml"},
        )
        for i, m in enumerate(minutes)
    ]
    for start in range(0, len(records), 7):  # several writes: rowid order is the list's
        finops.record_usage(records[start : start + 7])
    return finops


@pytest.mark.parametrize("order", ORDERS)
def test_batched_export_is_the_whole_frame_export(
    sqlite_store: Store, book: PriceBook, make_usage: Make, tmp_path: Path, order: str
) -> None:
    finops = fill(sqlite_store, book, make_usage, ORDERS[order])
    costs = finops.costs()
    expected = write_focus(focus_plan(costs, book), tmp_path / "polars.csv").read_bytes()
    rows, frames = cost_frames(sqlite_store, start_ms=None, end_ms=None, batch=3)
    assert rows == focus_rows(costs)
    parts = list(frames)
    assert len(parts) == (1 if order == "unordered" else 14)  # unordered: one frame, read whole and sorted
    assert b"".join(focus_csv_from_frames(parts, book, chunk_bytes=512, batch_rows=5)) == expected
    rows, chunks = finops.stream_focus_csv()
    assert rows == focus_rows(costs)
    assert b"".join(chunks) == expected
    assert finops.export_focus(tmp_path / "file.csv") == rows
    assert (tmp_path / "file.csv").read_bytes() == expected
    assert not readers()


def test_rows_and_records_come_from_one_snapshot(
    sqlite_store: Store, book: PriceBook, make_usage: Make
) -> None:
    finops = fill(sqlite_store, book, make_usage, ORDERS["ascending"])
    before = b"".join(finops.stream_focus_csv()[1])
    rows, chunks = finops.stream_focus_csv()
    fill(sqlite_store, book, make_usage, [50, 51])  # committed after the count, before the rows
    assert b"".join(chunks) == before
    assert before.count(b"\n") - 1 == rows
    assert finops.stream_focus_csv()[0] == rows + 6


def test_closing_early_stops_the_reader_and_ends_the_read(
    sqlite_store: Store, book: PriceBook, make_usage: Make
) -> None:
    fill(sqlite_store, book, make_usage, ORDERS["ascending"])
    _rows, frames = cost_frames(sqlite_store, start_ms=None, end_ms=None, batch=2)
    assert next(frames).height == 2
    assert readers()
    frames.close()
    assert not readers()
    assert sqlite_store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_an_error_on_the_reading_thread_is_raised_to_the_reader() -> None:
    calls: list[int] = []

    def fetch() -> list[int]:
        calls.append(len(calls))
        if len(calls) == 3:
            raise OSError("disk gone")
        return calls[:]

    batches = read_batches(fetch, depth=1)
    assert next(batches) == [0]
    with pytest.raises(OSError, match="disk gone"):
        list(batches)
    assert not readers()
