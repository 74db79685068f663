"""Child runs: finding a parent (``ws.start_run(parent=…)``) the acting principal may read, and the filter of
the runs nested under one (``ws.runs`` itself is in run_queries.py).

Child runs: MLflow lets a nested run's parent live in another experiment, and so does triops: a run may be
nested under any run the acting principal can read (``project.read`` in the parent's project), while starting
the child needs ``run.write`` in the child's own project. A parent that does not exist, or that the principal
cannot read, is reported as not existing (never a hint that it exists). A run is never its own ancestor (the
store refuses the link). Children are found with the ``parent_id`` filter attribute, e.g.
``ws.runs.search(filter="parent_id = '…'")`` or ``ws.runs.children(run_id)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from triops.domain.records import Run
from triops.errors import InvalidInputError, NotFoundError, PermissionDeniedError

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


__all__ = ["PARENT_FIELD", "children_filter", "parent_id_of", "readable_parent"]
