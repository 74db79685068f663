"""Experiment tracking: the ``ActiveRun`` handle users log to, its metric buffer and background writer.

``log_metric`` only validates and appends to an in-memory buffer; a writer thread flushes batches every
``flush_every`` metrics or ``flush_interval_s`` seconds, whichever comes first. ``flush()``, the end of the
``with`` block, normal interpreter exit and SIGTERM make everything durable. A process killed with SIGKILL
loses at most the last interval. The buffer is bounded: when the writer falls behind, the logging thread
flushes itself (back-pressure instead of unbounded memory).

Where the runs go is a ``TrackingSink``: the local store (``StoreTrackingSink``) or a triops server.
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from triops.artifacts import StoredArtifact
from triops.domain.clock import Clock, SystemClock
from triops.domain.records import Metric, Run, RunStatus
from triops.domain.validation import (
    INT64_MAX,
    INT64_MIN,
    check_key,
    check_metric_value,
    check_step,
    param_text,
    tag_text,
)
from triops.errors import ConflictError, InvalidInputError
from triops.mlops.tracking.run_queries import RunQueries as RunQueries  # re-exported
from triops.mlops.tracking.sinks import MetricRow, TrackingSink
from triops.mlops.tracking.sinks import StoreTrackingSink as StoreTrackingSink  # re-exported

_time_ns = time.time_ns
_log = logging.getLogger(__name__)
_INT64_MIN, _INT64_MAX = INT64_MIN, INT64_MAX


_ACTIVE: weakref.WeakSet[ActiveRun] = weakref.WeakSet()
_HANDLERS_INSTALLED = False
_HANDLERS_LOCK = threading.Lock()


def _flush_all_at_exit() -> None:
    for run in list(_ACTIVE):
        run._finish(RunStatus.FINISHED, None)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    for run in list(_ACTIVE):
        run._finish(RunStatus.KILLED, "terminated by SIGTERM")
    previous = _PREVIOUS_SIGTERM
    if callable(previous):
        previous(signum, frame)
    else:
        sys.exit(128 + signum)


_PREVIOUS_SIGTERM: Any = None


def _install_exit_handlers() -> None:
    global _HANDLERS_INSTALLED, _PREVIOUS_SIGTERM
    with _HANDLERS_LOCK:
        if _HANDLERS_INSTALLED:
            return
        _HANDLERS_INSTALLED = True
        atexit.register(_flush_all_at_exit)
        if threading.current_thread() is threading.main_thread():
            _PREVIOUS_SIGTERM = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _on_sigterm)


class ActiveRun:
    """A run being logged to. Use as a context manager: ``with ws.start_run("proj") as run: ...``."""

    def __init__(
        self,
        sink: TrackingSink,
        run: Run,
        *,
        flush_every: int = 5000,
        flush_interval_s: float = 0.5,
        clock: Clock | None = None,
        heartbeat_s: float | None = None,
    ) -> None:
        self._sink = sink
        self.id = run.id
        self.project = run.project
        self.name = run.name
        self.parent_id = run.parent_id
        self._clock = clock or SystemClock()
        self._flush_every = flush_every
        self._max_buffer = max(flush_every * 20, 100_000)
        self._interval = flush_interval_s if heartbeat_s is None else min(flush_interval_s, heartbeat_s)
        self._heartbeat_s = heartbeat_s
        self._last_beat = 0.0
        self._buffer: list[MetricRow] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._steps: dict[str, int] = {}
        self._keys_ok: set[str] = set()
        self._writer_error: BaseException | None = None
        self._finished = False
        self._writer = threading.Thread(
            target=self._write_loop, name=f"triops-writer-{run.id[:8]}", daemon=True
        )
        self._writer.start()
        _ACTIVE.add(self)
        _install_exit_handlers()

    # -- logging ---------------------------------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        if self._finished:
            raise ConflictError(
                f"run {self.id} has ended; metric {key!r} logged after the end of a run is refused",
                hint="log metrics inside the run's `with` block, before run.end(), or start a new run",
            )
        if key not in self._keys_ok:
            check_key(key, "metric key")
            self._keys_ok.add(key)
        kind = type(value)
        number = value if kind is float else float(value) if kind is int else check_metric_value(key, value)
        if step is None:
            step = self._steps.get(key, -1) + 1
        elif type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            check_step(key, step)
        self._steps[key] = step
        row = (key, number, step, _time_ns() // 1_000_000)
        with self._lock:
            buffer = self._buffer
            buffer.append(row)
            size = len(buffer)
        if size >= self._flush_every:
            if size >= self._max_buffer:
                self.flush()
            else:
                self._wake.set()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if not isinstance(metrics, Mapping):
            raise InvalidInputError(
                f"log_metrics takes a mapping of key to number, not {type(metrics).__name__}",
                hint="call run.log_metrics({'auc': 0.91})",
            )
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, values: Mapping[str, Any]) -> None:
        checked = {check_key(k, "param key"): param_text(k, v) for k, v in values.items()}
        self._sink.log_params(self.id, checked)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, values: Mapping[str, Any]) -> None:
        checked = {check_key(k, "tag key"): tag_text(k, v) for k, v in values.items()}
        self._sink.set_tags(self.id, checked)

    def log_artifact(
        self, path_or_bytes: str | Path | bytes, name: str | None = None, media_type: str | None = None
    ) -> StoredArtifact:
        if isinstance(path_or_bytes, bytes):
            if name is None:
                raise InvalidInputError(
                    "an artifact logged from bytes needs a name", hint="pass name='model.skops'"
                )
            data: bytes | Path = path_or_bytes
        else:
            data = Path(path_or_bytes)
            name = name or data.name
        check_key(name, "artifact name")
        return self._sink.log_artifact(self.id, name, data, media_type or _guess_media_type(name))

    # -- durability ------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every buffered metric now; returns when they are durable."""
        with self._flush_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if batch:
                try:
                    self._write_batch(batch)
                except BaseException:
                    with self._lock:  # put them back so a later flush can retry
                        self._buffer[:0] = batch
                    raise

    def _write_batch(self, batch: list[MetricRow]) -> None:
        try:
            self._sink.log_metrics(self.id, batch)
        except ConflictError:
            # marked LOST while this process was asleep: a heartbeat proves it alive and revives the run
            if self._heartbeat_s is None or not self._sink.beat(self.id):
                raise
            self._last_beat = time.monotonic()
            self._sink.log_metrics(self.id, batch)

    def _write_loop(self) -> None:
        self._beat()
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self._beat()
            try:
                self.flush()
            except Exception as exc:  # surfaced on the next flush/exit by the caller's thread
                self._writer_error = exc
                time.sleep(min(self._interval, 0.5))

    def _beat(self) -> None:
        """Record that this process is alive, at most every ``heartbeat_s`` (a run silent past the store's
        ``run_lost_after_s`` is marked LOST). Beats first, so a run marked LOST while this process slept is
        RUNNING again before the buffered metrics are written."""
        if self._heartbeat_s is None:
            return
        now = time.monotonic()
        if now - self._last_beat < self._heartbeat_s:
            return
        try:
            self._sink.beat(self.id)
        except Exception as exc:  # a missed beat is retried next time; the run's data is not at stake
            _log.warning("run %s: heartbeat failed: %s", self.id, exc)
            return
        self._last_beat = now

    def _finish(self, status: RunStatus, error: str | None) -> None:
        if self._finished:
            return
        self._finished = True
        self._stop.set()
        self._wake.set()
        if self._writer is not threading.current_thread():
            self._writer.join(timeout=30)
        _ACTIVE.discard(self)
        try:
            self.flush()
        finally:
            self._sink.finish_run(self.id, status, error)

    def end(self, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        self._finish(status, error)

    # -- queries ---------------------------------------------------------------------------------------
    def metric_history(self, key: str) -> list[Metric]:
        self.flush()
        return self._sink.metric_history(self.id, key)

    def info(self) -> Run:
        self.flush()
        return self._sink.get_run(self.id)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self._finish(RunStatus.FINISHED, None)
        elif issubclass(exc_type, KeyboardInterrupt):
            self._finish(RunStatus.KILLED, "interrupted (KeyboardInterrupt)")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self._finish(RunStatus.FAILED, text[-20_000:])

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} project={self.project!r} name={self.name!r}>"


def _guess_media_type(name: str) -> str:
    import mimetypes

    suffix_types = {
        ".skops": "application/x-skops",
        ".onnx": "application/onnx",
        ".parquet": "application/parquet",
    }
    for suffix, media in suffix_types.items():
        if name.endswith(suffix):
            return media
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


__all__ = ["ActiveRun", "MetricRow", "RunQueries", "StoreTrackingSink", "TrackingSink"]
