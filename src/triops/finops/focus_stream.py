"""The FOCUS CSV export read and formatted at once: cost records come from SQLite in batches on a reading
thread while the previous batch is formatted (``sqlite3`` releases the GIL inside its steps, polars inside
its kernels), so on two cores the export takes about the longer of the two, not their sum.

The order is the one ``FinOpsService.costs`` gives (by ``started_ms``, ties in table order): a table in
that order already (records metered as runs happen), or in strictly the reverse order, is streamed in it
with no sort; any other is read whole and sorted (``cost_scan`` tells which, in the same read transaction
as the read, so the row count sent first and the rows sent after agree). Errors on the reading thread are
raised in the consumer; closing the stream early (a client leaving) stops the thread and ends the read
transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from triops.errors import StoreError
from triops.store.engine import Store
from triops.store.repositories import finops as repo

if TYPE_CHECKING:
    import polars as pl

BATCH_RECORDS = 32768
T = TypeVar("T")
_DONE = object()


def read_batches(fetch: Callable[[], T | None], depth: int = 2) -> Generator[T, None, None]:
    """``fetch()`` called on a reading thread until it returns None, its batches handed over through a
    queue of ``depth``; an error there is raised here; closing this iterator stops the thread (and waits
    for it, so the caller may close what ``fetch`` reads from)."""
    handover: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handover.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            while not stop.is_set():
                item = fetch()
                if item is None:
                    break
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(_DONE)

    reader = threading.Thread(target=produce, name="triops-focus-read", daemon=True)
    reader.start()
    try:
        while True:
            item = handover.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def cost_frames(
    store: Store, *, start_ms: int | None, end_ms: int | None, batch: int = BATCH_RECORDS
) -> tuple[int, Generator[pl.DataFrame, None, None]]:
    """The number of FOCUS rows the window's cost records make, and those records as frames in the
    order ``FinOpsService.costs`` gives, read while they are used. One read transaction covers both; it
    ends when the frames are exhausted or closed."""
    frames = _cost_frames(store, start_ms=start_ms, end_ms=end_ms, batch=batch)
    rows: int = next(frames)
    return rows, frames


def _cost_frames(
    store: Store, *, start_ms: int | None, end_ms: int | None, batch: int
) -> Generator[Any, None, None]:
    import polars as pl

    from triops.finops.costs import empty_costs
    from triops.finops.rollups import attribute_lineage
    from triops.store.repositories.finops_attribution import run_lineage

    schema = empty_costs().schema

    with store.snapshot() as conn:
        rows, order = repo.cost_scan(conn, start_ms=start_ms, end_ms=end_ms)
        model_of, dataset_of = run_lineage(conn) if rows else ({}, {})
        yield rows
        if order == "unordered":
            tuples = repo.cost_tuples(conn, schema.names(), start_ms=start_ms, end_ms=end_ms)
            frame = pl.DataFrame(tuples, schema=schema, orient="row").sort("started_ms", maintain_order=True)
            yield attribute_lineage(frame, model_of, dataset_of)
            return
        descending = order == "descending"
        cursor = repo.cost_cursor(
            conn, schema.names(), descending=descending, start_ms=start_ms, end_ms=end_ms
        )

        def fetch() -> pl.DataFrame | None:
            # the frame is made on the reading thread too: making it holds the GIL, as reading does, while
            # formatting (polars kernels on every core) mostly does not
            records = cursor.fetchmany(batch)
            return pl.DataFrame(records, schema=schema, orient="row") if records else None

        frames = read_batches(fetch)
        try:
            for frame in in_order(frames, strict=descending):
                yield attribute_lineage(frame, model_of, dataset_of)
        finally:
            frames.close()  # the reading thread stops before its cursor is closed
            cursor.close()


def in_order(frames: Iterator[pl.DataFrame], strict: bool) -> Iterator[pl.DataFrame]:
    """The frames, checked to continue each other's ``started_ms`` order (they must in one snapshot)."""
    last: int | None = None
    for frame in frames:
        starts = frame["started_ms"]
        ordered = starts.is_sorted() and (strict is False or starts.n_unique() == starts.len())
        first = starts[0] if starts.len() else None
        if not ordered or (
            last is not None and first is not None and (first < last or (strict and first == last))
        ):
            raise StoreError("cost records changed order during the FOCUS export")
        if starts.len():
            last = starts[-1]
        yield frame
