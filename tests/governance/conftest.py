"""Governance fixtures: make sure the governance tables exist in the session's template stores.

Until the lead's migration includes ``triops.store.tables_governance`` the tables are created here
(``checkfirst``: a no-op once the migration creates them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from triops.store import tables_governance
from triops.store.engine import create_store

GOVERNANCE_TABLES = [t for t in vars(tables_governance).values() if hasattr(t, "c") and hasattr(t, "name")]


def _create(url: str) -> None:
    store = create_store(url)
    try:
        tables_governance.metadata.create_all(store.engine, tables=GOVERNANCE_TABLES, checkfirst=True)
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def pg_schema_url(pg_schema_url: str) -> str:
    _create(pg_schema_url)
    return pg_schema_url


@pytest.fixture(scope="session")
def sqlite_template(sqlite_template: Path) -> Path:
    _create(f"sqlite:///{sqlite_template}")
    return sqlite_template
