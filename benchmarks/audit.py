"""Audit log speed: one append (its own transaction) and verifying 1,000,000 stored events.

Targets (issue 8): append ≤ 1 ms; verify 1,000,000 events ≤ 5 s. The peer baseline, measured in the same
run over the same stored rows, is the naive way: per event ``json.loads`` the payloads, ``json.dumps`` the
event with ``sort_keys=True`` and ``hashlib.sha256`` it.

    .venv-bench/bin/python benchmarks/audit.py [--quick]

The verify target scales with the number of events in ``--quick`` (100,000 events: 0.5 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from _report import Report, parse_args
from rich.console import Console

from triops.domain.audit_chain import EVENT_COLUMNS, GENESIS_HASH, seal_event
from triops.governance import audit
from triops.governance.audit import AuditKey
from triops.store import audit as audit_store
from triops.store import tables_governance as tg
from triops.store.engine import Store, create_store

TABLES = [tg.audit_head, tg.audit_events, tg.audit_checkpoints]


def open_store(path: Path) -> Store:
    store = create_store(f"sqlite:///{path}")
    tg.metadata.create_all(store.engine, tables=TABLES)
    return store


def bench_append(store: Store, n: int) -> list[float]:
    timings = []
    for i in range(n):
        start = time.perf_counter()
        with store.begin() as conn:
            audit_store.append_event(
                conn,
                actor="alice",
                action="model.stage",
                object_type="model_version",
                object_id=f"mv-{i}",
                before={"stage": "staging"},
                after={"stage": "production", "by": "alice"},
                project="benefits",
            )
        timings.append(time.perf_counter() - start)
    return timings


def fill(store: Store, n: int, key: AuditKey) -> None:
    """Write a valid chain of ``n`` events in bulk (setup, not timed) and sign its checkpoints."""
    prev = GENESIS_HASH
    batch: list[dict[str, object]] = []
    with store.begin() as conn:
        for i in range(1, n + 1):
            event = seal_event(
                seq=i,
                at_ms=1_700_000_000_000 + i,
                actor=f"user{i % 17}",
                action="model.stage",
                object_type="model_version",
                object_id=f"0190f3a2-{i:08d}",
                project="benefits",
                before={"stage": "staging", "version": i},
                after={"stage": "production", "version": i},
                prev_hash=prev,
            )
            prev = event.hash
            batch.append(event._asdict())
            if len(batch) == 20_000:
                conn.execute(sa.insert(tg.audit_events), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(tg.audit_events), batch)
        conn.execute(sa.insert(tg.audit_head).values(id=1, seq=n, hash=prev))
    audit.seal(store, key, every=1000)


def naive_verify(store: Store) -> bool:
    """The peer: per event, decode payloads, json.dumps(sort_keys) the event, sha256 it, compare."""
    prev = GENESIS_HASH
    ok = True
    with store.connect() as conn:
        for row in audit_store.iter_rows(conn):
            d = dict(zip(EVENT_COLUMNS, row, strict=True))
            body = {
                "seq": d["seq"],
                "at_ms": d["at_ms"],
                "actor": d["actor"],
                "action": d["action"],
                "object_type": d["object_type"],
                "object_id": d["object_id"],
                "project": d["project"],
                "before": json.loads(d["before_json"]),
                "after": json.loads(d["after_json"]),
                "prev_hash": d["prev_hash"],
            }
            text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            ok = ok and digest == d["hash"] and d["prev_hash"] == prev
            prev = d["hash"]
    return ok


def cpu_seconds(before: os.times_result, after: os.times_result) -> float:
    """CPU seconds used by this process and its (finished) worker processes between two readings."""
    return sum(after[i] - before[i] for i in range(4))


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/audit.py", args)
    n_append = 300 if args.quick else 3000
    n_verify = 100_000 if args.quick else 1_000_000
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = AuditKey.load_or_create(root / "keys" / "audit_ed25519")
        store = open_store(root / "append.db")
        bench_append(store, 50)  # warm up
        timings = bench_append(store, n_append)
        store.dispose()
        append_ms = statistics.mean(timings) * 1000
        p99_ms = sorted(timings)[int(len(timings) * 0.99)] * 1000

        store = open_store(root / "verify.db")
        with console.status(f"writing {n_verify:,} events (setup)"):
            fill(store, n_verify, key)
        before = os.times()
        start = time.perf_counter()
        verified = audit.verify(store, key)
        ours_s = time.perf_counter() - start
        ours_cpu = cpu_seconds(before, os.times())
        before = os.times()
        start = time.perf_counter()
        peer_ok = naive_verify(store)
        peer_s = time.perf_counter() - start
        peer_cpu = cpu_seconds(before, os.times())
        store.dispose()

    report.row(
        f"append, own transaction (mean of {n_append:,}; p99 {p99_ms:.3f} ms)", append_ms, "ms", limit=1.0
    )
    report.row(
        f"verify {n_verify:,} stored events ({verified.chain.checkpoints_checked} signed checkpoints; "
        f"CPU {ours_cpu:.1f} s vs {peer_cpu:.1f} s)",
        ours_s if verified.ok and peer_ok else None,
        "s",
        peer=peer_s,
        peer_name="naive json+hashlib",
        limit=5.0 * n_verify / 1_000_000,
    )
    if not verified.ok:
        report.note(f"verification failed: {verified.to_dict()['problems'][:3]}")
    report.finish()


if __name__ == "__main__":
    main()
