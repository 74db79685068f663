"""``ws.runs``: reading tracked runs (get, search, metric history), checked against the projects the
acting principal may read. A local store puts the readable projects into the search query, so a page never
counts a hidden run; a run in an unreadable project is NotFound, indistinguishable from an absent one.
A remote workspace leaves the check to the server, which does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from triops.domain.filters import MAX_ORDER_KEYS, parse_orderings
from triops.domain.records import Metric, Run
from triops.domain.validation import MAX_SEARCH_LIMIT, check_int64, check_project_name
from triops.domain.wire import run_to_wire
from triops.errors import InvalidInputError, NotFoundError
from triops.mlops.tracking.queries import children_filter
from triops.mlops.tracking.sinks import StoreTrackingSink, TrackingSink


class RunQueries:
    """``ws.runs``: find and read runs, only in projects the acting principal may read."""

    def __init__(
        self, sink: TrackingSink, readable: Callable[[], Collection[str] | None] | None = None
    ) -> None:
        self._sink = sink
        # the projects the acting principal may read (None: all); a local store puts them into the query
        self._readable = readable

    def get(self, run_id: str) -> Run:
        """The run ``run_id``; a run in a project you cannot read is NotFound, as if it did not exist."""
        run = self._sink.get_run(run_id)
        readable = None if self._readable is None else self._readable()
        if readable is not None and run.project not in readable:
            raise NotFoundError(f"run {run_id!r} does not exist", hint="list runs with `triops runs list`")
        return run

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        """The runs ``run_ids`` (each once, in the order given), read together; NotFound as :meth:`get`
        names the first that does not exist or that you cannot read."""
        ids = list(dict.fromkeys(run_ids))
        sink = self._sink
        if not isinstance(sink, StoreTrackingSink):
            return [self.get(i) for i in ids]
        found = {r.id: r for r in sink.get_runs(ids)}
        readable = None if self._readable is None else self._readable()
        for i in ids:
            if i not in found or (readable is not None and found[i].project not in readable):
                raise NotFoundError(f"run {i!r} does not exist", hint="list runs with `triops runs list`")
        return [found[i] for i in ids]

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
        self.get(run_id)  # NotFound unless its project is readable
        return self._sink.metric_history(run_id, key)

    def metric_histories(self, run_id: str, keys: Sequence[str]) -> dict[str, list[Metric]]:
        """The history of each of ``keys`` (one read check for all, as a page of charts needs)."""
        run = self.get(run_id)  # NotFound unless its project is readable
        return self.histories_of([run], keys)[run.id]

    def histories_of(self, runs: Sequence[Run], keys: Sequence[str]) -> dict[str, dict[str, list[Metric]]]:
        """The history of each of ``keys`` in each of ``runs`` (as read with :meth:`get`; their projects are
        checked again): run id to key to points, every key present. One query on a local store."""
        readable = None if self._readable is None else self._readable()
        hidden = [r.id for r in runs if readable is not None and r.project not in readable]
        if hidden:
            raise NotFoundError(f"run {hidden[0]!r} does not exist", hint="list runs with `triops runs list`")
        ids = list(dict.fromkeys(r.id for r in runs))
        sink = self._sink
        if isinstance(sink, StoreTrackingSink):
            found = sink.metric_histories(ids, keys)
        else:
            found = {i: {key: sink.metric_history(i, key) for key in keys} for i in ids}
        return {i: {key: found.get(i, {}).get(key, []) for key in keys} for i in ids}
