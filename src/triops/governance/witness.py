"""Signed heads of the audit log, made automatically and kept outside the store: the witness.

At the end of every command, SDK session or server request that wrote audit events, the head of the chain
(its sequence number and hash) is signed with the audit key and stored as a checkpoint *and* appended to an
append-only JSON Lines file in the witness directory (``TRIOPS_AUDIT_WITNESS_DIR``, by default
``~/.local/state/triops/witness``: outside ``TRIOPS_HOME``, so whoever can rewrite the database cannot
quietly rewrite the witness too). ``triops audit witness --out FILE`` copies the signed head anywhere else
(a ticket, a second machine). Verification checks every witness line against the store: an event whose hash
differs, a head behind the witness, or a checkpoint missing from the store is a failure at that sequence
number.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
import sqlalchemy as sa

from triops.domain.audit_chain import ChainReport, checkpoint_payload
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.errors import InvalidInputError
from triops.governance.audit import DEFAULT_EVERY, AuditKey, checkpoint
from triops.store import audit as audit_store
from triops.store.engine import Store


def default_witness_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "triops" / "witness"


@functools.lru_cache(maxsize=64)
def store_id(url: str) -> str:
    """A stable name for a store's witness file (the URL without any password)."""
    safe = sa.engine.make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(safe.encode("utf-8")).hexdigest()[:16]


def witness_file(directory: Path | None, url: str) -> Path:
    return (directory or default_witness_dir()) / f"{store_id(url)}.jsonl"


@dataclass(frozen=True, slots=True)
class WitnessEntry:
    """One signed head: the chain had ``seq`` events, the last with hash ``event_hash``."""

    seq: int
    event_hash: str
    at_ms: int
    key_id: str
    signature: str
    store: str

    def to_line(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS) + b"\n"

    def signed_by(self, key: AuditKey) -> bool:
        payload = checkpoint_payload(seq=self.seq, event_hash=self.event_hash, at_ms=self.at_ms)
        return self.key_id == key.key_id and key.verifies(payload, self.signature)


def append_entry(path: Path, entry: WitnessEntry, *, flush: bool = True) -> None:
    """Append one line (O_APPEND, one write; ``flush``: flushed to disk before returning): earlier lines are
    never rewritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, entry.to_line())
        if flush:
            os.fdatasync(fd)  # the line and the file's new length; the times need no flush
    finally:
        os.close(fd)


def read_entries(lines: Iterable[bytes | str], where: str) -> Iterator[WitnessEntry]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
            yield WitnessEntry(**{k: data[k] for k in WitnessEntry.__dataclass_fields__})
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{where}:{number}: not a witness line ({exc})",
                hint="a witness file holds the lines `triops audit witness` wrote",
            ) from None


def load_witness(path: Path) -> list[WitnessEntry]:
    if not path.exists():
        return []
    with path.open("rb") as fh:
        return list(read_entries(fh, str(path)))


def checkpoint_head(
    store: Store,
    key: AuditKey,
    witness: Path | None,
    *,
    every: int = DEFAULT_EVERY,
    clock: Clock | None = None,
) -> WitnessEntry | None:
    """Sign the checkpoints due every ``every`` events and the head (if no checkpoint covers it yet), and
    append the signed head to ``witness``. None when the log is empty or already sealed to its head."""
    with store.connect() as conn:  # the common case, nothing new since the last checkpoint: no write
        if not audit_store.unsealed(conn):
            return None
    return seal_head(store, key, witness, every=every, clock=clock)


def seal_head(
    store: Store,
    key: AuditKey,
    witness: Path | None,
    *,
    every: int = DEFAULT_EVERY,
    clock: Clock | None = None,
    flush: bool = True,
) -> WitnessEntry | None:
    """``checkpoint_head`` without the read-only look first: one transaction signs the checkpoints due and
    the head, and the witness line is built from what was signed (nothing is read back). ``flush``: see
    ``append_entry``."""
    if every < 1:
        raise InvalidInputError(f"checkpoint interval {every} must be at least 1")
    now = utc_ms((clock or SystemClock()).now())
    try:
        with store.begin() as conn:
            seq, event_hash, done = audit_store.head_and_last_checkpoint(conn)
            if seq == 0 or done >= seq:
                return None
            for due in range((done // every + 1) * every, seq, every):  # the head itself is signed below
                due_hash = audit_store.event_hash_at(conn, due)
                if due_hash is not None:  # a hole in the chain: verify reports it; never sign over it
                    checkpoint(conn, key, due, due_hash, now)
            signature = checkpoint(conn, key, seq, event_hash, now)
    except sa.exc.IntegrityError:
        return None  # another process signed the same head at the same moment: it is sealed
    entry = WitnessEntry(
        seq=seq,
        event_hash=event_hash,
        at_ms=now,
        key_id=key.key_id,
        signature=signature,
        store=store_id(store.url),
    )
    if witness is not None:
        append_entry(witness, entry, flush=flush)
    return entry


def signed_head(store: Store, key: AuditKey | None = None) -> WitnessEntry | None:
    """The newest checkpoint as a witness entry (None before the first one)."""
    with store.connect() as conn:
        row = audit_store.last_checkpoint(conn)
    if row is None:
        return None
    return WitnessEntry(
        seq=int(row["seq"]),
        event_hash=str(row["event_hash"]),
        at_ms=int(row["at_ms"]),
        key_id=str(row["key_id"]),
        signature=str(row["signature"]),
        store=store_id(store.url),
    )


def check_witness(
    store: Store, entries: Iterable[WitnessEntry], key: AuditKey | None, report: ChainReport
) -> int:
    """Add a problem to ``report`` for everything the witness contradicts; returns the entries checked."""
    checked, last_good = 0, 0
    with store.connect() as conn:
        head_seq, _ = audit_store.head(conn)
        stored = {int(r["seq"]): r for r in audit_store.list_checkpoints(conn)}
        for entry in entries:
            checked += 1
            if key is not None and not entry.signed_by(key):
                report.add(
                    entry.seq,
                    "witness",
                    f"witness line for seq {entry.seq} is not signed by key {key.key_id}",
                )
                continue
            actual = audit_store.event_hash_at(conn, entry.seq)
            if actual is None or entry.seq > head_seq:
                report.add(
                    min(entry.seq, head_seq + 1),
                    "witness",
                    f"the witness saw {entry.seq} events; the store's chain ends at {head_seq} (truncated)",
                )
            elif actual != entry.event_hash:
                report.add(
                    last_good + 1,
                    "witness",
                    f"the chain was rewritten between seq {last_good + 1} and {entry.seq}: event {entry.seq} "
                    "differs from the hash the witness holds",
                )
            elif entry.seq not in stored:
                report.add(
                    entry.seq,
                    "witness",
                    f"checkpoint {entry.seq} the witness holds was deleted from the store",
                )
            else:
                last_good = max(last_good, entry.seq)
    return checked


__all__ = [
    "WitnessEntry",
    "append_entry",
    "check_witness",
    "checkpoint_head",
    "default_witness_dir",
    "load_witness",
    "read_entries",
    "seal_head",
    "signed_head",
    "store_id",
    "witness_file",
]
