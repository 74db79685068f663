"""What SQLite says about a store file, with nothing but ``sqlite3`` imported: whether an error means a damaged
file, the one error triops raises for it, and the memory map every connection reads through.

Shared by the engine (``store/sqlite.py``) and the audit verification workers (``store/audit_workers.py``),
which are fresh interpreters that must start without SQLAlchemy.
"""

from __future__ import annotations

import sqlite3

from triops.errors import StoreCorruptError

# reads through the OS page cache shared by every connection and process (PRAGMA mmap_size)
MMAP_BYTES = 256 * 1024 * 1024
# SQLite's own words for a file that is not a database or whose pages are damaged
_CORRUPT_MARKERS = ("not a database", "malformed", "disk image", "corrupt")


def is_corruption(exc: BaseException) -> bool:
    """True when SQLite reports a file that is not a database or a damaged page."""
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, sqlite3.DatabaseError) or isinstance(orig, sqlite3.OperationalError):
        return False
    text = str(orig).lower()
    return any(marker in text for marker in _CORRUPT_MARKERS)


def corrupt_error(path: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"the store file {path} is damaged or is not a triops store (SQLite cannot read it); "
        "it was left untouched",
        hint="stop every triops process using it, move the file aside and restore it from a backup "
        "(`sqlite3 FILE .recover` may save what is readable)",
    )
