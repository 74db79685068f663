"""Rules as polars expressions: a per-row failure flag for row-level rules, an aggregate for the rest.

Every column is first brought to the contract's logical type without failing (``strict=False``), so a value
of the wrong type becomes a type failure instead of an exception, and range, length and valid-value rules
read the typed value. Nulls never fail a rule other than ``required``/``nullValues``/``missingValues``.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from triops.dataops.rules import Rule
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


def typed(col: str, dtype: pl.DataType, logical: str | None) -> tuple[pl.Expr, pl.Expr]:
    """(value in the logical type, flag of rows whose value is not of that type)."""
    raw = pl.col(col)
    none = pl.lit(False)
    if logical is None or logical in ("string", "object", "array"):
        return raw, none
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
            if logical == "date":
                value = raw.str.to_date(strict=False)
            elif logical == "time":
                value = raw.str.to_time(strict=False)
            else:
                value = raw.str.to_datetime(strict=False, time_unit="us")
            return value, raw.is_not_null() & value.is_null()
        if logical == "date" and isinstance(dtype, pl.Datetime):
            return raw.dt.date(), none
    target = _TARGET[logical]
    if dtype == pl.String or dtype.is_numeric() or dtype == pl.Boolean:
        value = raw.cast(target, strict=False)
        return value, raw.is_not_null() & value.is_null()
    return pl.lit(None, dtype=target), raw.is_not_null()


def row_failure(rule: Rule, value: pl.Expr, type_bad: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Flag of rows failing a row-level rule (never null)."""
    col = pl.col(str(rule.column)) if rule.column else None
    p = rule.params
    if rule.kind == "type":
        flag = type_bad
    elif rule.kind in ("required", "null_values"):
        assert col is not None
        flag = col.is_null()
    elif rule.kind == "unique":
        assert col is not None
        flag = col.is_not_null() & col.is_duplicated()
    elif rule.kind == "duplicate_values":
        cols = [str(c) for c in p.get("properties", [rule.column])]
        flag = pl.struct(cols).is_duplicated()
    elif rule.kind == "range":
        flag = pl.lit(False)
        for key, op in (
            ("minimum", "lt"),
            ("maximum", "gt"),
            ("exclusiveMinimum", "le"),
            ("exclusiveMaximum", "ge"),
        ):
            if key in p:
                flag = flag | getattr(value, op)(_bound(rule, key, p[key]))
    elif rule.kind == "length":
        length = value.cast(pl.String).str.len_chars()
        flag = pl.lit(False)
        if "minLength" in p:
            flag = flag | (length < int(p["minLength"]))
        if "maxLength" in p:
            flag = flag | (length > int(p["maxLength"]))
    elif rule.kind == "pattern" or (rule.kind == "invalid_values" and "pattern" in p):
        flag = ~value.cast(pl.String).str.contains(_regex(rule, str(p["pattern"])))
    elif rule.kind in ("valid_values", "invalid_values"):
        flag = ~value.is_in(_values(rule, p.get("values", p.get("validValues")), dtype).implode())
    elif rule.kind == "missing_values":
        assert col is not None
        listed = list(p.get("missingValues", [None]))
        present = [v for v in listed if v is not None]
        flag = col.is_null()
        if present:
            flag = flag | col.cast(pl.String).is_in([str(v) for v in present])
    else:
        raise DataContractError(f"rule {rule.id!r} of kind {rule.kind!r} is not row-level")
    return flag.fill_null(False)


def failing_count(rule: Rule, flag: pl.Expr) -> pl.Expr:
    """Number of failing rows. For uniqueness: the rows beyond each value's first occurrence, counted on the
    sorted values (a repeat sits next to its twin), which is never slower than hashing for ``n_unique``."""
    cols = [str(c) for c in rule.params.get("properties", [rule.column])]
    if rule.kind == "unique" or (rule.kind == "duplicate_values" and len(cols) == 1):
        ordered = pl.col(cols[0]).drop_nulls().sort()
        return (ordered == ordered.shift(1)).sum().cast(pl.Int64)
    if rule.kind == "duplicate_values":
        return (pl.len() - pl.struct(cols).n_unique()).cast(pl.Int64)
    return flag.sum().cast(pl.Int64)


def _bound(rule: Rule, key: str, bound: Any) -> Any:
    if isinstance(bound, bool) or not isinstance(bound, int | float | str):
        raise DataContractError(
            f"rule {rule.id!r}: {key} {bound!r} is not a number or date",
            hint="write the bound as a number (or an ISO date for date columns)",
        )
    return bound


def _regex(rule: Rule, pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise DataContractError(
            f"rule {rule.id!r}: pattern {pattern!r} is not a valid regex: {exc}",
            hint="fix the pattern in the contract",
        ) from exc
    return pattern


def _values(rule: Rule, values: Any, dtype: pl.DataType) -> pl.Series:
    """Valid values in the column's (typed) dtype; a value that cannot have that type can never match."""
    if not isinstance(values, list) or not values:
        raise DataContractError(
            f"rule {rule.id!r} needs a non-empty list of valid values",
            hint="for example: validValues: [yes, no]",
        )
    present = [v for v in values if v is not None]
    if dtype == pl.String and any(isinstance(v, bool) for v in present):
        raise DataContractError(
            f"rule {rule.id!r}: valid values {values!r} hold booleans but the column holds text",
            hint='YAML reads bare yes/no/true/false as booleans; quote them: ["yes", "no"]',
        )
    if dtype == pl.String:
        return pl.Series([str(v) for v in present], dtype=pl.String)
    series = pl.Series(present, strict=False)
    return series.cast(dtype, strict=False).drop_nulls()
