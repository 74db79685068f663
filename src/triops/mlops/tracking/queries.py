"""``ws.runs``: finding and reading runs through a workspace's tracking sink (the acting principal's readable
projects are part of the query on a local store), and child runs.

Child runs: MLflow lets a nested run's parent live in another experiment, and so does triops: a run may be
nested under any run the acting principal can read (``project.read`` in the parent's project), while starting
the child needs ``run.write`` in the child's own project. A parent that does not exist, or that the principal
cannot read, is reported as not existing (never a hint that it exists). A run is never its own ancestor (the
store refuses the link). Children are found with the ``parent_id`` filter attribute, e.g.
``ws.runs.search(filter="parent_id = '…'")`` or ``ws.runs.children(run_id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from triops.domain.filters import MAX_ORDER_KEYS, parse_orderings
from triops.domain.records import Metric, Run
from triops.domain.validation import MAX_SEARCH_LIMIT, check_int64, check_project_name
from triops.domain.wire import run_to_wire
from triops.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from triops.mlops.tracking.sinks import StoreTrackingSink, TrackingSink

PARENT_FIELD = "parent_id"


def parent_id_of(parent: Any) -> str:
    """The run id of ``parent``: an ``ActiveRun``, a ``Run`` or a run id."""
    if isinstance(parent, str):
        if not parent.strip():
            raise InvalidInputError(
                "parent: an empty run id",
                hint="pass the parent run, or its id",
                detail={"field": PARENT_FIELD},
            )
        return parent
    from triops.mlops.tracking.active_run import ActiveRun

    if isinstance(parent, Run | ActiveRun):
        return parent.id
    raise InvalidInputError(
        f"parent: {type(parent).__name__} is not a run",
        hint="pass the parent's ActiveRun (from ws.start_run), its Run record, or its run id",
        detail={"field": PARENT_FIELD},
    )


def readable_parent(
    can_read: Callable[[str], bool], get_run: Callable[[str], Run], parent_id: str, where: str
) -> Run:
    """The parent run ``parent_id`` if ``can_read`` its project (the acting principal's ``project.read``);
    otherwise NotFound naming ``where``."""
    try:
        found: Run | None = get_run(parent_id)
    except (NotFoundError, PermissionDeniedError):  # a server may answer 403 for a run it hides
        found = None
    if found is None or not can_read(found.project):
        raise NotFoundError(
            f"{where}: parent run {parent_id!r} does not exist",
            hint="nest the run under a run you can read (`triops runs list`)",
            detail={"field": where},
        )
    return found


def children_filter(run_id: str) -> str:
    """The search filter of the runs nested directly under ``run_id``."""
    return "parent_id = '" + run_id.replace("'", "''") + "'"


class RunQueries:
    """``ws.runs``: find and read runs."""

    def __init__(
        self, sink: TrackingSink, readable: Callable[[], Collection[str] | None] | None = None
    ) -> None:
        self._sink = sink
        # the projects the acting principal may read (None: all); a local store puts them into the query
        self._readable = readable

    def get(self, run_id: str) -> Run:
        return self._sink.get_run(run_id)

    def search(
        self,
        project: str | None = None,
        filter: str = "",
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        offset: int = 0,
        after: tuple[int, str] | None = None,
    ) -> list[Run]:
        """Runs matching ``filter``, ordered by ``order_by`` then newest first. ``after`` = (start ms, id) of
        the last run of the previous page walks pages by key (stable; the default order only, local stores)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidInputError(
                f"limit {limit!r} is out of range", hint=f"use 1 <= limit <= {MAX_SEARCH_LIMIT}"
            )
        if check_int64(offset, "offset") < 0:
            raise InvalidInputError(f"offset {offset} is negative", hint="use offset >= 0")
        if project is not None:
            check_project_name(project)
        orders = list(order_by or [])
        if len(orders) > MAX_ORDER_KEYS:
            parse_orderings(orders)  # refuses it, naming the limit, before anything is sent
        if after is not None and orders:
            raise InvalidInputError(
                "after= pages the default order only", hint="drop order_by, or use offset="
            )
        readable = None if self._readable is None else self._readable()
        if after is None and readable is None:
            return self._sink.search(project, filter, orders, limit, offset)
        search: Any = self._sink.search  # a local sink: keyset paging and the readable projects in SQL
        return list(search(project, filter, orders, limit, offset, after, readable))

    def search_wire(
        self, project: str | None, filter: str, limit: int, after: tuple[int, str] | None
    ) -> list[dict[str, Any]]:
        """``search(project, filter, limit=limit, after=after)`` in the JSON wire form (``run_to_wire``), for
        the server's listings: a local store builds it straight from the rows."""
        sink = self._sink
        if not isinstance(sink, StoreTrackingSink):
            found = self.search(project, filter, limit=limit, after=after)
            return [run_to_wire(r.to_dict()) for r in found]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidInputError(
                f"limit {limit!r} is out of range", hint=f"use 1 <= limit <= {MAX_SEARCH_LIMIT}"
            )
        if project is not None:
            check_project_name(project)
        readable = None if self._readable is None else self._readable()
        return sink.search_wire(project, filter, limit, after, readable)

    def children(self, run_id: str, limit: int = 1000) -> list[Run]:
        """The runs nested directly under ``run_id`` that you can read, newest first."""
        return self.search(filter=children_filter(run_id), limit=limit)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._sink.metric_history(run_id, key)


__all__ = ["PARENT_FIELD", "RunQueries", "children_filter", "parent_id_of", "readable_parent"]
