"""The fast FOCUS CSV (cells made as text) against polars' CSV writer on the FOCUS frame: equal bytes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from triops.domain.usage import UsageRecord
from triops.finops.costs import price_usage
from triops.finops.focus import export_focus, focus_plan, focus_rows, stream_focus_csv, write_focus
from triops.finops.focus_csv import focus_csv_from_frames, quote
from triops.finops.prices import PriceBook

Make = Callable[..., UsageRecord]
AWKWARD = ["", " ", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "tab\tok", "é ü", '",', "plain"]


def test_quote_is_the_csv_writers_rule() -> None:
    cells = [*AWKWARD, None]
    written = pl.DataFrame({"c": cells}, schema={"c": pl.String}).write_csv(include_header=False)
    assert "".join(quote(c) + "\n" for c in cells) == written


def test_csv_is_byte_for_byte_polars_writing_the_focus_frame(
    book: PriceBook, make_usage: Make, tmp_path: Path
) -> None:
    """Awkward text in every record column (quotes, commas, line breaks, empty strings, nulls), GPU and
    serving rows, unaligned times, a region-less environment; small batches and chunks, so rows of one
    resource kind span several of each."""
    records = []
    for i, text in enumerate(AWKWARD * 3):
        records.append(
            make_usage(
                run_id=f"run,{i}",
                step_run_id=text if i % 2 else None,
                project=f"p{text}",
                pipeline=None if i % 5 == 0 else ("serving" if i % 5 == 1 else text),
                step=None if i % 4 == 0 else text,
                started_ms=1_793_000_000_123 + i * 86_400_017,
                wall_s=0.25 + i * 37.3,
                cpu_s=i * 11.1,
                bytes_read=i * 1_234_567,
                gpu_s=0.0 if i % 3 else 600.0 + i,
                gpu_model=None if i % 3 else "T4",
                environment="eu" if i % 3 == 1 else "lab",
                tags={"team": text, "cost_centre": f'c"{i}', "model_version": text, "dataset": "d,1"},
            )
        )
    costs = price_usage(records, book)
    expected = write_focus(focus_plan(costs, book), tmp_path / "polars.csv").read_bytes()
    assert b"".join(stream_focus_csv(costs, book)) == expected
    batched = list(focus_csv_from_frames([costs], book, schema=costs, chunk_bytes=1 << 10, batch_rows=7))
    assert len(batched) > 8
    assert b"".join(batched) == expected
    assert pl.read_csv(expected, infer_schema=False).height == focus_rows(costs)
    out = tmp_path / "cli.csv"
    assert export_focus(costs, book, out) == focus_rows(costs)
    assert out.read_bytes() == expected


def test_no_costs_is_the_header_alone(book: PriceBook, make_usage: Make, tmp_path: Path) -> None:
    empty = price_usage([make_usage()], book).clear()
    expected = write_focus(focus_plan(empty, book), tmp_path / "empty.csv").read_bytes()
    assert b"".join(stream_focus_csv(empty, book)) == expected
    assert expected.startswith(b"BilledCost,") and expected.count(b"\n") == 1
