"""Which project an object belongs to, so the server can check a permission where the object lives (and
answer 404 for an object in a project the caller cannot read). Also project ids by name."""

from __future__ import annotations

from triops.domain.clock import Clock, utc_ms
from triops.store.engine import Store
from triops.store.repositories import registry as registry_repo


def project_id(store: Store, name: str, clock: Clock) -> str:
    """The id of project ``name``, creating it on first use (as registering into it does)."""
    from triops.store.repositories.runs import ensure_project

    now = utc_ms(clock.now())
    return store.write(lambda conn: ensure_project(conn, name, now))


def model_project(store: Store, model: str) -> str | None:
    """The project of a registered model (None: a workspace-wide model, or no such model)."""
    with store.connect() as conn:
        row = registry_repo.model_with_project(conn, model)
    return None if row is None or row["project_name"] is None else str(row["project_name"])


__all__ = ["model_project", "project_id"]
