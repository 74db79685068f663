"""Roles × operations × paths, walked from the one table in ``permission_matrix.py``: the SDK on SQLite and
PostgreSQL, the REST API over a real server, and the real ``triops`` console script in a subprocess (a
sample: one role that may, one that may not, and an unbound user, for each operation with a command).

A denial is ``PermissionDeniedError`` / 403 / exit 1 naming the permission; an object in a project the caller
cannot read is ``NotFoundError`` / 404. Anything else (success, a conflict, a gate) means the permission
check let the caller through, which is what the table says should happen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.governance.permission_matrix import (
    OPERATIONS,
    ROLES,
    Operation,
    allowed,
    cli_sample,
    seed,
    user_of,
)
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.errors import NotFoundError, PermissionDeniedError, TriopsError
from triops.governance.rbac import Permission
from triops.governance.roles import load_principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

# how the CLI words NotFound (exit 1 like every error): an absent object and an unreadable one alike
NOT_FOUND_PHRASES = ("does not exist", "is neither a pipeline run id", "no step run used or produced")


def expected(role: str, op: Operation) -> set[str]:
    if allowed(role, op.permission):
        return {"through"}
    return {"denied", "hidden"} if not allowed(role, Permission.PROJECT_READ) else {"denied"}


def classify_error(role: str, op: Operation, text: str, *, not_found: bool) -> str:
    if f"lacks permission '{op.permission.value}'" in text:
        return "denied"
    if not_found and not allowed(role, Permission.PROJECT_READ):
        return "hidden"
    return "through"


def sdk_outcome(ws: Workspace, op: Operation, role: str, seeded: object) -> str:
    try:
        op.sdk(ws, seeded)  # type: ignore[arg-type]
    except PermissionDeniedError as exc:
        return classify_error(role, op, str(exc), not_found=False)
    except NotFoundError as exc:
        return classify_error(role, op, str(exc), not_found=True)
    except TriopsError:
        return "through"  # a conflict, a gate, bad state: the permission check was passed
    return "through"


@pytest.fixture
def admin(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path))
    yield ws
    ws.close()


def test_the_sdk_obeys_the_matrix(admin: Workspace, tmp_path: Path) -> None:
    seeded = seed(admin)
    wrong, seen = [], []
    for role in ROLES:
        # in code, as the server does for a token's user (on a local store TRIOPS_USER names no one)
        with admin.store.connect() as conn:
            ws = admin.acting_as(load_principal(conn, user_of(role)))
        for op in OPERATIONS:
            got = sdk_outcome(ws, op, role, seeded)
            seen.append(got)
            if got not in expected(role, op):
                wrong.append((role, op.name, got))
    assert wrong == []
    assert len(ROLES) * len(OPERATIONS) >= 7 * 20  # the size of the walk, stated in the closing note
    assert seen.count("denied") >= 60 and seen.count("through") >= 40 and "hidden" in seen


def test_the_rest_api_obeys_the_matrix(sqlite_store_url: str, tmp_path: Path) -> None:
    ws = Workspace.open(
        sqlite_store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    seeded = seed(ws)
    now = utc_ms(ws.clock.now())
    tokens = {
        role: ws.store.write(lambda c, r=role: create_token(c, user_of(r), "t", now))[1] for role in ROLES
    }
    server, thread, url = start_server(ws)
    wrong, seen = [], []
    try:
        with httpx.Client(base_url=f"{url}/api/v1", timeout=60) as client:
            for role in ROLES:
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                for op in OPERATIONS:
                    if op.rest is None:
                        continue
                    method, path, body = op.rest(seeded)
                    answer = client.request(method, path, json=body, headers=headers)
                    assert answer.status_code < 500, (role, op.name, answer.text)
                    if answer.status_code in (403, 404):
                        got = classify_error(role, op, answer.text, not_found=answer.status_code == 404)
                    else:
                        got = "through"
                    seen.append(got)
                    if got not in expected(role, op):
                        wrong.append((role, op.name, answer.status_code, answer.text[:200]))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        ws.close()
    assert wrong == []
    assert seen.count("denied") >= 40 and seen.count("through") >= 30 and "hidden" in seen


def test_the_console_script_obeys_a_sample_of_the_matrix(sqlite_store_url: str, tmp_path: Path) -> None:
    """Each role's user runs `triops --store http://…` with their own token against a real server."""
    ws = Workspace.open(
        sqlite_store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    seeded = seed(ws)
    now = utc_ms(ws.clock.now())
    tokens = {
        role: ws.store.write(lambda c, r=role: create_token(c, user_of(r), "t", now))[1] for role in ROLES
    }
    server, thread, url = start_server(ws)
    script = shutil.which("triops", path=str(Path(sys.executable).parent)) or "triops"
    wrong, seen = [], []
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    for op, role in cli_sample():
        env = {
            **base,
            "TRIOPS_HOME": str(tmp_path / "client"),
            "TRIOPS_STORE_URL": url,
            "TRIOPS_TOKEN": tokens[role],
            "NO_COLOR": "1",
            "COLUMNS": "250",
        }
        args = [a.format(**seeded.extra) for a in op.cli or ()]  # "{run}": an id the seed made
        done = subprocess.run([script, *args], env=env, capture_output=True, text=True, timeout=300)
        if "Traceback" in done.stderr or "unexpected" in done.stderr:
            wrong.append((role, op.name, done.returncode, done.stderr[-600:]))
            continue
        if done.returncode == 0:
            got = "through"
        else:
            hidden = any(phrase in done.stderr for phrase in NOT_FOUND_PHRASES)
            got = classify_error(role, op, done.stderr, not_found=hidden)
        seen.append(got)
        if got not in expected(role, op):
            wrong.append((role, op.name, done.returncode, done.stderr[-300:]))
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()
    assert wrong == []
    assert seen.count("denied") >= 8 and seen.count("through") >= 4
