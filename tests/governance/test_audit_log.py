"""The stored audit log on SQLite and PostgreSQL: appends in the caller's transaction, concurrent writers,
signed checkpoints, every kind of tampering found by ``verify``, and the JSON Lines export."""

from __future__ import annotations

import io
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from triops.domain.audit_chain import AuditEvent
from triops.errors import ConfigError, InvalidInputError
from triops.governance import audit
from triops.governance.audit import AuditKey
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.tables_governance import audit_checkpoints, audit_events, audit_head


def append(store: Store, n: int, start: int = 0, **extra: object) -> list[int]:
    seqs = []
    for i in range(start, start + n):
        with store.begin() as conn:
            seqs.append(
                audit_store.append_event(
                    conn,
                    actor="alice",
                    action="model.stage",
                    object_type="model_version",
                    object_id=f"mv-{i}",
                    before={"stage": "staging"},
                    after={"stage": "production", "n": i},
                    project="benefits",
                    at_ms=1_700_000_000_000 + i,
                    **extra,  # type: ignore[arg-type]
                )
            )
    return seqs


@pytest.fixture
def key(tmp_path: Path) -> AuditKey:
    return AuditKey.load_or_create(tmp_path / "keys" / "audit_ed25519")


def test_append_numbers_events_from_one_and_verifies(store: Store, key: AuditKey) -> None:
    assert append(store, 5) == [1, 2, 3, 4, 5]
    report = audit.verify(store, key)
    assert report.ok
    assert report.chain.checked == 5


def test_append_joins_the_callers_transaction_and_rolls_back_with_it(store: Store, key: AuditKey) -> None:
    append(store, 2)

    def failing_change() -> None:
        with store.begin() as conn:
            audit_store.append_event(
                conn,
                actor="bob",
                action="role.grant",
                object_type="role_binding",
                object_id="x",
                before=None,
                after={},
            )
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert append(store, 1, start=2) == [3]  # no gap where the rolled-back event was
    assert audit.verify(store, key).ok


def test_append_refuses_bad_fields(store: Store) -> None:
    with store.begin() as conn:
        with pytest.raises(InvalidInputError, match="actor"):
            audit_store.append_event(
                conn, actor="", action="a", object_type="t", object_id="1", before=None, after=None
            )
        with pytest.raises(InvalidInputError, match="JSON"):
            audit_store.append_event(
                conn,
                actor="a",
                action="a",
                object_type="t",
                object_id="1",
                before=None,
                after={"x": object()},
            )


def test_concurrent_writers_get_unique_gap_free_numbers(store: Store, key: AuditKey) -> None:
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                store.write(
                    lambda conn, i=i: audit_store.append_event(
                        conn,
                        actor=f"w{w}",
                        action="x",
                        object_type="t",
                        object_id=str(i),
                        before=None,
                        after={"i": i},
                    )
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.connect() as conn:
        seqs = [r[0] for r in conn.execute(sa.select(audit_events.c.seq).order_by(audit_events.c.seq))]
    assert seqs == list(range(1, 91))
    assert audit.verify(store, key).ok


def test_metacharacters_are_stored_and_read_literally(store: Store) -> None:
    name = "x'); DROP TABLE audit_events; -- <script>alert(1)</script> \"&amp;"
    with store.begin() as conn:
        audit_store.append_event(
            conn,
            actor=name,
            action="role.grant",
            object_type="role_binding",
            object_id=name,
            before=None,
            after={"principal": name},
            project="p",
        )
    with store.connect() as conn:
        (event,) = audit_store.list_events(conn)
    assert event.actor == name
    assert event.object_id == name
    assert event.after == {"principal": name}


def test_checkpoints_are_signed_every_n_events(store: Store, key: AuditKey) -> None:
    append(store, 25)
    assert audit.seal(store, key, every=10) == [10, 20]
    assert audit.seal(store, key, every=10) == []
    append(store, 5, start=25)
    assert audit.seal(store, key, every=10) == [30]
    report = audit.verify(store, key)
    assert report.ok
    assert report.chain.checkpoints_checked == 3


def test_record_signs_a_checkpoint_in_the_same_transaction(store: Store, key: AuditKey) -> None:
    for i in range(4):
        with store.begin() as conn:
            audit.record(
                conn,
                key,
                every=2,
                actor="a",
                action="x",
                object_type="t",
                object_id=str(i),
                before=None,
                after=None,
            )
    with store.connect() as conn:
        assert [c["seq"] for c in audit_store.list_checkpoints(conn)] == [2, 4]


def test_key_file_is_private_and_public_half_verifies(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "k" / "audit_ed25519"
    key = AuditKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    append(store, 10)
    audit.seal(store, key, every=5)
    public = AuditKey.load(path.with_name("audit_ed25519.pub"))
    assert public.key_id == key.key_id
    assert audit.verify(store, public).ok
    with pytest.raises(ConfigError, match="public only"):
        public.sign(b"x")


def test_threads_racing_to_create_the_key_all_get_the_same_one(tmp_path: Path) -> None:
    # a server's write requests each sign the head when they end: the first ones raced to create the key
    path = tmp_path / "k" / "audit_ed25519"
    found: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        try:
            found.append(AuditKey.load_or_create(path).key_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(found) == {AuditKey.load(path).key_id}
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_bad_key_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "key"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        AuditKey.load(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        AuditKey.load(tmp_path / "missing")


def test_checkpoints_signed_by_another_key_are_reported(store: Store, key: AuditKey, tmp_path: Path) -> None:
    append(store, 10)
    audit.seal(store, AuditKey.load_or_create(tmp_path / "other"), every=5)
    report = audit.verify(store, key)
    assert report.first_bad_seq == 5
    assert {p.kind for p in report.chain.problems} == {"checkpoint"}


def test_verify_without_a_key_fails_when_there_are_signatures_to_check(store: Store, key: AuditKey) -> None:
    append(store, 10)
    audit.seal(store, key, every=5)
    report = audit.verify(store, None)
    assert not report.ok  # removing the key must not turn verification into a warning
    assert report.first_bad_seq == 5
    assert report.chain.problems[0].kind == "key"


# ------------------------------------------------------------------------------------ tampering in SQL


def test_modified_event_is_reported(store: Store, key: AuditKey) -> None:
    append(store, 10)
    with store.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 4).values(actor="mallory"))
    report = audit.verify(store, key)
    assert report.first_bad_seq == 4
    assert report.chain.problems[0].kind == "modified"


def test_deleted_event_is_reported(store: Store, key: AuditKey) -> None:
    append(store, 10)
    with store.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq == 6))
    assert audit.verify(store, key).first_bad_seq == 6


def test_inserted_event_is_reported(store: Store, key: AuditKey) -> None:
    append(store, 10)
    with store.begin() as conn:
        original = conn.execute(sa.select(audit_events).where(audit_events.c.seq == 5)).mappings().one()
        conn.execute(
            sa.update(audit_events).where(audit_events.c.seq >= 5).values(seq=audit_events.c.seq + 1000)
        )
        conn.execute(sa.insert(audit_events).values(**{**dict(original), "actor": "mallory"}))
        conn.execute(
            sa.update(audit_events).where(audit_events.c.seq > 1000).values(seq=audit_events.c.seq - 999)
        )
    assert audit.verify(store, key).first_bad_seq == 5


def test_reordered_events_are_reported(store: Store, key: AuditKey) -> None:
    append(store, 10)
    with store.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 3).values(seq=-3))
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 4).values(seq=3))
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == -3).values(seq=4))
    assert audit.verify(store, key).first_bad_seq == 3


def test_truncated_tail_after_a_checkpoint_is_reported(store: Store, key: AuditKey) -> None:
    append(store, 30)
    audit.seal(store, key, every=10)
    with store.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq > 22))
        conn.execute(sa.update(audit_head).values(seq=22))  # the attacker also rewinds the head
    report = audit.verify(store, key)
    assert report.first_bad_seq == 23
    assert report.chain.problems[0].kind == "truncated"


def test_rewritten_chain_is_caught_by_the_signed_checkpoint(store: Store, key: AuditKey) -> None:
    append(store, 20)
    audit.seal(store, key, every=10)
    with store.begin() as conn:
        conn.execute(sa.delete(audit_events))
        conn.execute(sa.delete(audit_head))
    append(store, 20, start=500)  # a whole new, internally consistent chain
    report = audit.verify(store, key)
    assert not report.ok
    assert report.first_bad_seq == 1


def test_forged_checkpoint_is_reported(store: Store, key: AuditKey) -> None:
    append(store, 10)
    audit.seal(store, key, every=5)
    with store.begin() as conn:
        conn.execute(
            sa.update(audit_checkpoints).where(audit_checkpoints.c.seq == 10).values(event_hash="0" * 64)
        )
    assert audit.verify(store, key).first_bad_seq == 10


# ------------------------------------------------------------------------------------------- export


def test_export_writes_json_lines_that_verify_offline(store: Store, tmp_path: Path) -> None:
    append(store, 12)
    buffer = io.BytesIO()
    assert audit.export_jsonl(store, buffer) == 12
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 12
    path = tmp_path / "audit.jsonl"
    path.write_bytes(buffer.getvalue())
    assert audit.verify_jsonl(path).ok
    events = list(audit.read_jsonl(lines))
    assert isinstance(events[0], AuditEvent)
    assert events[0].after == {"stage": "production", "n": 0}
    lines[3] = lines[3].replace(b"alice", b"mallo")
    path.write_bytes(b"\n".join(lines))
    assert audit.verify_jsonl(path).first_bad_seq == 4


def test_export_with_a_broken_line_names_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="line 2"):
        list(audit.read_jsonl([b"", b"{not json"]))
    with pytest.raises(InvalidInputError, match=r"line 1 .*seq"):
        list(audit.read_jsonl([b"{}"]))


def test_large_logs_verify_in_parallel_worker_processes(sqlite_store: Store, key: AuditKey) -> None:
    append(sqlite_store, 30)
    audit.seal(sqlite_store, key, every=10)
    assert audit.verify(sqlite_store, key, workers=2, parallel_min=1).ok
    with sqlite_store.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq.in_([15, 16])))
    report = audit.verify(sqlite_store, key, workers=3, parallel_min=1)
    assert report.first_bad_seq == 15
    assert report.chain.checked == 28


def test_parallel_workers_catch_an_edit_and_a_reorder_in_any_segment(
    sqlite_store: Store, key: AuditKey
) -> None:
    append(sqlite_store, 30)
    audit.seal(sqlite_store, key, every=10)
    with sqlite_store.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 27).values(actor="mallory"))
    report = audit.verify(sqlite_store, key, workers=3, parallel_min=1)
    assert report.first_bad_seq == 27
    assert [p.kind for p in report.chain.problems] == ["modified"]
    with sqlite_store.begin() as conn:  # undo, then swap events 15 and 16: 4 workers read (7, 15], (15, 22]
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 27).values(actor="alice"))
        for seq, new in ((15, -15), (16, 15), (-15, 16)):
            conn.execute(sa.update(audit_events).where(audit_events.c.seq == seq).values(seq=new))
    assert audit.verify(sqlite_store, key, workers=4, parallel_min=1).first_bad_seq == 15


def test_parallel_workers_import_only_the_chain_code_and_name_a_damaged_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    from triops.errors import StoreCorruptError
    from triops.store import audit_workers

    heavy = "{'sqlalchemy', 'cryptography'}"
    probe = f"import sys, triops.store.audit_workers; print(sorted({heavy} & set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n"  # the worker's start stays cheap
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database " * 400)
    with pytest.raises(StoreCorruptError, match=r"damaged\.db"):
        audit_workers.verify_in_workers(str(damaged), [(0, None)], {})
