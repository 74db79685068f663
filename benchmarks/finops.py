"""Benchmark: pricing 1,000,000 usage records (<= 1 s) and a FOCUS 1.2 export of 1,000,000 rows (<= 5 s).

Ours is ``triops.finops.costs.price_usage`` (numpy + polars over a columnar usage frame) and
``triops.finops.focus.to_focus`` + ``write_focus`` (Parquet). No published tool prices metered ML usage
against a price book or writes FOCUS, so each baseline is the obvious plain-Python implementation (a loop
with ``Decimal`` per record; ``csv.writer`` per FOCUS row), timed in the same process on a sample and
extrapolated linearly to the full size.

    .venv-bench/bin/python benchmarks/finops.py [--quick]

Targets scale with the size in ``--quick`` (100k rows: a tenth of the time).
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from _report import Report, parse_args

from triops.finops.costs import price_usage
from triops.finops.focus import export_focus, to_focus
from triops.finops.prices import PriceBook, load_price_book

PRICING_TARGET_S = 1.0
EXPORT_TARGET_S = 5.0
START_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)


def usage(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    gpu = rng.random(n) < 0.05
    return pl.DataFrame(
        {
            "id": pl.int_range(n, eager=True).cast(pl.String),
            "run_id": (pl.int_range(n, eager=True) // 8).cast(pl.String),
            "step_run_id": pl.int_range(n, eager=True).cast(pl.String),
            "project": rng.choice(["churn", "fraud", "vision", "search"], n),
            "pipeline": rng.choice(["train", "score"], n),
            "step": rng.choice(["load", "prep", "fit", "eval"], n),
            "started_ms": START_MS + rng.integers(0, 29 * 86_400_000, n),
            "ended_ms": START_MS + 29 * 86_400_000 + rng.integers(0, 3_600_000, n),
            "wall_s": rng.uniform(1, 600, n),
            "cpu_s": rng.uniform(0, 1200, n),
            "peak_rss_bytes": rng.integers(1 << 20, 8 << 30, n),
            "bytes_read": rng.integers(0, 1 << 30, n),
            "bytes_written": rng.integers(0, 1 << 28, n),
            "gpu_s": np.where(gpu, rng.uniform(1, 600, n), 0.0),
            "gpu_model": pl.Series(np.where(gpu, "A100", "")).replace("", None),
            "requested_cpu": rng.choice([1.0, 2.0, 4.0], n),
            "requested_memory_gb": rng.choice([2.0, 8.0, 16.0], n),
            "environment": rng.choice(["gcp-us-central1", "aws-us-east-1"], n),
            "tags": "{}",
            "team": rng.choice(["ml", "risk"], n),
            "cost_centre": "cc-1",
            "model_version": None,
            "dataset": None,
        },
        schema_overrides={"model_version": pl.String, "dataset": pl.String, "gpu_model": pl.String},
    )


def python_pricing(frame: pl.DataFrame, book: PriceBook) -> int:
    """The obvious loop: one Decimal price lookup and multiplication per record and resource."""
    total = 0
    day = datetime(2026, 11, 15, tzinfo=UTC).date()
    gib = Decimal(1 << 30)
    for row in frame.iter_rows(named=True):
        env = row["environment"]
        wall = Decimal(str(row["wall_s"]))
        cpu_h = max(Decimal(str(row["requested_cpu"])) * wall, Decimal(str(row["cpu_s"]))) / 3600
        mem_h = (
            max(Decimal(str(row["requested_memory_gb"])), Decimal(row["peak_rss_bytes"]) / gib) * wall / 3600
        )
        net = Decimal(row["bytes_read"] + row["bytes_written"]) / gib
        cost = cpu_h * book.lookup(env, "cpu_core_hour", day).unit_price
        cost += mem_h * book.lookup(env, "memory_gib_hour", day).unit_price
        cost += net * book.lookup(env, "network_gib", day).unit_price
        if row["gpu_s"]:
            cost += Decimal(str(row["gpu_s"])) / 3600 * book.lookup(env, "gpu_hour:A100", day).unit_price
        total += int((cost * 1_000_000).to_integral_value())
    return total


def python_export(focus: pl.DataFrame) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(focus.columns)
    for row in focus.iter_rows():
        writer.writerow(row)


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/finops.py", args)
    n = 100_000 if args.quick else 1_000_000
    sample = 5_000 if args.quick else 20_000
    book = load_price_book()

    frame = usage(n)
    price_usage(frame.head(1000), book)  # warm-up
    ours_price = best(lambda: price_usage(frame, book), 3)
    costs = price_usage(frame, book)
    peer_price = best(lambda: python_pricing(frame.head(sample), book), 1) * n / sample

    # the export target is per FOCUS row; take enough records to produce n rows
    focus_all = to_focus(costs, book)
    per_record = focus_all.height / costs.height
    records = min(costs.height, int(n / per_record) + 1)
    export_costs = costs.head(records)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "costs.parquet"
        rows = to_focus(export_costs, book).height

        def export() -> None:
            export_focus(export_costs, book, out)

        ours_export = best(export, 2)
    peer_export = best(lambda: python_export(focus_all.head(sample)), 1) * rows / sample

    scale = 1_000_000 / n
    report.row(
        f"price {n:,} usage records",
        ours_price,
        "s",
        peer=peer_price,
        peer_name=f"Python Decimal loop ({sample:,}, extrapolated)",
        limit=PRICING_TARGET_S / scale,
    )
    report.row(
        f"FOCUS 1.2 export, {rows:,} rows (Parquet)",
        ours_export,
        "s",
        peer=peer_export,
        peer_name=f"csv.writer loop ({sample:,}, extrapolated)",
        limit=EXPORT_TARGET_S / scale,
    )
    report.finish()


if __name__ == "__main__":
    main()
