"""Metering: wall, CPU and per-step peak memory, measured cheaply where the step runs."""

from __future__ import annotations

import time

import numpy as np

from triops.mlops.pipelines.metering import Meter, gpu_model, reset_peak_rss


def test_cpu_and_wall_seconds_are_measured() -> None:
    meter = Meter()
    meter.start()
    end = time.process_time() + 0.1
    while time.process_time() < end:
        pass
    usage = meter.stop(bytes_read=10, bytes_written=20)
    assert 0.09 <= usage.cpu_s < 2 and usage.wall_s >= 0.09
    assert usage.bytes_read == 10 and usage.bytes_written == 20
    assert usage.gpu_s == 0.0 and usage.gpu_model is None


def test_peak_memory_belongs_to_the_step_not_the_process() -> None:
    block = np.ones(40_000_000 // 8)  # 40 MB, then freed: an earlier step's peak
    block += 1
    del block
    if not reset_peak_rss():
        return  # platform without /proc/self/clear_refs: ru_maxrss is the process peak
    meter = Meter()
    meter.start()
    small = meter.stop()
    meter.start()
    big = np.ones(80_000_000 // 8)
    big += 1
    large = meter.stop()
    del big
    assert large.peak_rss_bytes - small.peak_rss_bytes > 60_000_000


def test_no_gpu_is_reported_without_nvml() -> None:
    meter = Meter()
    meter.start()
    usage = meter.stop(gpus=1)
    if gpu_model() is None:
        assert usage.gpu_s == 0.0 and usage.gpu_model is None


def test_metering_overhead_is_at_most_50_microseconds() -> None:
    meter = Meter()
    n = 2000
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            meter.start()
            meter.stop(bytes_read=1, bytes_written=1)
        best = min(best, (time.perf_counter() - start) / n)
    assert best <= 50e-6, f"{best * 1e6:.1f} µs per step"
