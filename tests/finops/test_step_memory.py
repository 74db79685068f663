"""Each step's own peak memory reaches its usage and cost records: a step that allocates ~200 MB is measured
and priced for it, a step that allocates nothing beside it in the same process is not (the process's
interpreter, imports and the other step's memory are not its own)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from triops import Workspace
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.metering import Meter, reset_peak_rss
from triops.settings import Settings

MIB = 1 << 20
pytestmark = pytest.mark.skipif(
    not reset_peak_rss(), reason="the kernel's peak-RSS mark cannot be reset here (/proc/self/clear_refs)"
)


@step(cache=False, resources={"memory_gb": 0})
def allocate(megabytes: int) -> int:
    block = np.ones(megabytes * MIB // 8)  # touched: resident, not just reserved
    total = int(block[:: 4096 // 8].sum())
    del block  # freed before the step returns: the peak still counts
    return total


@step(cache=False, resources={"memory_gb": 0})
def light(n: int) -> int:
    return n + 1


@pipeline
def heavy_then_light(megabytes: int = 200) -> None:
    light(allocate(megabytes))


def test_a_step_that_allocates_200_mb_is_measured_and_priced_for_it_and_its_neighbour_is_not(
    sqlite_store_url: str, tmp_path: Path
) -> None:
    ws = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    try:
        result = ws.run_pipeline(heavy_then_light, project="mem")
        assert result.status == "FINISHED", result.error
        rows = {r.step: r for r in result.steps}
        heavy, small = rows["allocate"], rows["light"]
        assert heavy.step_memory_bytes is not None and small.step_memory_bytes is not None
        assert heavy.step_memory_bytes > 180 * MIB
        assert small.step_memory_bytes < 20 * MIB
        # the process's peak is the whole interpreter's, far above what the light step used
        assert small.peak_rss_bytes is not None and small.peak_rss_bytes > small.step_memory_bytes + 20 * MIB
        usage = {r["step"]: r for r in ws.finops.usage(project="mem").iter_rows(named=True)}
        assert usage["allocate"]["step_memory_bytes"] == heavy.step_memory_bytes
        assert usage["light"]["step_memory_bytes"] == small.step_memory_bytes
        costs = {r["step"]: r for r in ws.finops.costs(run_id=result.run_id).iter_rows(named=True)}
        # nothing was requested, so memory is charged on what each step itself used, in GiB-hours
        for name, row in rows.items():
            expected = row.step_memory_bytes / 2**30 * row.wall_s / 3600
            assert abs(costs[name]["memory_gib_hours"] - expected) <= 1e-12 + 1e-9 * expected
        assert costs["allocate"]["memory_gib_hours"] > 0
        assert costs["light"]["memory_gib_hours"] < costs["allocate"]["memory_gib_hours"] / 9
    finally:
        ws.close()


def test_a_thread_that_exits_after_a_large_step_does_not_inflate_the_next_ones() -> None:
    # a thread's exit raises the process-wide figure ru_maxrss reports, which the kernel never resets:
    # the meter must not charge it to the steps after
    def big() -> None:
        block = np.ones(150 * MIB // 8)
        del block

    meter = Meter()
    meter.start()
    worker = threading.Thread(target=big)
    worker.start()
    worker.join()
    assert (meter.stop().step_memory_bytes or 0) > 120 * MIB
    later = Meter()
    later.start()
    block = np.ones(40 * MIB // 8)
    usage = later.stop()
    del block
    assert usage.step_memory_bytes is not None and 30 * MIB < usage.step_memory_bytes < 80 * MIB
    quiet = Meter()
    quiet.start()
    assert (quiet.stop().step_memory_bytes or 0) < 10 * MIB
