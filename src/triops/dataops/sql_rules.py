"""SQL quality rules (``type: sql``): placeholders, the engine, and the one value a query returns.

The table is ``data`` (also under its own name); ``{object}``/``${object}`` (and ``{table}``, ``{model}``)
stand for it, ``{property}``/``${property}`` (and ``{column}``) for the column the rule sits on, quoted.
Any other ``{name}``/``${name}`` placeholder is refused by name. The query returns one value: a number
compared with the ``mustBe…`` thresholds, or a boolean that passes when true (or equals ``mustBe``).
Queries run through polars SQL, or DuckDB when a ``customProperties`` entry ``engine: duckdb`` asks for it
(ODCS gives SQL rules no ``engine`` key of their own).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import polars as pl
from open_data_contract_standard.model import DataQuality

from triops.dataops.rules import Rule, Threshold, unsupported
from triops.errors import DataContractError

_PLACEHOLDER = re.compile(r"\$?\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TABLE_WORDS = ("object", "table", "model", "schema")
_COLUMN_WORDS = ("property", "column", "field")
ENGINES = ("polars", "duckdb")


def sql_rule(
    q: DataQuality,
    column: str | None,
    path: tuple[str, ...],
    where: str,
    index: int,
    severity: str,
    threshold: Threshold,
) -> Rule:
    if not q.query:
        raise unsupported(f"{where}.query", "sql", "an SQL rule needs a query")
    engine = "polars"
    for i, custom in enumerate(q.customProperties or []):
        if custom.property == "engine":
            engine = str(custom.value).lower()
            if engine not in ENGINES:
                raise unsupported(
                    f"{where}.customProperties[{i}]",
                    engine,
                    f"is not an SQL engine triops runs ({', '.join(ENGINES)})",
                )
    text = str(q.query)
    for name in _PLACEHOLDER.findall(text):
        if name in _COLUMN_WORDS and column is None:
            raise unsupported(
                f"{where}.query", "{" + name + "}", "names a property, but the rule sits on the table"
            )
        if name not in (*_TABLE_WORDS, *_COLUMN_WORDS):
            raise unsupported(
                f"{where}.query", "{" + name + "}", "is not a placeholder triops fills ({object}, {property})"
            )
    if len(path) > 1 and _PLACEHOLDER.search(text):
        raise unsupported(
            f"{where}.query", "{property}", "SQL placeholders for nested properties are not filled by triops"
        )
    name = q.name or f"sql_{index}"
    explicit = any(getattr(q, op) is not None for op in _OPS_NAMES)
    return Rule(
        f"{column or 'table'}.{name}",
        "sql",
        column,
        severity,
        q.description or f"SQL: {text}",
        {"query": text, "engine": engine, "explicit_threshold": explicit, "path": path},
        threshold,
        where,
    )


_OPS_NAMES = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


def sql_text(rule: Rule, table_name: str = "data") -> str:
    column = rule.column

    def fill(match: re.Match[str]) -> str:
        word = match.group(1)
        if word in _COLUMN_WORDS:
            return '"' + str(column).replace('"', '""') + '"'
        return table_name

    return _PLACEHOLDER.sub(fill, str(rule.params["query"]))


def sql_query(rule: Rule, lf: pl.LazyFrame, table_names: list[str]) -> pl.LazyFrame:
    """The rule's query over the data, under ``data`` and the names it has (file, schema object)."""
    ctx = pl.SQLContext(frames={"data": lf} | dict.fromkeys(table_names, lf), eager=False)
    try:
        query = ctx.execute(sql_text(rule), eager=False)
        query.collect_schema()  # resolves tables and columns now, so a failure names this rule
        return query
    except pl.exceptions.PolarsError as exc:
        raise DataContractError(
            f"SQL rule {rule.id!r} ({rule.location}) does not run: {str(exc).splitlines()[0]}",
            hint="query the table as `data` or {object}; the query must return one value",
            detail={"field": rule.location},
        ) from exc


def run_duckdb(rule: Rule, data: pl.DataFrame, table_names: list[str]) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        arrow = data.to_arrow()
        for table in {"data", *table_names}:
            con.register(table, arrow)
        result = pl.from_arrow(con.sql(sql_text(rule)).to_arrow_table())
    except duckdb.Error as exc:
        raise DataContractError(
            f"SQL rule {rule.id!r} ({rule.location}) does not run: {exc}",
            hint="query the table as `data` or {object}",
            detail={"field": rule.location},
        ) from exc
    finally:
        con.close()
    return result if isinstance(result, pl.DataFrame) else result.to_frame()


def sql_value(rule: Rule, frame: pl.DataFrame) -> float | bool:
    """The one value a query returned: a number, or a boolean."""
    if frame.height != 1 or frame.width != 1:
        raise DataContractError(
            f"SQL rule {rule.id!r} ({rule.location}) returned {frame.height} rows x {frame.width} columns",
            hint="an SQL quality rule returns one value, e.g. SELECT COUNT(*) FROM data WHERE …",
            detail={"field": rule.location},
        )
    value = frame.item()
    if isinstance(value, bool):
        numeric_ops = [op for op, _ in rule.threshold.checks if op not in ("mustBe", "mustNotBe")]
        if rule.params.get("explicit_threshold") and numeric_ops:
            raise DataContractError(
                f"SQL rule {rule.id!r} ({rule.location}) returned a boolean, compared with {numeric_ops[0]}",
                hint="compare a boolean result with mustBe: true (or give no threshold: true passes)",
                detail={"field": rule.location},
            )
        return value
    if not isinstance(value, int | float | Decimal):
        raise DataContractError(
            f"SQL rule {rule.id!r} ({rule.location}) returned {value!r}, not a number or boolean",
            detail={"field": rule.location},
        )
    return float(value)


def sql_passes(rule: Rule, value: float | bool) -> bool:
    if isinstance(value, bool) and not rule.params.get("explicit_threshold"):
        return value
    return rule.threshold.passes(value)


def sql_expected(rule: Rule, value: Any) -> str:
    if isinstance(value, bool) and not rule.params.get("explicit_threshold"):
        return "true"
    return rule.threshold.describe()
