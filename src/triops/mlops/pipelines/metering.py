"""Per-step metering, measured in the process where the step runs (the worker for ``local`` and ``ray``).

Wall time from ``perf_counter``; CPU user+system seconds from ``getrusage(RUSAGE_SELF)``; peak RSS from
``ru_maxrss`` after resetting the kernel's high-water mark (``/proc/self/clear_refs``, Linux ≥ 4.0) so the
figure belongs to this step, not to the process's lifetime; GPU seconds only when pynvml is importable and
reports a device. Start plus stop cost a few microseconds (the benchmark checks ≤ 50 µs).

The step's own memory (``step_memory_bytes``, what FinOps prices) is that peak minus the resident size when
the step started, read with one ``pread`` of ``/proc/self/statm`` on a descriptor kept open: the process's
interpreter, imports and earlier steps' data are not the step's. No sampling thread and no tracemalloc
(which slows every allocation several-fold): the kernel keeps the high-water mark, updated whenever pages
are unmapped, so memory a step allocates and frees before it returns is still seen.

One trap: ``ru_maxrss`` is the larger of the memory map's high-water mark and a per-process figure the
kernel raises whenever a thread exits (and at exec, from the pre-exec image), which ``clear_refs`` does not
reset (a long-lived process that once was larger, then freed memory and ended a thread, is in that state).
When that figure is above the resident size at the start, ``ru_maxrss`` can only show a peak above it;
below it the meter reads the map's own mark (``VmHWM`` in ``/proc/self/status``, some tens of microseconds)
for a step that ran at least ``EXACT_AFTER_S``, and for a shorter one takes the resident size at its end (a
lower bound, missing only what it freed before returning, over under a millisecond). Where the mark cannot
be reset (macOS), the step's memory is how far it raised the process's lifetime peak: a lower bound.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from functools import cache

from triops.mlops.pipelines.hooks import StepUsage

_RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux


@cache
def _clear_refs_fd() -> int | None:
    try:
        return os.open("/proc/self/clear_refs", os.O_WRONLY)
    except OSError:
        return None


_FD_PID: list[int] = [os.getpid()]


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS high-water mark; False where the platform cannot."""
    if _FD_PID[0] != os.getpid():  # a forked child must not write to its parent's clear_refs
        _clear_refs_fd.cache_clear()
        _statm_fd.cache_clear()
        _FD_PID[0] = os.getpid()
    fd = _clear_refs_fd()
    if fd is None:
        return False
    try:
        os.write(fd, b"5")
    except OSError:
        return False
    return True


@cache
def _statm_fd() -> int | None:
    try:
        return os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    """This process's resident size now, from a kept-open /proc/self/statm (None where there is none)."""
    fd = _statm_fd()
    if fd is None:
        return None
    try:
        return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _map_high_water() -> int | None:
    """The memory map's own high-water mark (VmHWM), without the per-process figure ru_maxrss adds."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * _RSS_UNIT


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()


def oom_kills() -> int | None:
    """How many processes the kernel's out-of-memory killer has killed in this process's memory cgroup
    (cgroup v2 ``memory.events``, or v1 ``memory.oom_control``: ``oom_kill``), or None where neither is
    readable. A rise while a step ran is the evidence that its worker was killed for memory."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    candidates = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        path = path.rstrip("/")
        if controllers == "":
            candidates.append(f"/sys/fs/cgroup{path}/memory.events")
            candidates.append(f"/sys/fs/cgroup/unified{path}/memory.events")
        elif "memory" in controllers.split(","):
            candidates.append(f"/sys/fs/cgroup/memory{path}/memory.oom_control")
    for candidate in candidates:
        count = _oom_kill_field(candidate)
        if count is not None:
            return count
    return None


def _oom_kill_field(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            for row in fh:
                key, _, value = row.partition(" ")
                if key == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        return None
    return None


@cache
def gpu_model() -> str | None:
    """The first GPU's model name if pynvml is importable and NVML reports a device, else None."""
    try:
        import pynvml  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() < 1:
            return None
        name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return None


class Meter:
    """``start()`` before a step, ``stop(...)`` after it; one instance per step run."""

    __slots__ = ("_cpu0", "_max0", "_reset", "_rss0", "_t0", "started_ms")

    def __init__(self) -> None:
        self._t0 = 0.0
        self._cpu0 = 0.0
        self._max0 = 0
        self._rss0: int | None = None
        self._reset = False
        self.started_ms = 0

    def start(self) -> None:
        self._reset = reset_peak_rss()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu0 = usage.ru_utime + usage.ru_stime
        self._max0 = int(usage.ru_maxrss) * _RSS_UNIT
        self._rss0 = _resident_bytes() if self._reset else None
        self.started_ms = time.time_ns() // 1_000_000
        self._t0 = time.perf_counter()

    def _step_memory(self, peak: int, wall: float) -> int:
        if not self._reset or self._rss0 is None:
            return max(0, peak - self._max0)  # how far the step raised the lifetime peak: a lower bound
        if peak <= self._max0 and self._max0 > self._rss0 + _SLACK:
            # ru_maxrss is held up by the per-process figure (see the module's docstring): read the map's
            # own mark, or for a very short step its resident size now
            mark = _map_high_water() if wall >= EXACT_AFTER_S else _resident_bytes()
            peak = self._rss0 if mark is None else mark
        return max(0, peak - self._rss0)

    def stop(
        self, *, bytes_read: int = 0, bytes_written: int = 0, gpus: float = 0.0, import_s: float = 0.0
    ) -> StepUsage:
        wall = time.perf_counter() - self._t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = max(0.0, usage.ru_utime + usage.ru_stime - self._cpu0)
        model = gpu_model() if gpus > 0 else None
        peak = int(usage.ru_maxrss) * _RSS_UNIT
        return StepUsage(
            wall,
            cpu,
            peak,
            bytes_read,
            bytes_written,
            wall * gpus if model else 0.0,
            model,
            import_s,
            self._step_memory(peak, wall),
        )


_SLACK = 4 << 20  # resident size moves a little between the reset and the statm read
EXACT_AFTER_S = 0.001


__all__ = ["Meter", "current_rss_bytes", "gpu_model", "oom_kills", "peak_rss_bytes", "reset_peak_rss"]
