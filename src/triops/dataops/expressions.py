"""Rules as polars expressions: a per-row failure flag for row-level rules, an aggregate for the rest.

Every column is first brought to the contract's logical type without failing (``strict=False``), so a value
of the wrong type becomes a type failure instead of an exception, and range, length and valid-value rules
read the typed value. Dates and timestamps in text are parsed with the contract's ``format`` when it gives
one; values a ``missingValues`` rule lists count as missing, not as wrong. Nulls never fail a rule other
than ``required``/``nullValues``/``missingValues``. Nested properties of an ``object`` column are read as
fields of a struct column (or of a flat column named ``parent.child``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from triops.dataops.formats import FLOAT32_MAX, INTEGER_RANGES, STRING_PATTERNS, jdk_to_strftime
from triops.dataops.rules import Rule
from triops.dataops.sla import parse_moment
from triops.errors import DataContractError

_TARGET: dict[str, Any] = {
    "integer": pl.Int64,
    "number": pl.Float64,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "time": pl.Time,
}
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


@dataclass(frozen=True, slots=True)
class Field:
    """A column or nested field of the data: how to read it and its dtype there."""

    name: str
    expr: pl.Expr
    dtype: pl.DataType


def resolve_field(path: Sequence[str], schema: pl.Schema, location: str) -> Field | None:
    """The data field at ``path`` (None when the top-level column is absent: the caller reports it)."""
    name = ".".join(path)
    if name in schema:
        return Field(name, pl.col(name), schema[name])
    if path[0] not in schema:
        return None
    expr: pl.Expr = pl.col(path[0])
    dtype: Any = schema[path[0]]
    for i, part in enumerate(path[1:], start=1):
        if not isinstance(dtype, pl.Struct):
            parent = ".".join(path[:i])
            raise DataContractError(
                f"{location}: {name} is a nested property, but {parent} in the data is {dtype}, not an object",
                hint="nested properties are read from struct columns (Parquet, JSON Lines, Arrow) or from flat "
                f"columns named {name!r}",
                detail={"field": location},
            )
        fields = {f.name: f.dtype for f in dtype.fields}
        if part not in fields:
            raise DataContractError(
                f"{location}: the data's {'.'.join(path[:i])} has no field {part!r}",
                hint=f"fields present: {', '.join(fields) or '(none)'}",
                detail={"field": location, "missing": [name]},
            )
        expr, dtype = expr.struct.field(part), fields[part]
    return Field(name, expr, dtype)


def typed(
    raw: pl.Expr,
    dtype: pl.DataType,
    logical: str | None,
    fmt: str | None = None,
    missing: Sequence[str] = (),
    where: str = "",
) -> tuple[pl.Expr, pl.Expr]:
    """(value in the logical type, flag of rows whose value is not of that type)."""
    none = pl.lit(False)
    if missing and dtype == pl.String:
        raw = pl.when(raw.is_in(list(missing))).then(None).otherwise(raw)
    if logical is None or logical == "string":
        return raw, none
    if logical == "object":
        ok = isinstance(dtype, pl.Struct) or dtype == pl.String
        return raw, none if ok else raw.is_not_null()
    if logical == "array":
        ok = isinstance(dtype, pl.List | pl.Array)
        return raw, none if ok else raw.is_not_null()
    if logical == "integer":
        if dtype.is_integer():
            return raw, none
        if dtype.is_float():
            bad = raw.is_not_null() & (raw.is_nan() | raw.is_infinite() | (raw != raw.round(0)))
            return raw, bad
    elif logical == "number":
        if dtype.is_numeric():
            return raw, none
    elif logical == "boolean":
        if dtype == pl.Boolean:
            return raw, none
        if dtype == pl.String:
            low = raw.str.strip_chars().str.to_lowercase()
            value = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
            return value, raw.is_not_null() & value.is_null()
    elif logical in ("date", "timestamp", "time"):
        target = _TARGET[logical]
        if dtype == target or (logical == "timestamp" and isinstance(dtype, pl.Datetime)):
            return raw, none
        if dtype == pl.String:
            chrono = jdk_to_strftime(fmt, where) if fmt else None
            if logical == "date":
                value = raw.str.to_date(chrono, strict=False)
            elif logical == "time":
                value = raw.str.to_time(chrono, strict=False)
            else:
                value = raw.str.to_datetime(chrono, strict=False, time_unit="us")
            return value, raw.is_not_null() & value.is_null()
        if logical == "date" and isinstance(dtype, pl.Datetime):
            return raw.dt.date(), none
    elif logical not in _TARGET:
        raise DataContractError(f"{where}: unknown logicalType {logical!r}", detail={"field": where})
    target = _TARGET[logical]
    if dtype == pl.String or dtype.is_numeric() or dtype == pl.Boolean:
        value = raw.cast(target, strict=False)
        return value, raw.is_not_null() & value.is_null()
    return pl.lit(None, dtype=target), raw.is_not_null()


def row_failure(
    rule: Rule, field: Field | None, value: pl.Expr, type_bad: pl.Expr, vtype: pl.DataType, now: dt.datetime
) -> pl.Expr:
    """Flag of rows failing a row-level rule (never null)."""
    p = rule.params
    col = field.expr if field is not None else None
    kind = rule.kind
    if kind == "type":
        flag = type_bad
    elif kind in ("required", "null_values"):
        flag = _need(col, rule).is_null()
    elif kind == "unique":
        c = _need(col, rule)
        flag = c.is_not_null() & c.is_duplicated()
    elif kind == "duplicate_values":
        cols = [str(c) for c in p.get("properties", [])]
        flag = pl.struct(cols).is_duplicated() if cols else _need(col, rule).is_duplicated()
    elif kind in ("range", "out_of_range"):
        flag = pl.lit(False)
        for key, op in (
            ("minimum", "lt"),
            ("maximum", "gt"),
            ("exclusiveMinimum", "le"),
            ("exclusiveMaximum", "ge"),
        ):
            if key in p["bounds"]:
                flag = flag | getattr(value, op)(typed_bound(rule, key, p["bounds"][key], vtype))
    elif kind == "length":
        length = value.cast(pl.String).str.len_chars()
        flag = pl.lit(False)
        if "minLength" in p:
            flag = flag | (length < int(p["minLength"]))
        if "maxLength" in p:
            flag = flag | (length > int(p["maxLength"]))
    elif kind == "pattern" or (kind == "invalid_values" and "pattern" in p):
        flag = ~value.cast(pl.String).str.contains(_regex(rule, str(p["pattern"])))
    elif kind in ("valid_values", "invalid_values"):
        flag = ~value.is_in(_values(rule, p.get("values", p.get("validValues")), vtype).implode())
    elif kind == "missing_values":
        c = _need(col, rule)
        present = [v for v in p.get("missingValues", [None]) if v is not None]
        flag = c.is_null()
        if present:
            flag = flag | c.cast(pl.String).is_in([str(v) for v in present])
    elif kind == "multiple_of":
        flag = _multiple_of(rule, value, vtype)
    elif kind == "format":
        flag = _format_failure(rule, value, vtype)
    elif kind == "array_items":
        flag = _array_failure(rule, _need(col, rule), field)
    elif kind == "object_members":
        flag = _members_failure(rule, _need(col, rule), field)
    elif kind == "items_type":
        flag = _items_type_failure(rule, _need(col, rule), field)
    elif kind == "retention":
        cutoff = now - dt.timedelta(seconds=float(p["max_age_s"]))
        flag = value < _moment_literal(cutoff, vtype)
    else:
        raise DataContractError(f"rule {rule.id!r} of kind {kind!r} is not row-level")
    return flag.fill_null(False)


def _need(col: pl.Expr | None, rule: Rule) -> pl.Expr:
    if col is None:
        raise DataContractError(f"rule {rule.id!r} ({rule.location}) needs a column")
    return col


def failing_count(rule: Rule, flag: pl.Expr, field: Field | None) -> pl.Expr:
    """Number of failing rows. For uniqueness: the rows beyond each value's first occurrence, counted on the
    sorted values (a repeat sits next to its twin), which is never slower than hashing for ``n_unique``."""
    cols = [str(c) for c in rule.params.get("properties", [])]
    if field is not None and (rule.kind == "unique" or (rule.kind == "duplicate_values" and not cols)):
        ordered = field.expr.drop_nulls().sort()
        return (ordered == ordered.shift(1)).sum().cast(pl.Int64)
    if rule.kind == "duplicate_values":
        return (pl.len() - pl.struct(cols).n_unique()).cast(pl.Int64)
    return flag.sum().cast(pl.Int64)


def repeated_values(field: Field) -> pl.Expr:
    """The values that occur more than once (from the same sort ``failing_count`` uses)."""
    ordered = field.expr.drop_nulls().sort()
    return ordered.filter(ordered == ordered.shift(1)).unique(maintain_order=True).implode()


def typed_bound(rule: Rule, key: str, bound: Any, vtype: pl.DataType) -> Any:
    """A range bound in the column's type: numbers as they are, dates and timestamps parsed from ISO text."""
    if vtype == pl.Date or isinstance(vtype, pl.Datetime) or vtype == pl.Time:
        parsed = _parse_temporal(bound, vtype)
        if parsed is None:
            raise DataContractError(
                f"rule {rule.id!r} ({rule.location}): {key} {bound!r} is not an ISO "
                f"{'time' if vtype == pl.Time else 'date or timestamp'}",
                hint="write date bounds as 2024-06-01 and timestamp bounds as 2024-06-01T12:00:00Z",
                detail={"field": f"{rule.location}.{key}"},
            )
        return parsed
    if isinstance(bound, str):
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): {key} {bound!r} is text but {rule.column} holds {vtype}",
            hint="give numeric columns numeric bounds",
            detail={"field": f"{rule.location}.{key}"},
        )
    return bound


def _parse_temporal(bound: Any, vtype: pl.DataType) -> Any:
    if vtype == pl.Time:
        try:
            return pl.lit(dt.time.fromisoformat(str(bound)))
        except ValueError:
            return None
    moment = parse_moment(bound)
    if moment is None:
        return None
    if vtype == pl.Date:
        text = str(bound).strip()
        return pl.lit(dt.date.fromisoformat(text[:10]) if len(text) >= 10 else moment.date())
    return _moment_literal(moment, vtype)


def _moment_literal(moment: dt.datetime, vtype: pl.DataType) -> pl.Expr:
    """An aware moment as a literal comparable with a column: naive columns are read as UTC."""
    if vtype == pl.Date:
        return pl.lit(moment.astimezone(dt.UTC).date())
    zone = vtype.time_zone if isinstance(vtype, pl.Datetime) else None
    if zone is None:
        return pl.lit(moment.astimezone(dt.UTC).replace(tzinfo=None))
    return pl.lit(moment).dt.convert_time_zone(zone)


def _multiple_of(rule: Rule, value: pl.Expr, vtype: pl.DataType) -> pl.Expr:
    step = rule.params["multipleOf"]
    if isinstance(step, bool) or not isinstance(step, int | float) or step <= 0:
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): multipleOf {step!r} is not a positive number"
        )
    if vtype.is_integer() and isinstance(step, int):
        return value % step != 0
    ratio = value.cast(pl.Float64) / float(step)
    return (ratio - ratio.round(0)).abs() > 1e-9 * ratio.abs().clip(1.0, None)


def _format_failure(rule: Rule, value: pl.Expr, vtype: pl.DataType) -> pl.Expr:
    fmt = str(rule.params["format"])
    if fmt in STRING_PATTERNS:
        return ~value.cast(pl.String).str.contains(STRING_PATTERNS[fmt])
    if fmt in ("password", "binary"):
        return pl.lit(False)  # any text is a valid password or binary string; the type rule checks text
    if fmt in INTEGER_RANGES:
        low, high = INTEGER_RANGES[fmt]
        flag = pl.lit(False)
        if low is not None:
            flag = flag | (value < low)
        if high is not None:
            flag = flag | (value > high)
        return flag
    if fmt == "f32":
        return value.cast(pl.Float64).abs().gt(FLOAT32_MAX) & value.cast(pl.Float64).is_finite()
    return pl.lit(False)  # f64: every float64 fits


def _array_failure(rule: Rule, col: pl.Expr, field: Field | None) -> pl.Expr:
    if field is None or not isinstance(field.dtype, pl.List | pl.Array):
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): {rule.column} is not a list in the data",
            hint="array options are checked on list columns (Parquet, JSON Lines, Arrow)",
            detail={"field": rule.location},
        )
    items = col.list if isinstance(field.dtype, pl.List) else col.arr
    p, flag = rule.params, pl.lit(False)
    if "minItems" in p:
        flag = flag | (items.len() < int(p["minItems"]))
    if "maxItems" in p:
        flag = flag | (items.len() > int(p["maxItems"]))
    if p.get("uniqueItems"):
        flag = flag | (items.n_unique() != items.len())
    return flag


def _members_failure(rule: Rule, col: pl.Expr, field: Field | None) -> pl.Expr:
    p = rule.params
    if field is not None and field.dtype == pl.String:
        # an object held as JSON text: required members are looked up by JSON path
        if "minProperties" in p or "maxProperties" in p:
            raise DataContractError(
                f"{rule.location} (min/maxProperties of {rule.column}): {rule.column} holds JSON text; triops "
                "counts the members of struct columns only",
                hint="read the data as Parquet or JSON Lines (a struct column), drop min/maxProperties, or pass "
                "--skip-unsupported",
                detail={
                    "field": rule.location,
                    "unsupported": True,
                    "what": f"min/maxProperties of {rule.column}",
                },
            )
        flag = pl.lit(False)
        for name in p.get("required", []):
            flag = flag | col.str.json_path_match(f"$.{name}").is_null()
        return flag & col.is_not_null()
    if field is None or not isinstance(field.dtype, pl.Struct):
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): {rule.column} is not an object (struct) in the data",
            hint="object options are checked on struct columns (Parquet, JSON Lines, Arrow)",
            detail={"field": rule.location},
        )
    names = [f.name for f in field.dtype.fields]
    present = [col.struct.field(n).is_not_null().cast(pl.Int32) for n in names]
    count = pl.sum_horizontal(present) if present else pl.lit(0)
    flag = pl.lit(False)
    for name in p.get("required", []):
        flag = flag | (col.struct.field(name).is_null() if name in names else col.is_not_null())
    if "minProperties" in p:
        flag = flag | (count < int(p["minProperties"]))
    if "maxProperties" in p:
        flag = flag | (count > int(p["maxProperties"]))
    return flag & col.is_not_null()


def _items_type_failure(rule: Rule, col: pl.Expr, field: Field | None) -> pl.Expr:
    if field is None or not isinstance(field.dtype, pl.List):
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): {rule.column} is not a list in the data",
            detail={"field": rule.location},
        )
    inner: Any = field.dtype.inner
    logical = str(rule.params["logical_type"])
    _, bad = typed(pl.element(), inner, logical, where=rule.location)
    return col.list.eval(bad).list.any()


def _regex(rule: Rule, pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): pattern {pattern!r} is not a valid regex: {exc}",
            hint="fix the pattern in the contract",
            detail={"field": rule.location},
        ) from exc
    return pattern


def _values(rule: Rule, values: Any, dtype: pl.DataType) -> pl.Series:
    """Valid values in the column's (typed) dtype; a value that cannot have that type can never match."""
    if not isinstance(values, list) or not values:
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}) needs a non-empty list of valid values",
            hint="for example: validValues: [yes, no]",
            detail={"field": rule.location},
        )
    present = [v for v in values if v is not None]
    if dtype == pl.String and any(isinstance(v, bool) for v in present):
        raise DataContractError(
            f"rule {rule.id!r} ({rule.location}): valid values {values!r} hold booleans but the column holds text",
            hint='YAML reads bare yes/no/true/false as booleans; quote them: ["yes", "no"]',
            detail={"field": rule.location},
        )
    if dtype == pl.String:
        return pl.Series([str(v) for v in present], dtype=pl.String)
    series = pl.Series(present, strict=False)
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        series = series.cast(pl.String).str.to_datetime(strict=False)
    return series.cast(dtype, strict=False).drop_nulls()
