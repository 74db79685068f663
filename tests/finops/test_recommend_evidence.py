"""Recommendations you can defend: each states its evidence and the basis of its saving; less than a week
of activity is never extrapolated; "turn the cache on" only when it was off; memory in MiB/GiB."""

from __future__ import annotations

from collections.abc import Callable

from tests.finops.conftest import NOV_2

from triops.domain.usage import UsageRecord
from triops.finops.costs import price_usage, usage_frame
from triops.finops.prices import PriceBook
from triops.finops.recommend import over_requested, repeated_work

Make = Callable[..., UsageRecord]
MINUTE = 60_000


def test_fifteen_minutes_of_activity_is_not_extrapolated(book: PriceBook, make_usage: Make) -> None:
    records = [
        make_usage(requested_cpu=8.0, cpu_s=360.0, wall_s=360.0, started_ms=NOV_2 + i * MINUTE,
                   ended_ms=NOV_2 + i * MINUTE + 360_000, run_id=f"r{i}", step="fit")
        for i in range(3)
    ]  # fmt: skip
    usage = usage_frame(records)
    costs = price_usage(usage, book)
    [cpu] = [r for r in over_requested(usage, costs) if r.kind == "over-requested-cpu"]
    seen = int(costs["cpu_micros"].sum() * (8 - 1.2) / 8)
    assert abs(cpu.monthly_saving_micros - seen) <= 1  # what was seen, not 30 days' worth
    assert "seen so far in 1.0 days" in cpu.basis and "not extrapolated" in cpu.basis
    assert cpu.evidence.startswith("3 step runs in 3 runs, 2026-11-02..2026-11-02")
    assert "CPU-seconds / wall-seconds" in cpu.evidence


def test_memory_is_shown_in_mib_or_gib(book: PriceBook, make_usage: Make) -> None:
    records = [make_usage(requested_memory_gb=16.0, peak_rss_bytes=300 << 20, started_ms=NOV_2 + i * 86_400_000)
               for i in range(8)]  # fmt: skip
    usage = usage_frame(records)
    [mem] = [r for r in over_requested(usage, price_usage(usage, book)) if r.kind == "over-requested-memory"]
    assert "requests 16.00 GiB, p95 peak 300 MiB; request 410 MiB" in mem.detail
    assert "scaled to 30 days" in mem.basis


def test_enable_the_cache_only_when_it_was_off(book: PriceBook, make_usage: Make) -> None:
    off = [make_usage(tags={"cache_key": "k1", "cache": "off"}, run_id=f"r{i}") for i in range(3)]
    on = [make_usage(tags={"cache_key": "k2"}, run_id=f"s{i}", step="prep") for i in range(2)]
    usage = usage_frame(off + on)
    found = {r.target: r for r in repeated_work(price_usage(usage, book), usage)}
    assert "3 of them ran with the cache switched off" in found["train/fit"].detail
    assert "opts out of it (@step(cache=False))" in found["train/prep"].detail
    assert found["train/fit"].evidence.startswith("runs r0, r1, r2")
