"""Identifiers: UUIDv7 strings (time-ordered, so ids sort by creation) and content hashes."""

from __future__ import annotations

import hashlib
import os
import time
import uuid


def new_id(unix_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562) as a string: 48-bit millisecond time, version, 74 random bits."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
