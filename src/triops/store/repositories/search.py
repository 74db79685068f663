"""Compiling a parsed run filter (``triops.domain.filters``) into SQLAlchemy expressions with bound
parameters: user text only ever reaches the database as a parameter value, never as SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from triops.domain.filters import BoolOp, Comparison, Field, Node, Not, OrderBy
from triops.domain.records import Run
from triops.store.repositories.run_loading import load_runs
from triops.store.repositories.search_plans import (
    ENTITY_TABLES,
    apply_op,
    choose_driver,
    conjuncts,
    text_order,
    without,
)
from triops.store.tables import latest_metrics, projects, runs

_ATTRIBUTE_COLUMNS = {
    "status": runs.c.status,
    "name": runs.c.name,
    "kind": runs.c.kind,
    "user": runs.c.user_name,
    "id": runs.c.id,
    "parent_id": runs.c.parent_id,
    "start_time": runs.c.start_ms,
    "end_time": runs.c.end_ms,
}


# values of an ordering param/tag read one by one before the rest is read in one query ordered by the value
_VALUE_STEPS = 8


def _exists(table: sa.Table, key: str, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    # correlated EXISTS probes the (run_id, key) primary key once per candidate run, so a query driven by an
    # ordering index can stop after ``limit`` rows instead of materialising every match
    return sa.exists().where(table.c.run_id == runs.c.id, table.c.key == key, *conditions)


def readable_project_ids(names: Collection[str]) -> Any:
    """A sub-select of the ids of the projects named ``names``: the readable-project condition of a listing."""
    return sa.select(projects.c.id).where(projects.c.name.in_(sorted(names)))


def _present(field: Field) -> ColumnElement[bool]:
    return _exists(ENTITY_TABLES[field.entity], field.key)


def compile_filter(node: Node | None, dialect: str) -> ColumnElement[bool]:
    if node is None:
        return sa.true()
    if isinstance(node, BoolOp):
        parts = [compile_filter(item, dialect) for item in node.items]
        return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.item, dialect))
    return _comparison(node, dialect)


def _comparison(node: Comparison, dialect: str) -> ColumnElement[bool]:
    field = node.field
    if field.entity == "attribute":
        column = _ATTRIBUTE_COLUMNS[field.key]
        if node.op == "is null":
            return column.is_(None)
        if node.op == "is not null":
            return column.is_not(None)
        return sa.and_(column.is_not(None), apply_op(column, node.op, node.value, dialect))
    if node.op == "is null":
        return sa.not_(_present(field))
    if node.op == "is not null":
        return _present(field)
    table = ENTITY_TABLES[field.entity]
    condition = apply_op(table.c.value, node.op, node.value, dialect)
    if field.entity == "metric":
        return _exists(table, field.key, table.c.is_nan == sa.false(), condition)
    return _exists(table, field.key, condition)


def _required(node: Node | None, field: Field) -> bool:
    """Whether every run the filter matches has ``field`` with a real (for metrics: non-NaN) value."""
    if isinstance(node, Comparison):
        return node.field == field and node.op not in ("is null", "is not null")
    if isinstance(node, BoolOp):
        if node.op == "and":
            return any(_required(item, field) for item in node.items)
        return all(_required(item, field) for item in node.items)
    return False


def _real_value(field: Field) -> ColumnElement[bool]:
    """The run has ``field`` with a value that sorts (for metrics: not NaN)."""
    if field.entity == "metric":
        return _exists(latest_metrics, field.key, latest_metrics.c.is_nan == sa.false())
    return _present(field)


def search_run_ids(
    conn: Connection,
    *,
    project: str | None,
    node: Node | None,
    order_by: Sequence[OrderBy],
    limit: int,
    offset: int = 0,
    after: tuple[int, str] | None = None,
    readable: Collection[str] | None = None,
    projects_in: Sequence[str] | None = None,
) -> list[str]:
    """Run ids matching ``node``, ordered by ``order_by`` then newest first. ``after`` (start ms, id) of the
    last run of a page gives the next page by key, not by offset (default order only). ``readable`` (project
    names; ``None`` = every project) is part of the query, so limit and offset count only visible runs.

    Ordered by a metric, param or tag, runs missing it (or with NaN) come last: the page is read from the runs
    that have it first (an inner join the (key, value) index can drive and stop early), then, if the page is
    not full, from the runs without it, so neither query sorts every run."""
    if readable is not None and not readable:
        return []
    scope = {"project": project, "readable": readable, "projects_in": projects_in}
    if not order_by:
        return _newest_first(conn, node, limit, offset, after, scope)
    first = order_by[0]
    by_metric = first.field.entity == "metric"
    base = _base_query(conn, project, node, after, readable, projects_in, project_index=not by_metric)
    if first.field.entity == "attribute" or (by_metric and _required(node, first.field)):
        query = _ordered(base, conn.dialect.name, node, order_by)
        return list(conn.execute(query.limit(limit).offset(offset)).scalars())
    has = _real_value(first.field)
    if by_metric:
        present = _ordered(base.where(has), conn.dialect.name, node, order_by, inner=first.field)
        found = list(conn.execute(present.limit(limit).offset(offset)).scalars())
        skip = 0
        if not found and offset:
            skip = max(offset - _count(conn, base.where(has)), 0)
    else:
        found, skip = _by_value(conn, first, node, order_by[1:], limit, offset, scope)
    if len(found) == limit or _required(node, first.field):
        return found
    rest = _base_query(conn, project, node, after, readable, projects_in, project_index=True)
    missing = _ordered(rest.where(sa.not_(has)), conn.dialect.name, node, order_by[1:])
    return found + list(conn.execute(missing.limit(limit - len(found)).offset(skip)).scalars())


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())


def _newest_first(
    conn: Connection,
    node: Node | None,
    limit: int,
    offset: int,
    after: tuple[int, str] | None,
    scope: dict[str, Any],
) -> list[str]:
    """The default order. A rare conjunct (see search_plans) drives the query; otherwise runs are read newest
    first from the (project, start, id) index until the page is full."""
    project, readable, projects_in = scope["project"], scope["readable"], scope["projects_in"]
    everything = _base_query(conn, project, None, after, readable, projects_in, project_index=True)
    driver = choose_driver(conn, node, everything, limit + offset)
    if driver is None:
        base = _base_query(conn, project, node, after, readable, projects_in, project_index=True)
    else:
        node = without(node, driver.conjunct) if driver.replaces else node
        # the project index must not drive this query: the driver's runs are fewer
        base = _base_query(conn, project, node, after, readable, projects_in, project_index=False)
        base = base.where(driver.condition)
    query = _ordered(base, conn.dialect.name, node, [])
    return list(conn.execute(query.limit(limit).offset(offset)).scalars())


def _by_value(
    conn: Connection,
    first: OrderBy,
    node: Node | None,
    then: Sequence[OrderBy],
    limit: int,
    offset: int,
    scope: dict[str, Any],
) -> tuple[list[str], int]:
    """Runs having the param or tag ``first`` orders by, one value at a time: each value's runs are a search
    with ``key = value`` added, in the remaining order, stopping once the page is full. A param with a few
    values shared by many runs (a model family) never sorts them all. After ``_VALUE_STEPS`` values (many
    small groups) one query ordered by the value reads the rest. Returns the runs and the part of ``offset``
    left for the runs without the key."""
    dialect = conn.dialect.name
    table = ENTITY_TABLES[first.field.entity]
    value = text_order(table.c.value, dialect)
    found: list[str] = []
    previous: str | None = None
    for _ in range(_VALUE_STEPS):
        pick = sa.select(sa.func.max(value) if first.descending else sa.func.min(value))
        pick = pick.where(table.c.key == first.field.key)
        if previous is not None:
            pick = pick.where(value < previous if first.descending else value > previous)
        current = conn.execute(pick).scalar()
        if current is None:
            return found, offset
        previous = current
        group = _and(node, Comparison(first.field, "=", current))
        if offset:
            scoped = _base_query(
                conn,
                scope["project"],
                group,
                None,
                scope["readable"],
                scope["projects_in"],
                project_index=True,
            )
            size = _count(conn, scoped)
            if size <= offset:
                offset -= size
                continue
        found += search_run_ids(
            conn, node=group, order_by=then, limit=limit - len(found), offset=offset, **scope
        )
        offset = 0
        if len(found) == limit:
            return found, 0
    assert previous is not None
    tail = _and(node, Comparison(first.field, "<" if first.descending else ">", previous))
    base = _base_query(
        conn, scope["project"], tail, None, scope["readable"], scope["projects_in"], project_index=True
    )
    query = _ordered(base, dialect, tail, [first, *then])
    more = list(conn.execute(query.limit(limit - len(found)).offset(offset)).scalars())
    if more or not offset:
        return found + more, 0
    return found, max(offset - _count(conn, base), 0)


def _and(node: Node | None, part: Comparison) -> Node:
    return part if node is None else BoolOp("and", (node, part))


def _base_query(
    conn: Connection,
    project: str | None,
    node: Node | None,
    after: tuple[int, str] | None,
    readable: Collection[str] | None,
    projects_in: Sequence[str] | None,
    *,
    project_index: bool,
) -> Any:
    query = sa.select(runs.c.id).where(compile_filter(node, conn.dialect.name))
    if readable is not None:
        query = query.where(runs.c.project_id.in_(readable_project_ids(readable)))
    if after is not None:
        start_ms, run_id = after
        query = query.where(
            sa.or_(runs.c.start_ms < start_ms, sa.and_(runs.c.start_ms == start_ms, runs.c.id < run_id))
        )
    if project is not None:
        # one value from a sub-select, not a join: the (project, start, id) index then gives the order, and a
        # query stops after ``limit`` matches instead of sorting every run of the project
        project_id = sa.select(projects.c.id).where(projects.c.name == project).scalar_subquery()
        # ordered by a metric, its (key, value) index should drive the query: the project
        # column is wrapped so that the planner does not pick the project index and sort every run instead
        column = runs.c.project_id if project_index else sa.func.coalesce(runs.c.project_id, "")
        query = query.where(column == project_id)
    elif projects_in is not None:  # several projects at once (an MLflow search over experiment ids)
        query = query.where(runs.c.project_id.in_(readable_project_ids(projects_in)))
    return query


def _ordered(
    query: Any, dialect: str, node: Node | None, order_by: Sequence[OrderBy], inner: Field | None = None
) -> Any:
    order: list[Any] = []
    for i, spec in enumerate(order_by):
        if spec.field.entity == "attribute":
            column: Any = _ATTRIBUTE_COLUMNS[spec.field.key]
            if not column.nullable:
                # never missing: no "missing last" term, so an index on the column can give the order
                order.append(column.desc() if spec.descending else column.asc())
                continue
            missing: Any = column.is_(None)
        else:
            table = ENTITY_TABLES[spec.field.entity].alias(f"order_{i}")
            on = sa.and_(table.c.run_id == runs.c.id, table.c.key == spec.field.key)
            column = table.c.value if spec.field.entity == "metric" else text_order(table.c.value, dialect)
            if spec.field == inner or _required(node, spec.field):
                # every match has the value: an inner join lets the (key, value) index drive the ordering;
                # the filter's own conditions on the key narrow the index range it reads
                pushed = [
                    apply_op(table.c.value, part.op, part.value, dialect)
                    for part in conjuncts(node)
                    if isinstance(part, Comparison)
                    and part.field == spec.field
                    and part.op not in ("is null", "is not null")
                ]
                if spec.field.entity == "metric":
                    pushed.append(table.c.is_nan == sa.false())
                query = query.join(table, sa.and_(on, *pushed))
                order.append(column.desc() if spec.descending else column.asc())
                continue
            query = query.outerjoin(table, on)
            missing = table.c.value.is_(None)
            if spec.field.entity == "metric":
                missing = sa.or_(missing, table.c.is_nan == sa.true())
        # missing values (and NaN) sort last whichever the direction
        order.append(sa.case((missing, 1), else_=0))
        order.append(column.desc() if spec.descending else column.asc())
    order.extend([runs.c.start_ms.desc(), runs.c.id.desc()])
    return query.order_by(*order)


def search_runs(
    conn: Connection,
    *,
    project: str | None,
    node: Node | None,
    order_by: Sequence[OrderBy],
    limit: int,
    offset: int = 0,
    after: tuple[int, str] | None = None,
    readable: Collection[str] | None = None,
) -> list[Run]:
    ids = search_run_ids(
        conn,
        project=project,
        node=node,
        order_by=order_by,
        limit=limit,
        offset=offset,
        after=after,
        readable=readable,
    )
    return load_runs(conn, ids)
