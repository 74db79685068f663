"""Page values kept while the store is unchanged: the scorecard (every project's KPIs), the audit chain's
verification and the compliance report are recomputed only after a write.

The store's version is read *before* a value is computed and stored beside it; a view whose version
differs recomputes. A version changes on every committed write by any connection or process:

- SQLite: ``PRAGMA data_version`` on one connection of this cache's own that never writes (SQLite changes
  it whenever another connection commits, in this process or another one);
- PostgreSQL: the server's WAL insert position (``pg_current_wal_insert_lsn()``), which every committed
  write advances (so do writes to other databases of the cluster: they only cost a recompute).

A store whose version cannot be read (an in-memory SQLite, a PostgreSQL that refuses the function) is
never cached. Values also expire after ``max_age_s`` and are keyed by the UTC day, since some depend on the
clock (a budget's current period). Keys name the acting principal and its roles: the same state reads
differently for different people.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, TypeVar

from triops.governance.rbac import Principal
from triops.store.engine import Store

T = TypeVar("T")
MAX_AGE_S = 60.0
MAX_ITEMS = 256


class StateCache:
    def __init__(self, store: Store, *, max_age_s: float = MAX_AGE_S, max_items: int = MAX_ITEMS) -> None:
        self.store = store
        self.max_age_s = max_age_s
        self.max_items = max_items
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._unversioned = False

    def version(self) -> Hashable | None:
        """The store's current version, or None when it cannot be told (then nothing is cached)."""
        if self._unversioned:
            return None
        try:
            if self.store.dialect == "sqlite":
                return self._sqlite_version()
            if self.store.dialect == "postgresql":
                with self.store.connect() as conn:
                    return str(conn.exec_driver_sql("SELECT pg_current_wal_insert_lsn()").scalar())
        except Exception:  # a store that cannot tell its version is read uncached, never wrongly cached
            self._unversioned = True
            return None
        self._unversioned = True
        return None

    def _sqlite_version(self) -> Hashable | None:
        path = self.store.engine.url.database
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            self._unversioned = True
            return None
        with self._lock:
            if self._sqlite is None:
                self._sqlite = sqlite3.connect(
                    f"file:{path}?mode=rw", uri=True, check_same_thread=False, isolation_level=None
                )
            found = self._sqlite.execute("PRAGMA data_version").fetchone()
        return int(found[0])

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept for ``key`` at the store's current version, else ``compute()`` kept for it."""
        version = self.version()
        if version is None:
            return compute()
        now = time.monotonic()
        full_key = (key, datetime.now(UTC).date())
        with self._lock:
            found = self._items.get(full_key)
            if found is not None and found[0] == version and now - found[1] < self.max_age_s:
                self._items.move_to_end(full_key)
                self.hits += 1
                value: T = found[2]
                return value
        value = compute()
        with self._lock:
            self.misses += 1
            self._items[full_key] = (version, now, value)
            self._items.move_to_end(full_key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return value

    def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None


def principal_key(principal: Principal) -> Hashable:
    """Who reads: the principal's name and roles (the same state reads differently per person)."""
    roles = tuple(
        sorted(
            (str(project), tuple(sorted(str(r) for r in held))) for project, held in principal.roles.items()
        )
    )
    return (principal.name, roles)


def state_cache(request: Any) -> StateCache:
    """The server's cache over its workspace's store (one per app)."""
    state = request.app.state
    found: StateCache | None = getattr(state, "web_state_cache", None)
    if found is None:
        found = state.web_state_cache = StateCache(state.workspace.store)
    return found


__all__ = ["StateCache", "principal_key", "state_cache"]
