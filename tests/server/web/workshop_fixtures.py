"""A small workspace for the workshop tests, served by a real uvicorn: carol (contributor in one project,
so she may facilitate), dan (another contributor) and bob (viewer, who may not)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.server.web.conftest import serve

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token


@dataclass
class WorkshopServer:
    url: str
    ws: Workspace
    carol: str
    dan: str
    bob: str


def make_workspace(home: Path) -> tuple[Workspace, dict[str, str]]:
    ws = Workspace.open(
        f"sqlite:///{home / 'triops.db'}", artifact_root=home / "artifacts", settings=Settings(home=home)
    )
    now = utc_ms(ws.clock.now())
    tokens = {}
    owner = Principal.owner("admin")
    for user, role in (("carol", "contributor"), ("dan", "contributor"), ("bob", "viewer")):
        _, tokens[user] = ws.store.write(lambda conn, u=user: create_token(conn, u, "web", now))
        roles.grant(ws.store, owner, user, role, "alpha")
    return ws, tokens


@pytest.fixture(scope="module")
def workshop_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkshopServer]:
    ws, tokens = make_workspace(tmp_path_factory.mktemp("workshop"))
    server, thread, url = serve(ws, dev=False)
    yield WorkshopServer(url, ws, tokens["carol"], tokens["dan"], tokens["bob"])
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, timeout=120)


def csrf_of(html: str, name: str = "csrf") -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def login(url: str, token: str) -> httpx.Client:
    browser = client(url)
    page = browser.get("/login")
    done = browser.post("/login", data={"csrf": csrf_of(page.text), "token": token, "next": "/workshops"})
    assert done.status_code == 303, done.text
    return browser


def open_workshop(browser: httpx.Client, title: str = "Kick-off", **fields: str) -> str:
    page = browser.get("/workshops")
    assert page.status_code == 200, page.text
    form = {
        "csrf": csrf_of(page.text),
        "title": title,
        "level": "novice",
        "tool_scenarios": "1",
        "tool_simulation": "1",
        "questions": "3",
        **fields,
    }
    done = browser.post("/workshops", data=form)
    assert done.status_code == 303, done.text
    return done.headers["location"].rsplit("/", 1)[1]


def join(url: str, code: str, name: str) -> tuple[httpx.Client, str]:
    """A learner's browser that joined ``code`` as ``name``, and the learner's CSRF token."""
    learner = client(url)
    page = learner.get(f"/w?code={code}")
    form = {"csrf": csrf_of(page.text), "key": csrf_of(page.text, "key"), "code": code, "name": name}
    done = learner.post("/w/join", data=form)
    assert done.status_code == 303, done.text
    home = learner.get(done.headers["location"])
    assert home.status_code == 200, home.text
    return learner, csrf_of(home.text)
