"""schemathesis over the whole OpenAPI document: every operation gets generated requests (valid and not) with
an admin's token, on SQLite; no answer may be a 5xx or break its documented schema. Bounded to a few
examples per operation so ``make test`` stays within minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.server.app import create_app
from triops.settings import Settings
from triops.store.engine import create_store
from triops.store.migrate import upgrade
from triops.store.repositories.tokens import create_token

MAX_EXAMPLES = 4


def _app(tmp: Path) -> tuple[object, str]:
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    store = create_store(url)
    upgrade(store)
    store.dispose()
    # simulations bounded small: the fuzz checks answers, not the simulator's speed (a request at the default
    # bound takes seconds, and generated requests sit at the bounds)
    settings = Settings(home=tmp, max_simulation_work=200_000)
    ws = Workspace.open(url, artifact_root=tmp / "artifacts", settings=settings)
    _, token = ws.store.write(lambda conn: create_token(conn, "fuzz", "fuzz", utc_ms(ws.clock.now())))
    roles.grant(ws.store, Principal.owner("root"), "fuzz", "admin", None)
    return create_app(ws, max_request_bytes=4 * 1024 * 1024), token


_TMP = Path(__import__("tempfile").mkdtemp(prefix="triops-fuzz-"))
APP, TOKEN = _app(_TMP)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    import shutil

    APP.state.workspace.close()  # type: ignore[attr-defined]
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx_or_breaks_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=120,  # the simulations are bounded but slow on a loaded 2-core machine; the check is 5xx
    )
