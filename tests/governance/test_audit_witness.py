"""The audit log cannot be rewritten quietly (issue 14, item 4), on SQLite and PostgreSQL: heads are signed
automatically and copied to a witness outside the store, and ``verify`` fails, naming the first bad sequence
number, on every rewrite the issue lists that the chain alone cannot see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from triops import Workspace
from triops.domain.audit_chain import seal_event
from triops.governance.audit import AuditKey, default_key_path
from triops.governance.witness import load_witness, read_entries
from triops.settings import Settings
from triops.store.tables_governance import audit_checkpoints, audit_events, audit_head


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    for i in range(12):
        workspace.governance.grant(f"user-{i}", "viewer", "benefits")
    workspace.checkpoint_audit()  # what the end of a command, session or request does
    yield workspace
    workspace.close()


def head_seq(ws: Workspace) -> int:
    with ws.store.connect() as conn:
        return int(conn.execute(sa.select(audit_head.c.seq)).scalar() or 0)


def verify_fails_at(ws: Workspace, seq: int) -> None:
    report = ws.governance.verify_audit()
    assert not report.ok
    assert report.first_bad_seq == seq, report.chain.problems


def test_heads_are_signed_and_witnessed_automatically(ws: Workspace) -> None:
    entries = load_witness(ws.governance.witness_path())
    assert entries[-1].seq == head_seq(ws) >= 13  # the owner's bootstrap and twelve grants
    assert not str(ws.governance.witness_path()).startswith(str(ws.settings.home))
    report = ws.governance.verify_audit()
    assert report.ok and report.chain.checkpoints_checked >= 1
    assert ws.checkpoint_audit() is None  # nothing new: no write


def test_the_key_lives_outside_home_with_mode_0600(ws: Workspace) -> None:
    path = default_key_path(Path(ws.settings.home), ws.settings.audit_key_path)
    assert not str(path).startswith(str(Path(ws.settings.home).resolve()))
    assert path.stat().st_mode & 0o777 == 0o600


def test_tail_truncated_and_head_rewound_is_caught_by_the_witness(ws: Workspace) -> None:
    top = head_seq(ws)
    with ws.store.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq > top - 3))
        conn.execute(sa.delete(audit_checkpoints).where(audit_checkpoints.c.seq > top - 3))
        hash_at = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.seq == top - 3)).scalar()
        conn.execute(sa.update(audit_head).values(seq=top - 3, hash=hash_at))
    verify_fails_at(ws, top - 2)


def test_tail_truncated_without_rewinding_the_head_is_caught(ws: Workspace) -> None:
    top = head_seq(ws)
    with ws.store.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq > top - 2))
    verify_fails_at(ws, top - 1)


def _rehash_from(ws: Workspace, seq: int) -> None:
    """An attacker who edits event ``seq``, re-hashes every later one, moves the head and drops the
    checkpoints the store holds: the chain alone is consistent again."""
    with ws.store.begin() as conn:
        rows = conn.execute(
            sa.select(audit_events).where(audit_events.c.seq >= seq).order_by("seq")
        ).mappings()
        rows = [dict(r) for r in rows]
        prev = rows[0]["prev_hash"]
        for row in rows:
            actor = "mallory" if row["seq"] == seq else row["actor"]
            event = seal_event(
                seq=row["seq"],
                at_ms=row["at_ms"],
                actor=actor,
                action=row["action"],
                object_type=row["object_type"],
                object_id=row["object_id"],
                project=row["project"],
                before=None if row["before_json"] == "null" else json.loads(row["before_json"]),
                after=None if row["after_json"] == "null" else json.loads(row["after_json"]),
                prev_hash=prev,
            )
            conn.execute(
                sa.update(audit_events)
                .where(audit_events.c.seq == row["seq"])
                .values(actor=actor, prev_hash=prev, hash=event.hash)
            )
            prev = event.hash
        conn.execute(sa.update(audit_head).values(hash=prev))
        conn.execute(sa.delete(audit_checkpoints))


def test_an_edit_re_hashed_to_the_head_is_caught_by_the_witness(ws: Workspace) -> None:
    _rehash_from(ws, 5)
    report = ws.governance.verify_audit()
    assert not report.ok
    assert report.first_bad_seq is not None and report.first_bad_seq <= head_seq(ws)
    assert any(p.kind == "witness" for p in report.chain.problems)


def test_deleted_checkpoints_are_caught(ws: Workspace) -> None:
    top = head_seq(ws)
    with ws.store.begin() as conn:
        conn.execute(sa.delete(audit_checkpoints))
    verify_fails_at(ws, top)


def test_a_missing_key_fails_verification(ws: Workspace) -> None:
    path = default_key_path(Path(ws.settings.home), ws.settings.audit_key_path)
    path.unlink()
    path.with_name(path.name + ".pub").unlink()
    report = ws.governance.verify_audit()
    assert not report.ok and any(p.kind == "key" for p in report.chain.problems)


def test_a_wrong_key_fails_verification(ws: Workspace, tmp_path: Path) -> None:
    report = ws.governance.verify_audit(key_path=AuditKey.load_or_create(tmp_path / "other").path)
    assert not report.ok
    assert {p.kind for p in report.chain.problems} >= {"checkpoint"}


def test_a_head_copied_elsewhere_still_catches_a_rewrite_after_the_witness_file_is_gone(
    ws: Workspace,
) -> None:
    kept = ws.governance.witness()
    assert kept is not None
    ws.governance.witness_path().unlink()  # the attacker also owns the witness directory
    _rehash_from(ws, 3)
    external = list(read_entries([kept.to_line()], "ticket"))
    assert not ws.governance.verify_audit(witness=external).ok
