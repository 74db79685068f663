"""Fixtures for the pipeline tests: a store that has the pipeline tables, and an artifact store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from triops.artifacts import ArtifactStore
from triops.store import tables_pipelines
from triops.store.engine import Store, create_store

PIPELINE_TABLES = [
    tables_pipelines.pipeline_runs,
    tables_pipelines.step_runs,
    tables_pipelines.lineage_edges,
    tables_pipelines.cache_entries,
]


def ensure_pipeline_tables(store: Store) -> None:
    """No-op once the migrations carry these tables; until then, create them."""
    with store.begin() as conn:
        for table in PIPELINE_TABLES:
            table.create(conn, checkfirst=True)


@pytest.fixture(scope="session", autouse=True)
def pipeline_tables(pg_schema_url: str) -> None:
    store = create_store(pg_schema_url)
    ensure_pipeline_tables(store)
    store.dispose()


@pytest.fixture
def pstore(store: Store) -> Store:
    ensure_pipeline_tables(store)
    return store


@pytest.fixture
def lite(sqlite_store: Store) -> Store:
    ensure_pipeline_tables(sqlite_store)
    return sqlite_store


@pytest.fixture
def artifacts(tmp_path: Path) -> Iterator[ArtifactStore]:
    return ArtifactStore(tmp_path / "artifacts")
