"""Registry writes for models triops records but does not serialise (MLflow models): a model created
before its first version, descriptions, and the project a workspace-wide model adopts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_registry import model_versions, models


def set_model_description(conn: Connection, model_id: str, text: str | None) -> None:
    conn.execute(models.update().where(models.c.id == model_id).values(description=text))


def set_version_description(conn: Connection, version_id: str, text: str | None) -> None:
    conn.execute(model_versions.update().where(model_versions.c.id == version_id).values(description=text))


def set_model_project(conn: Connection, model_id: str, project_id: str) -> None:
    conn.execute(
        models.update()
        .where(models.c.id == model_id, models.c.project_id.is_(None))
        .values(project_id=project_id)
    )


def version_count(conn: Connection, model_id: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(model_versions)
            .where(model_versions.c.model_id == model_id)
        ).scalar()
        or 0
    )


def latest_version_ms(conn: Connection, model_id: str) -> Any:
    return conn.execute(
        sa.select(sa.func.max(model_versions.c.created_ms)).where(model_versions.c.model_id == model_id)
    ).scalar()


__all__ = [
    "latest_version_ms",
    "set_model_description",
    "set_model_project",
    "set_version_description",
    "version_count",
]
