"""Who a learner is on the workshop pages: the random key in the ``triops_learner`` cookie (HttpOnly,
SameSite=Strict, scoped to ``/w``), and the learner's own CSRF token on every form after joining.

Learners' requests take turns: at most ``LEARNER_TURNS`` of them run at once (the others wait on the event
loop, in order). A server process runs Python one thread at a time, and the thread that wants the
interpreter lock waits behind every other thread that wants it; with 40 learners' requests in 40 threads,
the projector's request waited behind all of them. The facilitator's pages take no turn.
"""

from __future__ import annotations

import asyncio
import hmac
import weakref
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from triops.server.web.core import CsrfRefused
from triops.workspace import Workspace
from triops.workspace.workshop import WorkshopService

LEARNER_COOKIE = "triops_learner"
LEARNER_TURNS = 4  # enough to overlap one learner's store commit with the others' work
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def turns() -> asyncio.Semaphore:
    """The learners' turns on this event loop (a semaphore belongs to one loop; tests run several)."""
    loop = asyncio.get_running_loop()
    found = _turns.get(loop)
    if found is None:
        found = _turns[loop] = asyncio.Semaphore(LEARNER_TURNS)
    return found


async def learner_turn() -> AsyncIterator[None]:
    """Hold one of the learners' turns for the whole request (a route dependency)."""
    async with turns():
        yield


LEARNER_TURN = Depends(learner_turn)


def service_of(request: Request) -> WorkshopService:
    ws: Workspace = request.app.state.workspace
    return WorkshopService(ws)


async def learner_form(request: Request) -> FormData:
    """The posted form, read on the event loop; the learner's pages are then plain functions, run in the
    server's threads, so their store reads and writes never hold up the event loop (and the projector)."""
    return await request.form()


LearnerFormDep = Annotated[FormData, Depends(learner_form)]


def check_csrf(given: str | None, expected: str | None) -> None:
    """403 (``CsrfRefused``) unless the posted token matches."""
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused


def learner_of(
    request: Request, service: WorkshopService, code: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(session, learner) of this browser; ``LookupError`` when it has not joined the workshop (404 when the
    code does not exist)."""
    session, learner = service.learner(code, request.cookies.get(LEARNER_COOKIE))
    if learner is None:
        raise LookupError(session["code"])
    return session, learner


__all__ = [
    "LEARNER_COOKIE",
    "LEARNER_TURN",
    "LearnerFormDep",
    "check_csrf",
    "learner_form",
    "learner_of",
    "learner_turn",
    "service_of",
    "turns",
]
