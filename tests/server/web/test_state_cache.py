"""Page values kept per store state: reused while nothing was written, recomputed after any committed write
(by another connection pool, as another process would, or by the same one), per principal; a store that
cannot tell its version is never cached. The scorecard, projects and governance pages read through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from triops.governance.rbac import Principal
from triops.server.web.state_cache import StateCache, principal_key
from triops.store.engine import Store, create_store
from triops.store.repositories.runs import ensure_project

NOW = 1_790_000_000_000


@pytest.fixture
def cache(store: Store) -> Iterator[StateCache]:
    found = StateCache(store)
    yield found
    found.close()


def test_a_value_is_recomputed_only_after_a_write(cache: StateCache, store: Store) -> None:
    computed: list[int] = []

    def compute() -> int:
        computed.append(len(computed) + 1)
        return computed[-1]

    # PostgreSQL's version is the cluster's WAL position: writes to other databases of a shared cluster
    # also move it (a recompute, never a stale value), so only SQLite can promise each hit here
    kept = store.dialect == "sqlite"
    first = cache.get("board", compute)
    assert cache.get("board", compute) == first or not kept
    other = create_store(store.url)  # another engine: another process's connections
    try:
        before = len(computed)
        other.write(lambda conn: ensure_project(conn, "elsewhere", NOW))
    finally:
        other.dispose()
    assert cache.get("board", compute) == before + 1 == len(computed)
    before = len(computed)
    store.write(lambda conn: ensure_project(conn, "here", NOW))
    after_write = cache.get("board", compute)
    assert after_write == before + 1
    if kept:
        assert cache.get("board", compute) == after_write and cache.get("another key", compute) == 4
        assert (cache.hits, cache.misses) == (2, 4)


def test_an_in_memory_store_is_never_cached() -> None:
    store = create_store("sqlite://")
    try:
        cache = StateCache(store)
        assert cache.get("k", lambda: 1) == 1 and cache.get("k", lambda: 2) == 2
        assert cache.version() is None and cache.hits == 0
    finally:
        store.dispose()


def test_principals_with_other_roles_have_other_keys() -> None:
    owner, viewer = Principal.owner("ann"), Principal("ann", {})
    assert principal_key(owner) != principal_key(viewer)
