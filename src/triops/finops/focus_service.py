"""FOCUS files for ``FinOpsService``: export metered costs as FOCUS 1.2, import a provider's bill once
(a file or billing period imported before is refused or, by choice, replaced, never doubled)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms
from triops.domain.ids import new_id
from triops.errors import InvalidInputError
from triops.finops.rollups import period_bounds_ms
from triops.store.engine import Store
from triops.store.repositories import finops as repo

if TYPE_CHECKING:
    import polars as pl

    from triops.finops.prices import PriceBook


class FocusFiles:
    """The FOCUS half of ``FinOpsService`` (it provides the attributes below)."""

    store: Store
    book: PriceBook
    clock: Clock

    def costs(
        self, *, period: str | None = None, project: str | None = None, run_id: str | None = None
    ) -> pl.DataFrame:  # provided by FinOpsService
        raise NotImplementedError

    def allow(self, permission: str, project: str | None) -> None:  # provided by Attribution
        raise NotImplementedError

    def export_focus(self, out: Path, *, period: str | None = None) -> int:
        if out.suffix.lower() != ".csv":
            from triops.finops.focus import export_focus

            return export_focus(self.costs(period=period), self.book, out)
        rows, chunks = self.stream_focus_csv(period=period)
        with out.open("wb") as file:
            for chunk in chunks:
                file.write(chunk)
        return rows

    def stream_focus_csv(self, *, period: str | None = None) -> tuple[int, Iterator[bytes]]:
        """The number of FOCUS rows, and the CSV export itself as chunks produced while they are sent. On
        SQLite the records are read in batches while the previous batch is formatted (``focus_stream``)."""
        from triops.finops.focus import focus_rows, stream_focus_csv

        if self.store.dialect != "sqlite":
            costs = self.costs(period=period)
            return focus_rows(costs), stream_focus_csv(costs, self.book)
        from triops.finops.focus_csv import focus_csv_from_frames
        from triops.finops.focus_stream import cost_frames

        start, end = period_bounds_ms(period) if period else (None, None)
        rows, frames = cost_frames(self.store, start_ms=start, end_ms=end)

        def chunks() -> Iterator[bytes]:
            try:
                yield from focus_csv_from_frames(frames, self.book)
            finally:
                frames.close()  # a client that leaves early: the reading thread and transaction end

        return rows, chunks()

    def import_focus(
        self, path: Path, *, default_project: str | None = None, replace: bool = False
    ) -> tuple[str, int]:
        """Validate, allocate and store a provider's FOCUS file in one transaction (all or nothing).

        Never doubled: a file imported before, or one holding a billing period (provider, billing account,
        BillingPeriodStart) imported before, is refused, unless ``replace`` is set, which replaces
        those periods' earlier rows."""
        from triops.finops.focus import allocate_focus_rows, read_focus
        from triops.store.repositories import finops_attribution as arepo

        self.allow("budget.write", None)
        rows = allocate_focus_rows(read_focus(path), default_project=default_project)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        keys = sorted(
            {
                (str(p), str(a), int(s))
                for p, a, s in rows.select("provider", "billing_account_id", "billing_period_start_ms")
                .unique()
                .iter_rows()
            }
        )
        import_id = new_id()
        now_ms = utc_ms(self.clock.now())

        def write(conn: Any) -> int:
            if not replace:
                earlier = arepo.focus_import_by_sha(conn, digest)
                if earlier is not None:
                    raise InvalidInputError(
                        f"{path.name} was imported before (import {earlier['id']}, {earlier['rows']} rows); "
                        "nothing was imported",
                        hint="pass --replace (replace=True) to replace its billing periods",
                        detail={"field": "file"},
                    )
                overlap = arepo.imported_periods(conn, keys)
                if overlap:
                    provider, account, start = overlap[0]
                    month = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m")
                    raise InvalidInputError(
                        f"{path.name}: billing period {month} of {provider} account {account} is already "
                        f"imported ({len(overlap)} period(s) in all); nothing was imported",
                        hint="pass --replace (replace=True) to replace those periods' rows",
                        detail={"field": "file"},
                    )
            else:
                arepo.delete_periods(conn, keys)
            return repo.insert_focus_import(
                conn, import_id=import_id, source=path.name, sha256=digest, imported_ms=now_ms, rows=rows
            )

        count = self.store.write(write)
        return import_id, count

    def imported_totals(self, *, period: str | None = None) -> list[dict[str, Any]]:
        start, end = period_bounds_ms(period) if period else (None, None)
        with self.store.connect() as conn:
            return repo.focus_totals(conn, start_ms=start, end_ms=end)
