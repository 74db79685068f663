"""Registry writes for models triops records but does not serialise (MLflow models): a model created
before its first version, descriptions, tags, and the project a workspace-wide model adopts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_registry import model_tags, model_versions, models


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


def rename_model(conn: Connection, model_id: str, new_name: str) -> None:
    conn.execute(models.update().where(models.c.id == model_id).values(name=new_name))


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


def set_tag(conn: Connection, model_id: str, version: int, key: str, value: str) -> None:
    where = (model_tags.c.model_id == model_id, model_tags.c.version == version, model_tags.c.key == key)
    conn.execute(model_tags.delete().where(*where))
    conn.execute(model_tags.insert().values(model_id=model_id, version=version, key=key, value=value))


def delete_tag(conn: Connection, model_id: str, version: int, key: str) -> bool:
    where = (model_tags.c.model_id == model_id, model_tags.c.version == version, model_tags.c.key == key)
    return bool(conn.execute(model_tags.delete().where(*where)).rowcount)


def tags(conn: Connection, model_id: str) -> dict[int, dict[str, str]]:
    """Tags by version (0: the registered model's own)."""
    out: dict[int, dict[str, str]] = {}
    rows = conn.execute(
        sa.select(model_tags.c.version, model_tags.c.key, model_tags.c.value)
        .where(model_tags.c.model_id == model_id)
        .order_by(model_tags.c.version, model_tags.c.key)
    )
    for version, key, value in rows:
        out.setdefault(int(version), {})[str(key)] = str(value)
    return out


__all__ = [
    "delete_tag",
    "latest_version_ms",
    "rename_model",
    "set_model_description",
    "set_model_project",
    "set_tag",
    "set_version_description",
    "tags",
    "version_count",
]
