"""Dataset versions: register (the next version number of a name within a project), get, list, and the
quality-score trend the scorecard reads.

A version is stored as passed only when its quality result has no error-severity failure: the repository
refuses ``passed=True`` next to a failing quality result, so no caller can register bad data as good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.ids import new_id
from triops.errors import InvalidInputError, NotFoundError
from triops.store.tables import projects
from triops.store.tables_dataops import dataops_secrets
from triops.store.tables_dataops import dataset_versions as dv


@dataclass(frozen=True, slots=True)
class DatasetVersionRow:
    id: str
    project_id: str
    name: str
    version: int
    content_hash: str
    row_count: int
    source_uri: str | None
    schema: dict[str, str]
    profile: dict[str, Any] | None
    quality: dict[str, Any] | None
    score: float | None
    contract_id: str | None
    contract_version: str | None
    passed: bool
    run_id: str | None
    artifact_sha256: str | None
    created_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _row(r: Any) -> DatasetVersionRow:
    m = r._mapping
    return DatasetVersionRow(**{f: m[f] for f in DatasetVersionRow.__dataclass_fields__})


def insert_dataset_version(
    conn: Connection,
    *,
    project_id: str,
    name: str,
    content_hash: str,
    row_count: int,
    schema: Mapping[str, str],
    passed: bool,
    now_ms: int,
    profile: Mapping[str, Any] | None = None,
    quality: Mapping[str, Any] | None = None,
    score: float | None = None,
    contract_id: str | None = None,
    contract_version: str | None = None,
    source_uri: str | None = None,
    run_id: str | None = None,
    artifact_sha256: str | None = None,
) -> DatasetVersionRow:
    if (
        passed
        and quality is not None
        and (quality.get("passed") is False or int(quality.get("errors", 0)) > 0)
    ):
        raise InvalidInputError(
            f"dataset {name!r}: cannot register a version as passed when its check failed",
            hint="register it with passed=False, or fix the data and check again",
        )
    lock = sa.select(projects.c.id).where(projects.c.id == project_id)
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()  # serialise version numbering per project
    if conn.execute(lock).scalar() is None:
        raise NotFoundError(f"project id {project_id} does not exist", hint="create the project first")
    latest = conn.execute(
        sa.select(sa.func.max(dv.c.version)).where(dv.c.project_id == project_id, dv.c.name == name)
    ).scalar()
    values = {
        "id": new_id(now_ms),
        "project_id": project_id,
        "name": name,
        "version": int(latest or 0) + 1,
        "content_hash": content_hash,
        "row_count": row_count,
        "source_uri": source_uri,
        "schema": dict(schema),
        "profile": dict(profile) if profile is not None else None,
        "quality": dict(quality) if quality is not None else None,
        "score": score,
        "contract_id": contract_id,
        "contract_version": contract_version,
        "passed": passed,
        "run_id": run_id,
        "artifact_sha256": artifact_sha256,
        "created_ms": now_ms,
    }
    conn.execute(sa.insert(dv).values(**values))
    return DatasetVersionRow(**values)  # type: ignore[arg-type]


def get_dataset_version(
    conn: Connection, project_id: str, name: str, version: int | None = None
) -> DatasetVersionRow:
    """One version (the latest when ``version`` is None)."""
    query = sa.select(dv).where(dv.c.project_id == project_id, dv.c.name == name)
    query = (
        query.where(dv.c.version == version) if version is not None else query.order_by(dv.c.version.desc())
    )
    found = conn.execute(query.limit(1)).first()
    if found is None:
        known = list(
            conn.execute(
                sa.select(dv.c.version)
                .where(dv.c.project_id == project_id, dv.c.name == name)
                .order_by(dv.c.version)
            ).scalars()
        )
        what = f"dataset {name!r}" + (f" version {version}" if version is not None else "")
        hint = f"versions of {name!r}: {', '.join(map(str, known))}" if known else "register it first"
        raise NotFoundError(f"{what} does not exist", hint=hint)
    return _row(found)


def list_dataset_versions(
    conn: Connection, project_id: str, name: str | None = None
) -> list[DatasetVersionRow]:
    query = sa.select(dv).where(dv.c.project_id == project_id)
    if name is not None:
        query = query.where(dv.c.name == name)
    return [_row(r) for r in conn.execute(query.order_by(dv.c.name, dv.c.version))]


def quality_trend(conn: Connection, project_id: str, name: str) -> list[tuple[int, float | None, int]]:
    """(version, score, created_ms) of every version of ``name``, oldest first."""
    rows = conn.execute(
        sa.select(dv.c.version, dv.c.score, dv.c.created_ms)
        .where(dv.c.project_id == project_id, dv.c.name == name)
        .order_by(dv.c.version)
    )
    return [(int(v), None if s is None else float(s), int(t)) for v, s, t in rows]


MASKING_SALT = "masking-salt"


def masking_salt(conn: Connection, now_ms: int) -> bytes:
    """The workspace's salt for hashing masked cells: made once (32 random bytes), then read.

    It lives in the store, which only the workspace's owner (or, for a team, the server and its admins)
    can read; no API route returns it. Two writers racing to make it both end with the first one's salt."""
    import secrets

    found = conn.execute(
        sa.select(dataops_secrets.c.value).where(dataops_secrets.c.name == MASKING_SALT)
    ).scalar()
    if found is not None:
        return bytes(found)
    salt = secrets.token_bytes(32)
    insert = sa.insert(dataops_secrets).values(name=MASKING_SALT, value=salt, created_ms=now_ms)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        insert = pg_insert(dataops_secrets).values(name=MASKING_SALT, value=salt, created_ms=now_ms)
        conn.execute(insert.on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(
            sqlite_insert(dataops_secrets)
            .values(name=MASKING_SALT, value=salt, created_ms=now_ms)
            .on_conflict_do_nothing()
        )
    stored = conn.execute(
        sa.select(dataops_secrets.c.value).where(dataops_secrets.c.name == MASKING_SALT)
    ).scalar_one()
    return bytes(stored)
