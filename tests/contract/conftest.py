"""The platform contract suite's fixture: one SDK surface on three backends.

``platform`` is a workspace on local SQLite, on local PostgreSQL, or on a real triops server (uvicorn on a
free loopback port, over its own SQLite store) reached with ``Workspace.open("http://…", token=…)``. Every
test in the suite makes the same assertions on all three.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

PIPELINE_MODULES = ["tests.contract.contract_pipelines"]
USER = "carol"


def _local(url: str, home: Path) -> tuple[Workspace, Workspace]:
    """(the store opened directly, a view acting as ``USER`` in code, as the server acts for a token's user):
    the suite asserts the same acting user on all three backends."""
    ws = Workspace.open(url, artifact_root=home / "artifacts", settings=Settings(home=home))
    roles.bootstrap_owner(ws.store, USER)  # a shared store has no owner until one is made admin
    with ws.store.connect() as conn:
        return ws, ws.acting_as(roles.load_principal(conn, USER))


@pytest.fixture(params=["sqlite", "postgresql", "server"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param in ("sqlite", "postgresql"):
        fixture = "sqlite_store_url" if request.param == "sqlite" else "store_url_pg"
        ws, acting = _local(request.getfixturevalue(fixture), tmp_path)
        yield acting
        ws.close()
        return
    from tests.server.conftest import start_server

    home = tmp_path / "server"
    settings = Settings(home=home, server_pipeline_modules=PIPELINE_MODULES, data_roots=[tmp_path / "data"])
    server_ws = Workspace.open(
        request.getfixturevalue("sqlite_store_url"), artifact_root=home / "artifacts", settings=settings
    )
    _, token = server_ws.store.write(
        lambda conn: create_token(conn, USER, "contract", utc_ms(server_ws.clock.now()))
    )
    roles.grant(server_ws.store, Principal.owner("admin"), USER, "admin", None)
    server, thread, url = start_server(server_ws)
    client = Workspace.open(url, token=token, settings=Settings(home=tmp_path / "client"))
    yield client
    client.close()
    server.should_exit = True
    thread.join(timeout=10)
    server_ws.close()


@pytest.fixture
def store_url_pg(pg_schema_url: str) -> str:
    """The session's PostgreSQL schema, emptied for this test."""
    from tests.conftest import _truncate_all

    from triops.store.engine import create_store

    store = create_store(pg_schema_url)
    _truncate_all(store)
    store.dispose()
    return pg_schema_url
