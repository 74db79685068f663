"""How a run search reads the store: the value comparisons it compiles to, and which conjunct of a filter
drives the query, chosen from counts the indexes answer at once.

Newest first, a search reads runs in (start, id) order from an index and probes each one's params, tags and
metrics, stopping after a page. That is cheap while matches are common and slow when they are rare: a filter
matching one run in 300 reads 30,000 runs for a page of 100. Neither SQLite (built without STAT4) nor a store
never ``ANALYZE``d knows how rare ``tags.team = 'x'`` is, so the search asks: each indexable conjunct's matches
are counted from its (key, value) index, stopping at ``COUNT_CAP``; when the rarest one has fewer matches than
the ordered read would visit (page size over the filter's estimated selectivity, conjuncts taken as
independent), the query starts from that conjunct's runs and sorts only those."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from triops.domain.filters import BoolOp, Comparison, Field, Node
from triops.store.tables import latest_metrics, params, runs, tags

# counts stop here: a conjunct matching more runs never drives a query (reading its runs would cost more
# than the ordered read it replaces), so counting further would only waste time
COUNT_CAP = 10_000
# the number of runs in scope is counted up to this many
SCOPE_CAP = 1_000_000
ENTITY_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}
_NAME = Field("attribute", "name")
_RANGE_OPS = ("=", "<", "<=", ">", ">=")


def text_order(column: Any, dialect: str) -> Any:
    # byte order on both backends, so results do not depend on the PostgreSQL database's locale
    return column.collate("C") if dialect == "postgresql" else column


def apply_op(column: Any, op: str, value: Any, dialect: str) -> ColumnElement[bool]:
    if isinstance(value, str) or (isinstance(value, tuple) and value and isinstance(value[0], str)):
        column = text_order(column, dialect)
    match op:
        case "=":
            return column == value  # type: ignore[no-any-return]
        case "!=":
            return column != value  # type: ignore[no-any-return]
        case "<":
            return column < value  # type: ignore[no-any-return]
        case "<=":
            return column <= value  # type: ignore[no-any-return]
        case ">":
            return column > value  # type: ignore[no-any-return]
        case ">=":
            return column >= value  # type: ignore[no-any-return]
        case "like":
            return column.like(value)  # type: ignore[no-any-return]
        case "ilike":
            return column.ilike(value)  # type: ignore[no-any-return]
        case "in":
            return column.in_(list(value))  # type: ignore[no-any-return]
        case "not in":
            return column.not_in(list(value))  # type: ignore[no-any-return]
    raise ValueError(op)  # pragma: no cover


def conjuncts(node: Node | None) -> list[Node]:
    if node is None:
        return []
    if isinstance(node, BoolOp) and node.op == "and":
        return [part for item in node.items for part in conjuncts(item)]
    return [node]


@dataclass(frozen=True)
class Driver:
    """The conjunct a query starts from: ``condition`` selects its runs through an index. ``replaces``: the
    condition is the conjunct itself (the rest of the filter is checked without it); otherwise it is a
    superset added beside it (a name range for a LIKE prefix)."""

    conjunct: Node
    condition: ColumnElement[bool]
    replaces: bool


@dataclass(frozen=True)
class _Candidate:
    part: Comparison
    rows: Any  # a SELECT of the index entries matching the conjunct
    condition: ColumnElement[bool]
    replaces: bool


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _name_range(pattern: str) -> tuple[str, str] | None:
    """The range of ASCII-case-folded names a LIKE/ILIKE ``pattern`` with a literal prefix can match."""
    prefix = re.split("[%_]", pattern, maxsplit=1)[0]
    if not prefix:
        return None
    low = "".join(c.lower() if "A" <= c <= "Z" else c for c in prefix)
    last = ord(low[-1]) + 1
    if 0xD800 <= last <= 0xDFFF or last > 0x10FFFF:
        return None
    return low, low[:-1] + chr(last)


def _candidate(part: Node, dialect: str) -> _Candidate | None:
    if not isinstance(part, Comparison):
        return None
    field, op, value = part.field, part.op, part.value
    if field.entity in ("param", "tag"):
        values = value if op == "in" and isinstance(value, tuple) else (value,)
        if op not in ("=", "in") or not all(isinstance(v, str) for v in values):
            return None
        table = ENTITY_TABLES[field.entity]
        matches = sa.and_(table.c.key == field.key, apply_op(table.c.value, op, value, dialect))
        return _Candidate(
            part,
            sa.select(sa.literal(1)).where(matches),
            runs.c.id.in_(sa.select(table.c.run_id).where(matches)),
            replaces=True,
        )
    if field.entity == "metric":
        if op not in _RANGE_OPS or not _is_number(value):
            return None
        table = latest_metrics
        # NaN is stored as 0 with a flag; the count (index only) may include it, the condition does not
        matches = sa.and_(table.c.key == field.key, apply_op(table.c.value, op, value, dialect))
        real = sa.and_(matches, table.c.is_nan == sa.false())
        return _Candidate(
            part,
            sa.select(sa.literal(1)).where(matches),
            runs.c.id.in_(sa.select(table.c.run_id).where(real)),
            replaces=True,
        )
    if field == _NAME and op in ("like", "ilike") and isinstance(value, str) and dialect == "sqlite":
        # SQLite's LIKE here is case-sensitive and its ILIKE is lower() LIKE lower(), both ASCII-only case
        # folding, like the NOCASE collation of ix_runs_name_nocase: the range holds every match
        bounds = _name_range(value)
        if bounds is None:
            return None
        name = runs.c.name.collate("NOCASE")
        in_range = sa.and_(name >= bounds[0], name < bounds[1])
        return _Candidate(part, sa.select(sa.literal(1)).where(in_range), in_range, replaces=False)
    return None


def _count(conn: Connection, rows: Any, cap: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(rows.limit(cap).subquery())).scalar_one())


def _runs_at_most(conn: Connection) -> float:
    """An upper bound on the number of runs, read in one index step: SQLite's largest rowid."""
    if conn.dialect.name != "sqlite":
        return math.inf
    return float(
        conn.execute(sa.select(sa.func.max(sa.literal_column("rowid"))).select_from(runs)).scalar() or 0
    )


def choose_driver(conn: Connection, node: Node | None, scope: Any, wanted: int) -> Driver | None:
    """The conjunct of ``node`` a newest-first query for ``wanted`` runs (limit + offset) should start from,
    or ``None`` to read runs in order. ``scope``: a SELECT of the runs searched (project, readable, page)."""
    dialect = conn.dialect.name
    candidates = [c for part in conjuncts(node) if (c := _candidate(part, dialect)) is not None]
    if not candidates:
        return None
    counted = sorted(((_count(conn, c.rows, COUNT_CAP), i) for i, c in enumerate(candidates)))
    rarest, index = counted[0]
    if rarest >= COUNT_CAP:
        return None
    # reading in order visits about wanted * prod(runs / matches_i) runs (conjuncts taken as independent);
    # that exceeds the rarest conjunct's matches once the runs in scope number more than ``enough``, so
    # they are counted only that far
    product = math.prod(max(count, 1) for count, _ in counted)
    enough = (rarest * product / wanted) ** (1 / len(counted))
    if enough >= SCOPE_CAP or _runs_at_most(conn) <= enough:
        return None
    if _count(conn, scope, math.floor(enough) + 1) <= enough:
        return None
    chosen = candidates[index]
    return Driver(chosen.part, chosen.condition, chosen.replaces)


def without(node: Node | None, part: Node) -> Node | None:
    """``node`` (a conjunction) without the conjunct ``part``."""
    rest = [item for item in conjuncts(node) if item is not part]
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else BoolOp("and", tuple(rest))
