"""Every request that may have written audit events ends with a signed head of the chain, copied to the
witness (``Workspace.checkpoint_audit``): the server seals its log as the CLI and the SDK do."""

from __future__ import annotations

import logging

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger("triops.server")


class AuditCheckpoint:
    """After a write request (any method but GET/HEAD/OPTIONS) sign the audit head; reads cost nothing."""

    def __init__(self, app: ASGIApp, workspace: object) -> None:
        self.app = app
        self.workspace = workspace

    def _seal(self) -> None:
        self.workspace.checkpoint_audit(unsigned=True)  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope.get("method") not in READ_ONLY:
                try:
                    # the check is one indexed read, cheaper on the loop than the hop to a worker thread
                    # (a third of this middleware's cost); only signing (key file, witness) needs the thread
                    if self.workspace.audit_unsigned():  # type: ignore[attr-defined]
                        await anyio.to_thread.run_sync(self._seal)
                except Exception:  # the response is gone; the next request or `audit seal` retries
                    log.exception("could not sign the audit head after %s %s", scope["method"], scope["path"])
