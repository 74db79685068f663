"""Identifiers: UUIDv7 strings (time-ordered, so ids sort by creation) and content hashes."""

from __future__ import annotations

import hashlib
import os
import threading
import time

# Random bits come from os.urandom read 4 KiB at a time (a pipeline makes several ids per step, and a
# system call each cost more than the rest of new_id); the pool is dropped in a forked child so parent and
# child never hand out the same bytes.
_POOL_SIZE = 4000
_pool = bytearray()
_pos = [0]
_lock = threading.Lock()


def _drop_pool() -> None:
    _pos[0] = _POOL_SIZE


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_pool)


def _random_80() -> int:
    with _lock:
        pos = _pos[0]
        if pos + 10 > len(_pool):
            _pool[:] = os.urandom(_POOL_SIZE)
            pos = 0
        _pos[0] = pos + 10
        return int.from_bytes(_pool[pos : pos + 10], "big")


def new_id(unix_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562) as a string: 48-bit millisecond time, version, 74 random bits."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = _random_80()
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
