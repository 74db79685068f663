"""A real triops server over a test's store, and token-authenticated workspaces for its users.

On a local store the principal is the OS user (``TRIOPS_USER`` is only a display name), so a test that needs
a second person goes through a server, as a team does: each user holds a token, and the CLI or SDK acts as
that user with ``--store http://…`` / ``Workspace.open(url, token=…)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.store.repositories.tokens import create_token


@dataclass
class Served:
    """The server's URL and the workspace it serves (whose OS user is the store's admin)."""

    url: str
    admin: Workspace
    opened: list[Workspace] = field(default_factory=list)

    def token(self, user: str) -> str:
        """A fresh token for ``user`` (created if new), minted directly in the store as an operator would."""
        now = utc_ms(self.admin.clock.now())
        _, token = self.admin.store.write(lambda conn: create_token(conn, user, "test", now))
        return str(token)

    def as_user(self, user: str) -> Workspace:
        """``user``'s own workspace: the SDK over HTTP with their token (closed when the server stops)."""
        ws = Workspace.open(self.url, token=self.token(user))
        self.opened.append(ws)
        return ws


@contextmanager
def serve(admin: Workspace) -> Iterator[Served]:
    """Serve ``admin``'s store on a free loopback port for the block."""
    server, thread, url = start_server(admin)
    served = Served(url, admin)
    try:
        yield served
    finally:
        for ws in served.opened:
            ws.close()
        server.should_exit = True
        thread.join(timeout=10)
