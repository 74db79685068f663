"""The tamper-evident audit log: signed checkpoints (Ed25519), verification and JSON Lines export.

Every ``every`` events (default 1,000) the hash of the event at that sequence number is signed with an
Ed25519 key kept *outside* the database and outside ``TRIOPS_HOME`` (``settings.audit_key_path`` or
``~/.config/triops/keys/audit_ed25519``, mode 0600) and stored as a checkpoint. ``verify`` re-hashes the whole chain, checks each checkpoint's
signature against the key file and reports the first bad sequence number: a modified, deleted, inserted or
reordered event, a chain rewritten up to a checkpoint, or a tail truncated after one.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Connection

from triops.domain.audit_chain import (
    AuditEvent,
    ChainReport,
    canonical_json,
    check_tail,
    checkpoint_payload,
    merge_segments,
    verify_events,
    verify_segment,
)
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.errors import ConfigError, InvalidInputError
from triops.store import audit as audit_store
from triops.store import audit_workers
from triops.store.engine import Store, create_store

DEFAULT_EVERY = 1000
PARALLEL_MIN_EVENTS = 50_000  # a worker starts in ~60 ms of CPU: below this one process is as quick
MAX_WORKERS = 4
KEY_FILE_NAME = "audit_ed25519"


def default_key_path(home: Path, configured: Path | None = None) -> Path:
    """The configured key, else a key made before triops kept keys outside ``home`` (still honoured), else
    ``$XDG_CONFIG_HOME/triops/keys/audit_ed25519``: not next to the database it protects."""
    if configured is not None:
        return configured
    legacy = home / "keys" / KEY_FILE_NAME
    if legacy.exists():
        return legacy
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "triops" / "keys" / KEY_FILE_NAME


def _key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class AuditKey:
    """The checkpoint signing key (private, for sealing) or only its public half (for verifying)."""

    def __init__(
        self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None, path: Path | None = None
    ):
        self.public = public
        self.private = private
        self.path = path
        self.key_id = _key_id(public)

    @classmethod
    def load_or_create(cls, path: Path) -> AuditKey:
        """Load the private key at ``path``, creating it (mode 0600, directory 0700) if it does not exist."""
        if path.exists():
            return cls.load(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # written whole under a temporary name, then linked into place: a process or request thread that
        # loses the race to create it loads the winner's complete key instead of failing
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            os.link(tmp, path)
        except FileExistsError:
            return cls.load(path)
        finally:
            tmp.unlink(missing_ok=True)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        path.with_name(path.name + ".pub").write_bytes(public_pem)
        return cls(private.public_key(), private, path)

    @classmethod
    def load_cached(cls, path: Path) -> AuditKey:
        """``load_or_create``, parsed again only when the file changed (another inode, size or mtime): the
        server signs the head after every write request."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            cls.load_or_create(path)
            stat = path.stat()
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        found = _LOADED.get(path)
        if found is not None and found[0] == signature:
            return found[1]
        key = cls.load(path)
        _LOADED[path] = (signature, key)
        return key

    @classmethod
    def load(cls, path: Path) -> AuditKey:
        """Load a private key file, or a ``.pub`` public key file (verification only)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the audit key {path}: {exc}", hint="set TRIOPS_AUDIT_KEY_PATH to the key file"
            ) from exc
        try:
            if b"PUBLIC KEY" in data:
                public = serialization.load_pem_public_key(data)
                if not isinstance(public, Ed25519PublicKey):
                    raise ValueError("not an Ed25519 public key")
                return cls(public, None, path)
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError("not an Ed25519 private key")
        except ValueError as exc:
            raise ConfigError(
                f"{path} is not an Ed25519 key: {exc}", hint="point at the audit key file"
            ) from exc
        return cls(private.public_key(), private, path)

    def sign(self, payload: bytes) -> str:
        if self.private is None:
            raise ConfigError(
                "this audit key is public only; it can verify but not sign", hint="load the private key"
            )
        return self.private.sign(payload).hex()

    def verifies(self, payload: bytes, signature_hex: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature_hex), payload)
        except (InvalidSignature, ValueError):
            return False
        return True


_LOADED: dict[Path, tuple[tuple[int, int, int], AuditKey]] = {}


def checkpoint(conn: Connection, key: AuditKey, seq: int, event_hash: str, at_ms: int) -> str:
    """Sign and store the checkpoint of event ``seq``; returns the signature (hex)."""
    signature = key.sign(checkpoint_payload(seq=seq, event_hash=event_hash, at_ms=at_ms))
    audit_store.add_checkpoint(
        conn, seq=seq, event_hash=event_hash, at_ms=at_ms, key_id=key.key_id, signature=signature
    )
    return signature


def record(
    conn: Connection,
    key: AuditKey | None,
    *,
    every: int = DEFAULT_EVERY,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    project: str | None = None,
    at_ms: int | None = None,
) -> int:
    """Append an event; at each multiple of ``every`` sign a checkpoint in the same transaction."""
    when = time.time_ns() // 1_000_000 if at_ms is None else at_ms
    seq = audit_store.append_event(
        conn,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        project=project,
        at_ms=when,
    )
    if key is not None and key.private is not None and seq % every == 0:
        event_hash = audit_store.event_hash_at(conn, seq)
        if event_hash is not None:
            checkpoint(conn, key, seq, event_hash, when)
    return seq


def seal(store: Store, key: AuditKey, *, every: int = DEFAULT_EVERY, clock: Clock | None = None) -> list[int]:
    """Sign every checkpoint due (each multiple of ``every`` up to the head) that is not signed yet."""
    if every < 1:
        raise InvalidInputError(f"checkpoint interval {every} must be at least 1")
    now = utc_ms((clock or SystemClock()).now())
    signed: list[int] = []
    with store.begin() as conn:
        last_seq, _ = audit_store.head(conn)
        done = audit_store.last_checkpoint_seq(conn)
        for seq in range((done // every + 1) * every, last_seq + 1, every):
            event_hash = audit_store.event_hash_at(conn, seq)
            if event_hash is None:
                continue  # a hole in the chain: verify reports it; never sign over it
            checkpoint(conn, key, seq, event_hash, now)
            signed.append(seq)
    return signed


@dataclass
class VerifyReport:
    chain: ChainReport
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok

    @property
    def first_bad_seq(self) -> int | None:
        return self.chain.first_bad_seq

    def to_dict(self) -> dict[str, Any]:
        return {**self.chain.to_dict(), "warnings": list(self.warnings)}


def trusted_checkpoints(
    rows: Iterable[dict[str, Any]], key: AuditKey | None, report: ChainReport
) -> dict[int, str]:
    """Checkpoints whose signature the trusted key confirms; the others become problems."""
    pins: dict[int, str] = {}
    for row in rows:
        seq, event_hash = int(row["seq"]), str(row["event_hash"])
        if key is None:
            continue
        payload = checkpoint_payload(seq=seq, event_hash=event_hash, at_ms=int(row["at_ms"]))
        if row["key_id"] != key.key_id or not key.verifies(payload, str(row["signature"])):
            report.add(seq, "checkpoint", f"checkpoint {seq} is not signed by the audit key {key.key_id}")
            continue
        pins[seq] = event_hash
    return pins


def _verify_range(url: str, after_seq: int, up_to: int | None, pins: dict[int, str]) -> ChainReport:
    """One worker's share of a parallel verification: a segment read over its own connection."""
    store = create_store(url)
    try:
        with store.connect() as conn:
            rows = audit_store.iter_rows(conn, after_seq=after_seq, up_to=up_to)
            return verify_segment(rows, checkpoints=pins, start_seq=None, start_prev=None)
    finally:
        store.dispose()


def _verify_forked(
    url: str, bounds: list[int], ups: list[int | None], pins: dict[int, str]
) -> list[ChainReport]:
    """The segments of a PostgreSQL store, each in a forked worker that opens its own connections (fork
    starts them without importing anything again)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(len(bounds), mp_context=multiprocessing.get_context(method)) as pool:
        return list(pool.map(_verify_range, [url] * len(bounds), bounds, ups, [pins] * len(bounds)))


def _parallel_ok(store: Store) -> bool:
    return not (store.dialect == "sqlite" and (":memory:" in store.url or store.url.rstrip("/") == "sqlite:"))


def verify(
    store: Store, key: AuditKey | None, *, workers: int | None = None, parallel_min: int = PARALLEL_MIN_EVENTS
) -> VerifyReport:
    """Verify the stored chain against its hashes, its head and the signed checkpoints.

    Logs of ``parallel_min`` events or more are split into one segment a worker process (default: a
    worker a CPU, at most 4; on SQLite fresh interpreters, see store/audit_workers.py); the segments'
    boundaries are then checked like any other link.
    """
    workers = workers if workers is not None else min(os.cpu_count() or 1, MAX_WORKERS)
    with store.connect() as conn:
        rows = audit_store.list_checkpoints(conn)
        head_seq, _ = audit_store.head(conn)
        signatures = ChainReport()
        pins = trusted_checkpoints(rows, key, signatures)
        if workers < 2 or head_seq < parallel_min or not _parallel_ok(store):
            chain = verify_events(audit_store.iter_rows(conn), checkpoints=pins, head_seq=head_seq)
        else:
            chain = None
    if chain is None:
        bounds = [head_seq * i // workers for i in range(workers)]
        # the last segment is open-ended: rows past the head count
        ups: list[int | None] = [*bounds[1:], None]
        if store.dialect == "sqlite":
            path = store.engine.url.database or ""
            segments = audit_workers.verify_in_workers(path, list(zip(bounds, ups, strict=True)), pins)
        else:
            segments = _verify_forked(store.url, bounds, ups, pins)
        chain = check_tail(merge_segments(segments), pins, head_seq)
    for problem in signatures.problems:
        chain.add(problem.seq, problem.kind, problem.message)
    chain.checkpoints_checked = len(rows) if key is not None else 0
    if key is None and rows:
        first = int(rows[0]["seq"])
        chain.add(first, "key", f"{len(rows)} checkpoint signature(s) cannot be checked: no audit key found")
    return VerifyReport(chain, [])


def iter_export_lines(events: Iterable[AuditEvent]) -> Iterator[bytes]:
    for event in events:
        yield canonical_json(event.to_dict()) + b"\n"


def export_jsonl(store: Store, out: IO[bytes]) -> int:
    """Write every event as one canonical JSON object a line; returns the number written."""
    count = 0
    with store.connect() as conn:
        for line in iter_export_lines(audit_store.iter_events(conn)):
            out.write(line)
            count += 1
    return count


def read_jsonl(lines: Iterable[bytes | str]) -> Iterator[AuditEvent]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInputError(f"line {number} of the export is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInputError(f"line {number} of the export is not a JSON object")
        try:
            yield AuditEvent.from_dict(data)
        except InvalidInputError as exc:
            raise InvalidInputError(f"line {number} of the export: {exc.message}", hint=exc.hint) from exc


def verify_jsonl(path: Path) -> ChainReport:
    """Verify an exported JSON Lines file on its own (no store, no key)."""
    with path.open("rb") as fh:
        return verify_events(read_jsonl(fh))
