"""Search authorises before it pages (issue 13, item 3).

The oracle: a token that may read only project A searches for ``params.db_password = 'hunter2'`` with every
limit and offset, and walks ``GET /runs`` page by page. When a limit or offset was applied before the
readable-project filter, a hidden run in project B that matched left a hole in a page (an empty or short
page), which told the searcher the guess was right. Here every observation the searcher can make over HTTP
and through the SDK must be the same in a world where B's run exists and in one where it does not.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Permission, Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

FILTERS = [
    "params.db_password = 'hunter2'",
    "params.db_password = 'wrong'",
    "params.db_password LIKE 'hunt%'",
    "params.db_password IS NOT NULL",
    "",
]
LIMITS = [1, 2, 3, 10]
OFFSETS = [0, 1, 2, 3]


class World:
    """A server over a fresh SQLite store: project A (readable by the searcher) and, if ``secret``, a newer
    run in project B whose ``db_password`` is ``hunter2``."""

    def __init__(self, template: Path, root: Path, *, secret: bool) -> None:
        root.mkdir()
        shutil.copyfile(template, root / "store.db")
        self.ws = Workspace.open(
            f"sqlite:///{root / 'store.db'}", artifact_root=root / "artifacts", settings=Settings(home=root)
        )
        for name, password in [("a-old", "hunter2"), ("a-mid", "swordfish"), ("a-new", "hunter2")]:
            with self.ws.start_run("A", name=name) as run:
                run.log_param("db_password", password)
        with self.ws.start_run("B", name="b-public") as run:
            run.log_param("note", "nothing to see")
        if secret:
            for name in ("b-secret-1", "b-secret-2"):
                with self.ws.start_run("B", name=name) as run:
                    run.log_param("db_password", "hunter2")
        now = utc_ms(self.ws.clock.now())
        _, self.token = self.ws.store.write(lambda conn: create_token(conn, "eve", "t", now))
        roles.grant(self.ws.store, Principal.owner("admin"), "eve", "viewer", "A")
        self.server, self.thread, url = start_server(self.ws)
        self.base = f"{url}/api/v1"
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.remote = Workspace.open(url, token=self.token, settings=Settings(home=root))

    def close(self) -> None:
        self.remote.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.ws.close()

    def http_search(self) -> list[Any]:
        seen: list[Any] = []
        for text in FILTERS:
            for limit in LIMITS:
                for offset in OFFSETS:
                    body = {"filter": text, "limit": limit, "offset": offset}
                    answer = httpx.post(f"{self.base}/runs/search", json=body, headers=self.headers)
                    assert answer.status_code == 200, answer.text
                    seen.append((text, limit, offset, [r["name"] for r in answer.json()["runs"]]))
        return seen

    def http_walk(self, path: str, **params: Any) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            answer = httpx.get(f"{self.base}{path}", params=query, headers=self.headers)
            assert answer.status_code == 200, answer.text
            data = answer.json()
            pages.append([item["name"] for item in data["items"]])
            cursor = data["next_cursor"]
            if cursor is None:
                return pages

    def sdk_search(self, ws: Workspace) -> list[Any]:
        return [
            (text, limit, offset, [r.name for r in ws.runs.search(filter=text, limit=limit, offset=offset)])
            for text in FILTERS
            for limit in LIMITS
            for offset in OFFSETS
        ]


@pytest.fixture
def worlds(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[World, World]]:
    with_secret = World(sqlite_template, tmp_path / "with", secret=True)
    without = World(sqlite_template, tmp_path / "without", secret=False)
    yield with_secret, without
    with_secret.close()
    without.close()


def test_a_hidden_match_changes_no_page_over_http(worlds: tuple[World, World]) -> None:
    with_secret, without = worlds
    searched = with_secret.http_search()
    assert searched == without.http_search()
    # the searcher does see its own matches, so the comparison is not between two empty answers
    assert ("params.db_password = 'hunter2'", 1, 0, ["a-new"]) in searched
    assert ("params.db_password = 'hunter2'", 10, 0, ["a-new", "a-old"]) in searched
    for limit in (1, 2, 10):
        walked = with_secret.http_walk("/runs", limit=limit, filter="params.db_password = 'hunter2'")
        assert walked == without.http_walk("/runs", limit=limit, filter="params.db_password = 'hunter2'")
        assert [name for page in walked for name in page] == ["a-new", "a-old"]
        assert with_secret.http_walk("/runs", limit=limit) == without.http_walk("/runs", limit=limit)


def test_a_hidden_match_changes_nothing_the_sdk_sees(worlds: tuple[World, World]) -> None:
    with_secret, without = worlds
    # remote SDK over the real server
    assert with_secret.sdk_search(with_secret.remote) == without.sdk_search(without.remote)
    # local SDK acting as the same principal (a shared store opened directly)
    eve = Principal.from_bindings("eve", [("A", "viewer")])
    local_with, local_without = with_secret.ws.acting_as(eve), without.ws.acting_as(eve)
    assert with_secret.sdk_search(local_with) == without.sdk_search(local_without)
    keyset = local_with.runs.search(filter="params.db_password = 'hunter2'", limit=1, after=(2**62, "~"))
    assert [r.name for r in keyset] == ["a-new"]
    # the owner still sees everything: the condition is the principal's, not a blanket filter
    owner_view = [r.name for r in with_secret.ws.runs.search(filter="params.db_password = 'hunter2'")]
    assert owner_view == ["b-secret-2", "b-secret-1", "a-new", "a-old"]


def test_a_principal_without_any_readable_project_gets_empty_pages(worlds: tuple[World, World]) -> None:
    with_secret, _ = worlds
    nobody = with_secret.ws.acting_as(Principal.from_bindings("nobody", []))
    assert nobody.principal.projects_with(Permission.PROJECT_READ) == frozenset()
    assert nobody.runs.search(filter="params.db_password = 'hunter2'") == []


def test_projects_with_reads_global_and_project_bindings() -> None:
    assert Principal.owner("root").projects_with(Permission.PROJECT_READ) is None
    mixed = Principal.from_bindings("m", [("A", "viewer"), ("B", "approver"), (None, "finops")])
    assert mixed.projects_with(Permission.PROJECT_READ) is None  # finops reads everywhere
    scoped = Principal.from_bindings("s", [("A", "viewer"), ("B", "contributor")])
    assert scoped.projects_with(Permission.PROJECT_READ) == {"A", "B"}
    assert scoped.projects_with(Permission.RUN_WRITE) == {"B"}
    assert scoped.projects_with(Permission.AUDIT_READ) == frozenset()


def test_model_listing_reads_only_readable_projects(worlds: tuple[World, World]) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from triops.workspace.projects import project_id

    with_secret, _ = worlds
    ws = with_secret.ws
    x = np.array([[0.0], [1.0], [0.2], [0.9]])
    fitted = LogisticRegression().fit(x, [0, 1, 0, 1])
    for name, project in (("model-a", "A"), ("model-b", "B")):
        ws.models.register(
            name, fitted, git_commit=None, onnx=False, project_id=project_id(ws.store, project, ws.clock)
        )
    ws.models.register("model-global", fitted, git_commit=None, onnx=False)
    eve = ws.acting_as(Principal.from_bindings("eve", [("A", "viewer")]))
    assert [m["name"] for m in eve.models.list_models()] == ["model-a"]
    assert [m["name"] for m in ws.models.list_models()] == ["model-a", "model-b", "model-global"]
    listed = httpx.get(f"{with_secret.base}/models", headers=with_secret.headers).json()
    assert [m["name"] for m in listed["items"]] == ["model-a"]
    summary = next(m for m in ws.models.list_models() if m["name"] == "model-a")
    assert summary["versions"] == 1 and summary["latest_version"] == 1 and summary["aliases"] == {}
