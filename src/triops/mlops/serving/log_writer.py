"""The prediction log writer: a bounded in-memory queue and one background thread that writes batches.

``log`` is what the request path calls: it appends one ``LogEntry`` (a whole request, unexpanded) under a
lock and returns. The writer thread wakes every ``flush_interval_s`` (or when ``flush_every`` rows wait),
turns entries into log records — restricted input columns hashed or dropped, inputs sampled — serialises
them with orjson and hands them to ``write`` in one batch (one transaction). A request of ``BATCH_FROM``
rows or more whose inputs are all kept becomes one ``Batch`` (its columns, outputs and scores as JSON
arrays: one stored row, no per-row work); smaller or sampled requests become one ``Row`` per prediction. ``flush()``/``close()``, interpreter
exit and SIGTERM (through the server's shutdown or ``install_exit_handlers``) make everything durable; a
process killed with SIGKILL loses at most the rows of the last interval. When the writer falls more than
``max_pending`` rows behind, ``log`` waits for it (back-pressure instead of unbounded memory).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import random
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from types import FrameType
from typing import Any, NamedTuple

import orjson

from triops.mlops.serving.records import prediction_ids

Row = tuple[Any, ...]
Writer = Callable[[list[Any]], None]
"""takes the records of a flush: ``Row`` tuples and ``Batch`` records, in order, in one transaction"""


@dataclass(frozen=True, slots=True)
class LogPolicy:
    """What of a version's inputs is logged: ``protected`` columns (name → reason) are hashed with
    ``salt`` (``[masked:<12 hex>]``, equal values give equal tokens) or, with ``drop``, left out; only a
    ``sample_rate`` share of rows keeps its inputs at all (outputs are always logged)."""

    protected: Mapping[str, str] = field(default_factory=dict)
    salt: bytes = b""
    drop: bool = False
    sample_rate: float = 1.0

    def mask(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        digest = hmac.new(self.salt, repr(value).encode("utf-8"), hashlib.sha256).hexdigest()[:12]
        return f"[masked:{digest}]"


class LogEntry(NamedTuple):
    """One served request. ``inputs`` is a list of row mappings or a mapping of column → values. (A named
    tuple: it is made on the request path, where a frozen dataclass costs several times more.)"""

    request_id: str
    model: str
    version: int
    model_version_id: str
    alias: str | None
    time_ms: int
    inputs: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]
    outputs: Sequence[Any]
    scores: Sequence[float] | None
    latency_ms: float
    principal: str | None
    policy: LogPolicy

    @property
    def rows(self) -> int:
        return len(self.outputs)


_VECTOR_FROM = 16  # rows from which inputs are serialised column-wise by polars (one Rust pass)
BATCH_FROM = 16  # rows from which a request is logged as one column-wise ``Batch``


class Batch(NamedTuple):
    """A batch request as one log record (``records.BATCH_COLUMNS`` order; JSON already serialised)."""

    request_id: str
    model: str
    version: int
    model_version_id: str
    alias: str | None
    time_ms: int
    rows: int
    inputs: str | None
    outputs: str
    scores: str | None
    latency_ms: float
    principal: str | None


def batch(entry: LogEntry) -> Batch | None:
    """``entry`` as one column-wise record, or ``None`` when it is logged row by row (few rows, sampling)."""
    policy, n = entry.policy, entry.rows
    if n < BATCH_FROM or policy.sample_rate < 1.0:
        return None
    data = entry.inputs
    columns: dict[str, Any] = (
        dict(data) if isinstance(data, Mapping) else {str(k): [r[k] for r in data] for k in data[0]}
    )
    for name in policy.protected:
        if name in columns:
            if policy.drop:
                del columns[name]
            else:
                columns[name] = _masked(policy, name, columns[name])
    dumps, numpy = orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
    return Batch(
        entry.request_id,
        entry.model,
        entry.version,
        entry.model_version_id,
        entry.alias,
        entry.time_ms,
        n,
        dumps(columns, option=numpy).decode(),
        dumps(entry.outputs, option=numpy).decode(),
        None if entry.scores is None else dumps(entry.scores, option=numpy).decode(),
        entry.latency_ms,
        entry.principal,
    )


def records_of(entry: LogEntry, rng: random.Random | None = None) -> list[Row | Batch]:
    """What the log stores of one request: one ``Batch``, or its ``Row``s."""
    found = batch(entry)
    return [found] if found is not None else list(expand(entry, rng))


def count_rows(records: Sequence[Row | Batch]) -> int:
    return sum(r.rows if type(r) is Batch else 1 for r in records)


def _masked(policy: LogPolicy, name: str, values: Sequence[Any]) -> list[Any]:
    tokens = {v: policy.mask(v) for v in set(values)}
    return [tokens[v] for v in values]


def _inputs_json(entry: LogEntry, pick: Callable[[], float]) -> list[str | None]:
    """Each row's inputs as JSON text (protected columns hashed or dropped), ``None`` where unsampled."""
    policy, n = entry.policy, entry.rows
    if policy.sample_rate <= 0.0:
        return [None] * n
    data = entry.inputs
    out: list[str | None]
    if n < _VECTOR_FROM:
        rows = (
            [dict(r) for r in data]
            if not isinstance(data, Mapping)
            else [dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)]
        )
        for row in rows:
            for name in policy.protected:
                if name in row:
                    if policy.drop:
                        del row[name]
                    else:
                        row[name] = policy.mask(row[name])
        out = [orjson.dumps(r, option=orjson.OPT_SERIALIZE_NUMPY).decode() for r in rows]
    else:
        import polars as pl

        columns: dict[str, Any] = (
            {str(k): list(v) for k, v in data.items()}
            if isinstance(data, Mapping)
            else {str(k): [r[k] for r in data] for k in data[0]}
        )
        for name in list(columns):
            if name in policy.protected:
                if policy.drop:
                    del columns[name]
                else:
                    columns[name] = _masked(policy, name, columns[name])
        # split on "\n" only: str.splitlines also breaks at U+2028, U+0085 … that JSON leaves unescaped
        out = list(pl.DataFrame(columns, strict=False).write_ndjson().split("\n")[:-1])
    if policy.sample_rate < 1.0:
        out = [text if pick() < policy.sample_rate else None for text in out]
    return out


def expand(entry: LogEntry, rng: random.Random | None = None) -> list[Row]:
    """The log rows of one request (in ``records.LOG_COLUMNS`` order), masked and sampled per its policy."""
    dumps = orjson.dumps
    data, policy = entry.inputs, entry.policy
    if type(data) is list and len(data) == 1:  # a single-row request: one tuple, no column machinery
        if not policy.protected and policy.sample_rate >= 1.0:
            text: str | None = dumps(data[0], option=orjson.OPT_SERIALIZE_NUMPY).decode()
        else:
            (text,) = _inputs_json(entry, (rng or random).random)
        return [
            (
                entry.request_id,
                entry.request_id,
                entry.model,
                entry.version,
                entry.model_version_id,
                entry.alias,
                entry.time_ms,
                text,
                dumps(entry.outputs[0], option=orjson.OPT_SERIALIZE_NUMPY).decode(),
                None if entry.scores is None else float(entry.scores[0]),
                entry.latency_ms,
                entry.principal,
            )
        ]
    n = entry.rows
    inputs = _inputs_json(entry, (rng or random).random)
    outputs = [dumps(o, option=orjson.OPT_SERIALIZE_NUMPY).decode() for o in entry.outputs]
    scores: Any = repeat(None, n) if entry.scores is None else [float(v) for v in entry.scores]
    return list(
        zip(
            prediction_ids(entry.request_id, n),
            repeat(entry.request_id, n),
            repeat(entry.model, n),
            repeat(entry.version, n),
            repeat(entry.model_version_id, n),
            repeat(entry.alias, n),
            repeat(entry.time_ms, n),
            inputs,
            outputs,
            scores,
            repeat(entry.latency_ms, n),
            repeat(entry.principal, n),
            strict=False,
        )
    )


class PredictionLogWriter:
    """Batches ``LogEntry``s and writes them from a background thread (see the module docstring)."""

    def __init__(
        self,
        write: Writer,
        *,
        flush_interval_s: float = 0.5,
        flush_every: int = 5000,
        max_pending: int = 200_000,
    ) -> None:
        self._write = write
        self._interval = flush_interval_s
        self._flush_every = flush_every
        self._max_pending = max_pending
        self._entries: list[LogEntry] = []
        self._pending_rows = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._rng = random.Random()
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="triops-prediction-log", daemon=True)
        self._thread.start()
        _WRITERS.add(self)

    def log(self, entry: LogEntry) -> None:
        """Queue one request's predictions; returns at once unless the writer is ``max_pending`` behind."""
        with self._lock:
            while self._pending_rows >= self._max_pending and not self._stop.is_set():
                self._wake.set()
                self._drained.wait(1.0)
            self._entries.append(entry)
            self._pending_rows += entry.rows
            full = self._pending_rows >= self._flush_every
        if full:
            self._wake.set()

    @property
    def pending(self) -> int:
        return self._pending_rows

    def flush(self) -> None:
        """Write everything queued so far; raises the writer's last error, if any, once."""
        self._drain()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        """Flush and stop the writer thread (idempotent)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._drain()
        _WRITERS.discard(self)

    def _take(self) -> list[LogEntry]:
        with self._lock:
            entries, self._entries = self._entries, []
            return entries

    def _drain(self) -> None:
        with self._flush_lock:
            entries = self._take()
            if not entries:
                return
            rows: list[Row | Batch] = []
            for entry in entries:
                rows.extend(records_of(entry, self._rng))
            try:
                self._write(rows)
            except BaseException:
                with self._lock:  # keep the rows for the next attempt, in order
                    self._entries[:0] = entries
                raise
            written = count_rows(rows)
            with self._lock:
                self._pending_rows -= written
                self.written += written
                self._drained.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception as exc:  # surfaced by the next flush(); rows stay queued for a retry
                self._error = exc


_WRITERS: weakref.WeakSet[PredictionLogWriter] = weakref.WeakSet()
_INSTALLED = False
_PREVIOUS_SIGTERM: Any = None


def _close_all() -> None:
    for writer in list(_WRITERS):
        try:
            writer.close()
        except Exception as exc:  # at exit there is nobody left to raise to
            print(f"triops: prediction log not fully written: {exc}", file=sys.stderr)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _close_all()
    if callable(_PREVIOUS_SIGTERM):
        _PREVIOUS_SIGTERM(signum, frame)
    else:
        sys.exit(128 + signum)


def install_exit_handlers() -> None:
    """Flush every writer at interpreter exit and on SIGTERM (from the main thread only; a server's own
    shutdown closes its writer itself)."""
    global _INSTALLED, _PREVIOUS_SIGTERM
    if _INSTALLED:
        return
    _INSTALLED = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        _PREVIOUS_SIGTERM = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
