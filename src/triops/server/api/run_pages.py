"""``GET /runs``: every run of a project (or of the projects you can read), newest first, page by page.

The cursor holds the (start time, id) of the last run served and the next page is read by that key in
the database (``ws.runs.search(after=…)``), so walking 100,000 runs costs the same per page at the end as
at the start and runs logged meanwhile never shift a page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from triops.errors import InvalidInputError
from triops.server.authz import ActingDep, readable
from triops.server.http import PROBLEMS, SafeJSONResponse
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut
from triops.server.schemas import ProjectName
from triops.workspace import Workspace

router = APIRouter(tags=["runs"], responses=PROBLEMS)
FilterQuery = Annotated[str, Query(max_length=4000, description="search filter (docs/tracking.md)")]


@router.get("/runs", response_model=PageOut)
def list_runs(
    ws: ActingDep,
    project: ProjectName | None = None,
    filter: FilterQuery = "",
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> SafeJSONResponse:
    """Runs newest first (start time, then id), filtered with the search language; in projects you can
    read. (The page is written straight to JSON: FastAPI's encoder would cost more than the query.)"""
    if project is not None:
        readable(ws, project, f"project {project!r}")
    page = runs_page(ws, Listing.of("runs", project=project, filter=filter), project, filter, limit, cursor)
    return SafeJSONResponse(page)


def runs_page(
    ws: Workspace, listing: Listing, project: str | None, filter: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of runs newest first, read by key in the database; the acting workspace puts the readable
    projects into the query, so a page holds only visible runs and never hints at a hidden match."""
    after = listing.decode(cursor)
    key: tuple[int, str] | None = None
    if after is not None:
        if len(after) != 2 or not isinstance(after[0], int) or not isinstance(after[1], str):
            raise InvalidInputError(
                "invalid cursor: its key does not fit this listing", detail={"parameter": "cursor"}
            )
        key = (after[0], after[1])
    batch = ws.runs.search_wire(project, filter, limit + 1, key)
    out = batch[:limit]
    next_cursor = None
    if len(batch) > limit:
        last = batch[limit - 1]
        # start times are whole milliseconds: round, never truncate, the float the ISO text gives back
        start_ms = round(datetime.fromisoformat(last["start_time"]).timestamp() * 1000)
        next_cursor = listing.encode([start_ms, last["id"]])
    return {"items": out, "next_cursor": next_cursor}
