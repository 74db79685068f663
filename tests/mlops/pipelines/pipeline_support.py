"""Fixtures for the pipeline tests: short names for the store fixtures of tests/conftest.py, and an
artifact store in a temporary directory. Test modules bind them with ``name = support.name``."""

from __future__ import annotations

from pathlib import Path

import pytest

from triops.artifacts import ArtifactStore
from triops.store.engine import Store


@pytest.fixture
def pstore(store: Store) -> Store:
    """A fresh store, on SQLite and on PostgreSQL."""
    return store


@pytest.fixture
def lite(sqlite_store: Store) -> Store:
    """A fresh SQLite store, for tests whose behaviour does not depend on the backend."""
    return sqlite_store


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")
