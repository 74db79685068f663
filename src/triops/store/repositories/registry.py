"""Model registry SQL: models, versions, aliases, stages, evaluation records and model cards.

Plain reads and writes on a caller's connection; the service in ``triops.mlops.registry.service`` decides what is
allowed and appends the audit events in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, RowMapping

from triops.domain.records import StoredArtifact
from triops.store.tables import artifacts, projects
from triops.store.tables_registry import evaluations, model_aliases, model_cards, model_versions, models


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        # imported here: a SQLite process (every CLI command on a local store) never loads the dialect
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    return sqlite_insert(table)


def record_artifact(conn: Connection, stored: StoredArtifact, now_ms: int) -> None:
    stmt = _insert(conn, artifacts).values(
        sha256=stored.sha256, size=stored.size, media_type=stored.media_type, created_ms=now_ms
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["sha256"]))


def model_row(conn: Connection, name: str, *, lock: bool = False) -> RowMapping | None:
    query = sa.select(models).where(models.c.name == name)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


# The reads every registry request makes, built once: building a select costs more than running it.
_MODEL_WITH_PROJECT = (
    sa.select(models, projects.c.name.label("project_name"))
    .outerjoin(projects, projects.c.id == models.c.project_id)
    .where(models.c.name == sa.bindparam("name"))
)
_VERSION_WITH_ALIASES = (
    sa.select(model_versions, model_aliases.c.alias.label("alias_name"))
    .outerjoin(
        model_aliases,
        sa.and_(
            model_aliases.c.model_id == model_versions.c.model_id,
            model_aliases.c.version_id == model_versions.c.id,
        ),
    )
    .where(
        model_versions.c.model_id == sa.bindparam("model_id"),
        model_versions.c.version == sa.bindparam("version"),
    )
)


def model_with_project(conn: Connection, name: str) -> RowMapping | None:
    """The row of model ``name`` and, as ``project_name``, the name of its project (None: workspace-wide)."""
    return conn.execute(_MODEL_WITH_PROJECT, {"name": name}).mappings().first()


def version_with_aliases(
    conn: Connection, model_id: str, version: int
) -> tuple[RowMapping, list[str]] | None:
    """Version ``version`` of a model and the aliases that point at it, in one statement."""
    rows = conn.execute(_VERSION_WITH_ALIASES, {"model_id": model_id, "version": version}).mappings().all()
    if not rows:
        return None
    return rows[0], [str(r["alias_name"]) for r in rows if r["alias_name"] is not None]


def model_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(models.c.name).order_by(models.c.name)).scalars())


def create_model(conn: Connection, values: Mapping[str, Any]) -> None:
    stmt = _insert(conn, models).values(**values).on_conflict_do_nothing(index_elements=["name"])
    conn.execute(stmt)


def next_version(conn: Connection, model_id: str) -> int:
    latest = conn.execute(
        sa.select(sa.func.max(model_versions.c.version)).where(model_versions.c.model_id == model_id)
    ).scalar()
    return int(latest or 0) + 1


def insert_version(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(model_versions.insert().values(**values))


def version_row(conn: Connection, model_id: str, version: int) -> RowMapping | None:
    return (
        conn.execute(
            sa.select(model_versions).where(
                model_versions.c.model_id == model_id, model_versions.c.version == version
            )
        )
        .mappings()
        .first()
    )


def version_by_id(conn: Connection, version_id: str) -> RowMapping | None:
    return conn.execute(sa.select(model_versions).where(model_versions.c.id == version_id)).mappings().first()


def version_rows(conn: Connection, model_id: str) -> list[RowMapping]:
    query = (
        sa.select(model_versions)
        .where(model_versions.c.model_id == model_id)
        .order_by(model_versions.c.version)
    )
    return list(conn.execute(query).mappings())


def version_numbers(conn: Connection, model_id: str) -> list[int]:
    query = (
        sa.select(model_versions.c.version)
        .where(model_versions.c.model_id == model_id)
        .order_by(model_versions.c.version)
    )
    return [int(v) for v in conn.execute(query).scalars()]


def aliases(conn: Connection, model_id: str) -> dict[str, str]:
    """Alias → version id for one model."""
    query = (
        sa.select(model_aliases.c.alias, model_aliases.c.version_id)
        .where(model_aliases.c.model_id == model_id)
        .order_by(model_aliases.c.alias)
    )
    return {str(a): str(v) for a, v in conn.execute(query)}


def set_alias(conn: Connection, model_id: str, alias: str, version_id: str, now_ms: int, actor: str) -> None:
    stmt = _insert(conn, model_aliases).values(
        model_id=model_id, alias=alias, version_id=version_id, updated_ms=now_ms, updated_by=actor
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["model_id", "alias"],
        set_={"version_id": stmt.excluded.version_id, "updated_ms": now_ms, "updated_by": actor},
    )
    conn.execute(stmt)


def delete_alias(conn: Connection, model_id: str, alias: str) -> None:
    conn.execute(
        model_aliases.delete().where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
    )


_SET_STAGE = (
    model_versions.update()
    .where(
        model_versions.c.id == sa.bindparam("version_id"),
        model_versions.c.stage == sa.bindparam("expected"),
    )
    .values(stage=sa.bindparam("new_stage"))
)


def set_stage(conn: Connection, version_id: str, stage: str, *, expected: str) -> bool:
    """Move a version from stage ``expected`` to ``stage``; False (nothing written) when it is no longer in
    ``expected``: another writer moved it since it was read."""
    found = conn.execute(_SET_STAGE, {"version_id": version_id, "expected": expected, "new_stage": stage})
    return found.rowcount == 1


# The listing's statements are built once: building a statement with subqueries costs more than running it
# on a registry of a few hundred models.
_COUNTS = (
    sa.select(
        model_versions.c.model_id,
        sa.func.count().label("versions"),
        sa.func.max(model_versions.c.version).label("top"),
    )
    .group_by(model_versions.c.model_id)
    .subquery("counts")
)
_TOP = model_versions.alias("top_version")
_READABLE = models.c.project_id.in_(
    sa.select(projects.c.id).where(projects.c.name.in_(sa.bindparam("readable", expanding=True)))
)
_LISTING = (
    sa.select(
        models.c.id, models.c.name, models.c.description, _COUNTS.c.top, _COUNTS.c.versions, _TOP.c.stage
    )
    .select_from(
        models.outerjoin(_COUNTS, _COUNTS.c.model_id == models.c.id).outerjoin(
            _TOP, sa.and_(_TOP.c.model_id == models.c.id, _TOP.c.version == _COUNTS.c.top)
        )
    )
    .order_by(models.c.name)
)
_ALIASES = (
    sa.select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
    .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
    .join(models, models.c.id == model_aliases.c.model_id)
    .order_by(model_aliases.c.alias)
)
_LISTINGS = {False: (_LISTING, _ALIASES), True: (_LISTING.where(_READABLE), _ALIASES.where(_READABLE))}


def model_listing(
    conn: Connection, readable: Collection[str] | None = None
) -> tuple[list[tuple[Any, ...]], dict[str, dict[str, int]]]:
    """Every model by name, with its latest version number and stage and its number of versions, and the
    aliases of each (model id → alias → version): two queries whatever the number of models. ``readable``
    (project names, ``None`` = all) is part of both: a model of another project, or a workspace-wide one,
    is left out when it is given."""
    listing, alias_query = _LISTINGS[readable is not None]
    params = {} if readable is None else {"readable": sorted(readable)}
    rows = [tuple(r) for r in conn.execute(listing, params)]
    found: dict[str, dict[str, int]] = {}
    for model_id, alias, version in conn.execute(alias_query, params):
        found.setdefault(str(model_id), {})[str(alias)] = int(version)
    return rows, found


def insert_evaluation(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(evaluations.insert().values(**values))


def evaluation_rows(conn: Connection, version_ids: Sequence[str]) -> list[RowMapping]:
    """Evaluations and comparisons that involve any of ``version_ids``, newest first."""
    query = (
        sa.select(evaluations)
        .where(
            sa.or_(
                evaluations.c.model_version_id.in_(list(version_ids)),
                evaluations.c.compared_version_id.in_(list(version_ids)),
            )
        )
        .order_by(evaluations.c.created_ms.desc(), evaluations.c.id.desc())
    )
    return list(conn.execute(query).mappings())


# What a version's gates read, in one statement built once (every guarded change reads it): its latest
# evaluation (not a comparison) and its card's completeness.
_LATEST_EVALUATION_ID = (
    sa.select(evaluations.c.id)
    .where(evaluations.c.kind == "evaluation", evaluations.c.model_version_id == model_versions.c.id)
    .order_by(evaluations.c.created_ms.desc(), evaluations.c.id.desc())
    .limit(1)
    .correlate(model_versions)
    .scalar_subquery()
)
_GATE_FACT_ROWS = (
    sa.select(evaluations, model_cards.c.completeness.label("card_completeness"))
    .select_from(model_versions)
    .outerjoin(evaluations, evaluations.c.id == _LATEST_EVALUATION_ID)
    .outerjoin(model_cards, model_cards.c.model_version_id == model_versions.c.id)
    .where(model_versions.c.id == sa.bindparam("version_id"))
)


def latest_evaluation_and_card(conn: Connection, version_id: str) -> tuple[dict[str, Any] | None, Any]:
    """(the newest evaluation of the version, or None; its card's completeness, or None)."""
    row = conn.execute(_GATE_FACT_ROWS, {"version_id": version_id}).mappings().first()
    if row is None:
        return None, None
    found = dict(row)
    completeness = found.pop("card_completeness")
    return (found if found["id"] is not None else None), completeness


def card_row(conn: Connection, version_id: str) -> RowMapping | None:
    return (
        conn.execute(sa.select(model_cards).where(model_cards.c.model_version_id == version_id))
        .mappings()
        .first()
    )


def upsert_card(conn: Connection, version_id: str, values: Mapping[str, Any]) -> None:
    stmt = _insert(conn, model_cards).values(model_version_id=version_id, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["model_version_id"], set_=dict(values))
    conn.execute(stmt)
