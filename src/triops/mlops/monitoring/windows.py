"""Monitoring windows over a time-ordered log: consecutive windows of a fixed row count or a fixed duration.

Windows are half-open and aligned: by count, rows ``[k·size, (k+1)·size)``; by time, ``[origin + k·every,
origin + (k+1)·every)`` where ``origin`` is the first row's time floored to the window length (so hourly
windows start on the hour, whatever the first row's minute). Empty time windows are skipped. A trailing window
that is not yet complete (fewer than ``size`` rows, or ending after ``now``) is reported as ``complete=False``
so a monitor does not judge a half-filled window and evaluates it again once it is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Window:
    index: int
    start_row: int
    stop_row: int
    start: datetime | None
    end: datetime | None
    complete: bool

    @property
    def rows(self) -> int:
        return self.stop_row - self.start_row


@dataclass(frozen=True)
class WindowSpec:
    """``count`` rows per window, or ``every`` (a duration) per window: exactly one of them."""

    count: int | None = None
    every: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.count is None) == (self.every is None):
            raise InvalidInputError("a window is either a row count or a duration", hint="give exactly one")
        if self.count is not None and self.count < 1:
            raise InvalidInputError(f"window count must be a positive integer, got {self.count}")
        if self.every is not None and self.every.total_seconds() <= 0:
            raise InvalidInputError(f"window duration must be positive, got {self.every}")

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        """``"1000"`` (rows) or ``"15m"``, ``"1h"``, ``"1d"``, ``"30s"``, ``"1w"`` (durations)."""
        text = text.strip().lower()
        if text.isdigit():
            return cls(count=int(text))
        unit = text[-1:]
        if unit in _UNITS and text[:-1].isdigit() and int(text[:-1]) > 0:
            return cls(every=timedelta(seconds=int(text[:-1]) * _UNITS[unit]))
        raise InvalidInputError(
            f"window {text!r} is neither a row count nor a duration",
            hint="use e.g. 1000, 30s, 15m, 1h, 1d or 1w",
        )

    def describe(self) -> str:
        if self.count is not None:
            return str(self.count)
        seconds = int(self.every.total_seconds()) if self.every else 0
        for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
            if seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"


def count_windows(n_rows: int, size: int) -> list[Window]:
    windows = []
    for index, start in enumerate(range(0, n_rows, size)):
        stop = min(start + size, n_rows)
        windows.append(Window(index, start, stop, None, None, stop - start == size))
    return windows


def _epoch_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def time_windows(times_us: npt.NDArray[np.int64], every: timedelta, now: datetime) -> list[Window]:
    """Windows over ascending UTC timestamps given in epoch microseconds."""
    if times_us.size == 0:
        return []
    if np.any(np.diff(times_us) < 0):
        raise InvalidInputError("timestamps must be in ascending order")
    step = int(every.total_seconds() * 1_000_000)
    bucket = (times_us - (times_us[0] // step) * step) // step
    starts = np.flatnonzero(np.diff(bucket, prepend=-1))
    stops = np.append(starts[1:], times_us.size)
    origin = (int(times_us[0]) // step) * step
    now_us = _epoch_micros(now)
    windows = []
    for index, (start, stop) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        lo = origin + int(bucket[start]) * step
        windows.append(
            Window(
                index,
                start,
                stop,
                datetime.fromtimestamp(lo / 1e6, UTC),
                datetime.fromtimestamp((lo + step) / 1e6, UTC),
                lo + step <= now_us,
            )
        )
    return windows


def split(spec: WindowSpec, times_us: npt.NDArray[np.int64], now: datetime) -> list[Window]:
    if spec.count is not None:
        return count_windows(int(times_us.size), spec.count)
    assert spec.every is not None
    return time_windows(times_us, spec.every, now)
