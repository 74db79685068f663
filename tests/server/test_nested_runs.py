"""Child runs: ``ws.start_run(parent=…)`` on a local store, over REST and through the remote SDK; who may nest
under what (a parent you cannot read does not exist; the child needs run.write in its own project); and the
CLI's ``runs list --parent`` (against the server) and ``runs show`` (on the store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import start_server
from typer.testing import CliRunner

from triops import Workspace
from triops.cli import context
from triops.cli.main import app
from triops.domain.clock import utc_ms
from triops.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.governance.roles import load_principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

runner = CliRunner()


@pytest.fixture
def world(sqlite_store_url: str, tmp_path: Path) -> Iterator[tuple[Workspace, str, str]]:
    """A store with runs in projects A and B; a server; bob's token (contributor in A only)."""
    ws = Workspace.open(
        sqlite_store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    roles.bootstrap_owner(ws.store, ws.settings.acting_user)
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, "bob", "t", now))
    roles.grant(ws.store, Principal.owner("admin"), "bob", "contributor", "A")
    server, thread, url = start_server(ws)
    yield ws, url, token
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def test_sdk_nests_runs_under_a_parent(world: tuple[Workspace, str, str]) -> None:
    ws, _, _ = world
    with ws.start_run("A", name="sweep") as parent:
        with ws.start_run(name="trial-1", parent=parent) as first:  # the parent's project by default
            pass
        second = ws.start_run("B", name="trial-2", parent=parent.info())  # any project, a Run record
        second.end()
        third = ws.start_run("A", name="trial-3", parent=parent.id)  # or its id
        third.end()
    assert first.project == "A" and ws.runs.get(first.id).parent_id == parent.id
    assert ws.runs.get(second.id).project == "B"
    assert [r.name for r in ws.runs.children(parent.id)] == ["trial-3", "trial-2", "trial-1"]
    found = ws.runs.search(project="A", filter=f"parent_id = '{parent.id}' and name != 'trial-1'")
    assert [r.name for r in found] == ["trial-3"]
    assert ws.runs.search(project="A", filter="parent_id is null")[0].id == parent.id
    assert ws.runs.get(parent.id).to_dict()["parent_id"] is None
    with pytest.raises(NotFoundError, match="parent run 'no-such-run' does not exist") as missing:
        ws.start_run("A", parent="no-such-run")
    assert missing.value.detail == {"field": "parent_id"}
    with pytest.raises(InvalidInputError, match="parent: int is not a run"):
        ws.start_run("A", parent=42)  # type: ignore[arg-type]


def test_who_may_nest_under_what_on_every_path(world: tuple[Workspace, str, str]) -> None:
    ws, url, token = world
    with ws.start_run("A", name="a-parent") as a_parent, ws.start_run("B", name="b-secret") as b_secret:
        pass
    with ws.store.connect() as conn:
        bob = ws.acting_as(load_principal(conn, "bob", "user"))
    # SDK on the store, acting as bob: a parent in a project he cannot read does not exist
    with pytest.raises(NotFoundError, match="does not exist"):
        bob.start_run("A", parent=b_secret.id)
    with pytest.raises(PermissionDeniedError, match=r"run\.write"):
        bob.start_run("B", parent=a_parent.id)
    local_child = bob.start_run("A", parent=a_parent.id)
    local_child.end()
    # REST: the same answers, and the run JSON carries the parent
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as http:
        hidden = http.post("/runs", json={"project": "A", "parent_id": b_secret.id})
        assert hidden.status_code == 404, hidden.text
        assert hidden.json()["errors"] == {"field": "parent_id"}
        assert http.post("/runs", json={"project": "B", "parent_id": a_parent.id}).status_code == 403
        created = http.post("/runs", json={"project": "A", "name": "rest-child", "parent_id": a_parent.id})
        assert created.status_code == 201, created.text
        assert created.json()["parent_id"] == a_parent.id
        assert http.get(f"/runs/{a_parent.id}").json()["parent_id"] is None
    # the remote SDK: the same surface as a local workspace
    with Workspace.open(url, token=token, settings=Settings(home=ws.settings.home)) as remote:
        with pytest.raises(NotFoundError):
            remote.start_run("A", parent=b_secret.id)
        with remote.start_run(name="remote-child", parent=a_parent.id) as remote_child:
            pass
        assert remote_child.project == "A" and remote_child.parent_id == a_parent.id
        names = [r.name for r in remote.runs.children(a_parent.id)]
        assert names == ["remote-child", "rest-child", local_child.name]
        assert remote.runs.get(remote_child.id).parent_id == a_parent.id


def test_cli_lists_children_and_shows_them(world: tuple[Workspace, str, str]) -> None:
    ws, url, token = world
    with ws.start_run("A", name="sweep") as parent:
        for i in range(2):
            ws.start_run(name=f"trial-{i}", parent=parent).end()
    ws.start_run("A", name="unrelated").end()
    # in-process through the console script's app (tests/cli/test_console_script.py runs the script itself)
    context.close_workspace()
    try:
        remote = ["--store", url, "--token", token, "runs"]
        listed = runner.invoke(
            app, [*remote, "list", "--parent", parent.id, "-f", "name != 'trial-0'", "--json"]
        )
        assert listed.exit_code == 0, listed.output
        assert [r["name"] for r in json.loads(listed.output)] == ["trial-1"]
        context.close_workspace()
        shown = runner.invoke(
            app, ["--store", ws.url, "runs", "show", parent.id[-10:]], env={"COLUMNS": "200"}
        )
        assert shown.exit_code == 0, shown.output
        assert "child runs" in shown.output
        assert "trial-0" in shown.output and "trial-1" in shown.output and "unrelated" not in shown.output
        as_json = runner.invoke(app, ["--store", ws.url, "runs", "show", parent.id, "--json"])
        assert len(json.loads(as_json.output)["children"]) == 2
    finally:
        context.close_workspace()
        context.STATE.store_url = None
