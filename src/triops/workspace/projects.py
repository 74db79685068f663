"""Which project an object belongs to, so the server can check a permission where the object lives (and
answer 404 for an object in a project the caller cannot read). Also project ids by name."""

from __future__ import annotations

from sqlalchemy.engine import Connection, RowMapping

from triops.domain.clock import Clock, utc_ms
from triops.store.engine import Store
from triops.store.repositories import registry as registry_repo


def project_id(store: Store, name: str, clock: Clock) -> str:
    """The id of project ``name``, creating it on first use (as registering into it does)."""
    from triops.store.repositories.runs import ensure_project

    now = utc_ms(clock.now())
    return store.write(lambda conn: ensure_project(conn, name, now))


def model_and_project(conn: Connection, model: str) -> tuple[RowMapping | None, str | None]:
    """The row of a registered model (None: no such model) and its project (None: workspace-wide, or no
    such model), in one statement."""
    row = registry_repo.model_with_project(conn, model)
    return row, None if row is None or row["project_name"] is None else str(row["project_name"])


def model_project(store: Store, model: str) -> str | None:
    """The project of a registered model (None: a workspace-wide model, or no such model)."""
    with store.connect() as conn:
        return model_and_project(conn, model)[1]


__all__ = ["model_and_project", "model_project", "project_id"]
