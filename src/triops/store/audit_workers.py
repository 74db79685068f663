"""Verifying a large SQLite audit chain in worker processes, a segment each.

The workers are new interpreters running ``python -m triops.store.audit_workers`` that import only
``sqlite3`` and the pure chain code (``triops.domain.audit_chain``): about 50 ms of CPU before the first row
is read. Two other ways were slower or unsafe:

- ``fork`` copies SQLite's record of the parent's locks on the file into the child, which would then read
  without holding them (SQLite's "How To Corrupt An SQLite Database File", section 2.6);
- ``multiprocessing``'s ``spawn`` and ``forkserver`` import the parent's ``__main__`` again (the whole CLI,
  server or benchmark script, with SQLAlchemy and the crypto library) before a worker starts: on 1,000,000
  events that took 1.7 s of CPU more than the work itself, and verification went from 2.9 to 5 s.

A worker reads its segment in one statement (one read transaction), re-hashes it with ``verify_segment``
and writes its ``ChainReport`` as JSON on stdout; ``merge_segments`` then checks the joins.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from triops.domain.audit_chain import EVENT_COLUMNS, ChainProblem, ChainReport, verify_segment
from triops.errors import StoreError
from triops.store.sqlite_file import MMAP_BYTES, corrupt_error, is_corruption

_SELECT = f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events WHERE seq > ?"
_EXIT_CORRUPT = 3


def report_to_json(report: ChainReport) -> bytes:
    return orjson.dumps(
        {
            "checked": report.checked,
            "last_seq": report.last_seq,
            "last_hash": report.last_hash,
            "first_seq": report.first_seq,
            "first_prev": report.first_prev,
            "problems": [[p.seq, p.kind, p.message] for p in report.problems],
        }
    )


def report_from_json(data: bytes) -> ChainReport:
    raw = orjson.loads(data)
    return ChainReport(
        checked=int(raw["checked"]),
        last_seq=int(raw["last_seq"]),
        last_hash=str(raw["last_hash"]),
        first_seq=int(raw["first_seq"]),
        first_prev=str(raw["first_prev"]),
        problems=[ChainProblem(int(seq), str(kind), str(msg)) for seq, kind, msg in raw["problems"]],
    )


def verify_file_segment(
    path: str, after_seq: int, up_to: int | None, pins: Mapping[int, str], busy_timeout_ms: int = 30_000
) -> ChainReport:
    """Verify the events ``after_seq`` < seq ≤ ``up_to`` (no upper bound if None) of the store file at ``path``."""
    # mode=rw: never create a missing file; query_only: this connection cannot write to the store
    uri = f"{Path(path).resolve().as_uri()}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        if up_to is None:
            rows = conn.execute(_SELECT + " ORDER BY seq", (after_seq,))
        else:
            rows = conn.execute(_SELECT + " AND seq <= ? ORDER BY seq", (after_seq, up_to))
        return verify_segment(rows, checkpoints=pins, start_seq=None, start_prev=None)
    finally:
        conn.close()


def _worker_env() -> dict[str, str]:
    """This process's environment, with the folder this triops was imported from first on the path: the
    worker runs the same code even when the parent found it by a path of its own."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def verify_in_workers(
    path: str,
    bounds: Sequence[tuple[int, int | None]],
    pins: Mapping[int, str],
    busy_timeout_ms: int = 30_000,
) -> list[ChainReport]:
    """Verify each (after_seq, up_to) segment of the store file at ``path`` in its own worker process, all at
    once; the reports come back in the order of ``bounds``."""
    command = [sys.executable, "-P", "-m", "triops.store.audit_workers"]
    env = _worker_env()
    procs = []
    try:
        for after_seq, up_to in bounds:
            proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            )
            procs.append(proc)
            share = {str(s): h for s, h in pins.items() if s > after_seq and (up_to is None or s <= up_to)}
            job = {
                "path": path,
                "after_seq": after_seq,
                "up_to": up_to,
                "pins": share,
                "busy_timeout_ms": busy_timeout_ms,
            }
            assert proc.stdin is not None
            # one line (orjson writes no newline inside): the worker starts on it without waiting for EOF
            proc.stdin.write(orjson.dumps(job) + b"\n")
            proc.stdin.flush()
        outputs = [(proc, *proc.communicate()) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    reports = []
    for proc, out, err in outputs:
        message = err.decode("utf-8", "replace").strip()
        if proc.returncode == _EXIT_CORRUPT:
            raise corrupt_error(path)
        if proc.returncode != 0:
            raise StoreError(
                f"an audit verification worker failed (exit {proc.returncode}): {message[-2000:]}",
                hint="run `triops audit verify` again; if it fails the same way, report it with this message",
            )
        reports.append(report_from_json(out))
    return reports


def _main() -> int:
    job: dict[str, Any] = orjson.loads(sys.stdin.buffer.readline())
    try:
        report = verify_file_segment(
            str(job["path"]),
            int(job["after_seq"]),
            None if job["up_to"] is None else int(job["up_to"]),
            {int(s): str(h) for s, h in job["pins"].items()},
            int(job["busy_timeout_ms"]),
        )
    except sqlite3.DatabaseError as exc:
        sys.stderr.write(f"{exc}\n")
        return _EXIT_CORRUPT if is_corruption(exc) else 1
    sys.stdout.buffer.write(report_to_json(report))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
