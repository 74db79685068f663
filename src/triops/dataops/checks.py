"""Checking data against a contract: every rule compiled into ONE polars lazy query, run by the streaming
engine so files larger than memory are checked in bounded memory.

The query returns, in one pass, the row count, each column's null count and each rule's failing-row count
(or measured metric). SQL rules run beside it through polars SQL (or DuckDB when a rule names it). Only when
a row-level rule fails does a second, filtered pass fetch up to 20 sample rows per failing rule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from triops.dataops.contracts import Contract, columns, schema_object
from triops.dataops.expressions import failing_count, row_failure, typed
from triops.dataops.report import MAX_SAMPLES, CheckReport, RuleResult
from triops.dataops.rules import Rule, compile_rules
from triops.dataops.sources import Source, open_source
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.errors import DataContractError, InvalidInputError


def check(
    contract: Contract,
    data: Any,
    *,
    schema: str | None = None,
    name: str | None = None,
    table: str | None = None,
    query: str | None = None,
    clock: Clock | None = None,
    samples: int = MAX_SAMPLES,
    streaming: bool | None = None,
) -> CheckReport:
    """Check ``data`` (path, frame, Source or SQLAlchemy URL with table/query) against ``contract``.

    ``streaming`` defaults to True for files (bounded memory) and False for in-memory frames (faster)."""
    clock = clock or SystemClock()
    source = open_source(data, name=name, table=table, query=query)
    if streaming is None:
        streaming = source.path is not None
    obj = schema_object(contract, schema)
    rules = compile_rules(contract, obj)
    wanted = [str(p.name) for p in columns(obj)]
    try:
        return _run(contract, source, rules, wanted, clock, samples, streaming)
    except InvalidInputError as exc:
        if not exc.detail.get("parse") or source.kind not in ("csv", "jsonl"):
            raise
    # a value that does not parse as the inferred type: read those columns as text so it counts as invalid
    return _run(contract, source.with_text_columns(wanted), rules, wanted, clock, samples, streaming)


def _run(
    contract: Contract,
    source: Source,
    rules: list[Rule],
    wanted: list[str],
    clock: Clock,
    samples: int,
    streaming: bool,
) -> CheckReport:
    lf = source.lazy()
    try:
        schema = lf.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise source.translate(exc) from exc
    present = list(schema.names())
    missing = [c for c in wanted if c not in schema]
    for rule in rules:
        for col in rule.params.get("properties", []) if rule.kind == "duplicate_values" else []:
            if str(col) not in schema and str(col) not in missing:
                missing.append(str(col))
    if missing:
        raise DataContractError(
            f"{source.name}: the contract names column(s) {', '.join(map(repr, missing))} "
            "that the data lacks",
            hint=f"columns present: {', '.join(present) or '(none)'}",
            detail={"missing": missing, "present": present},
        )
    logical = _logical_types(contract, rules)
    values: dict[str, pl.Expr] = {}
    bad_type: dict[str, pl.Expr] = {}
    dtypes: dict[str, pl.DataType] = {}
    for col in wanted:
        values[col], bad_type[col] = typed(col, schema[col], logical.get(col))
    if values:
        dtypes = dict(pl.LazyFrame(schema=schema).select(**values).collect_schema())
    flags: dict[str, pl.Expr] = {}
    aggs: list[pl.Expr] = [pl.len().alias("__rows__")]
    heavy: list[pl.Expr] = []
    aggs += [pl.col(c).null_count().alias(f"__null_{i}") for i, c in enumerate(present)]
    freshness: dict[str, pl.Expr] = {}
    for i, rule in enumerate(rules):
        col = rule.column
        if rule.row_level:
            value = values[col] if col else pl.lit(None)
            flags[rule.id] = row_failure(
                rule, value, bad_type.get(col or "", pl.lit(False)), dtypes.get(col or "", pl.Null())
            )
            counter = failing_count(rule, flags[rule.id]).alias(f"__r{i}")
            # uniqueness needs a whole column; in a streaming run it gets its own query so the rest streams
            (heavy if streaming and rule.kind in ("unique", "duplicate_values") else aggs).append(counter)
        elif rule.kind == "freshness":
            freshness[rule.id] = values[str(col)].max()
            aggs.append(freshness[rule.id].alias(f"__r{i}"))
    sql_rules = [r for r in rules if r.kind == "sql"]
    typed_lf = lf.with_columns(**values) if sql_rules else lf
    queries = [lf.select(aggs)]
    queries += [_sql_query(r, typed_lf, source) for r in sql_rules if r.params["engine"] != "duckdb"]
    frames = source.collect(queries, streaming=streaming)
    row = frames[0].row(0, named=True)
    for expr in heavy:
        row.update(source.collect([lf.select(expr)], streaming=True)[0].row(0, named=True))
    row_count = int(row["__rows__"])
    nulls = {c: int(row[f"__null_{i}"]) for i, c in enumerate(present)}
    if source.kind == "csv" and present and nulls[present[-1]] > 0:
        short = source.find_short_row(len(present))
        if short is not None:
            raise short
    sql_values = _sql_values(sql_rules, frames[1:], typed_lf, source)
    failing: dict[str, int] = {}
    results: list[RuleResult] = []
    for i, rule in enumerate(rules):
        if rule.kind == "sql":
            measured = sql_values[rule.id]
            results.append(_metric_result(rule, measured, None, row_count))
        elif rule.kind == "freshness":
            results.append(_freshness_result(rule, row[f"__r{i}"], clock))
        elif rule.kind == "row_count":
            results.append(_row_result(rule, 0, row_count))
        else:
            count = int(row[f"__r{i}"] or 0)
            failing[rule.id] = count
            results.append(_row_result(rule, count, row_count))
    failed = [r for r in results if r.failing_rows and r.rule in flags]
    sampled = _samples(lf, source, {r.id: r for r in rules}, flags, failed, samples, streaming)
    results = [_with_samples(r, sampled.get(r.rule, ())) for r in results]
    return CheckReport(
        dataset=source.name,
        contract_id=contract.id,
        contract_version=contract.version,
        row_count=row_count,
        columns=tuple(present),
        results=tuple(results),
        null_counts=nulls,
        checked_at_ms=utc_ms(clock.now()),
    )


def _logical_types(contract: Contract, rules: list[Rule]) -> dict[str, str]:
    out: dict[str, str] = {}
    for obj in contract.schema_ or []:
        for prop in obj.properties or []:
            if prop.logicalType and prop.name:
                out.setdefault(prop.name, prop.logicalType)
    return out


def _row_result(rule: Rule, count: int, rows: int) -> RuleResult:
    share = count / rows if rows else 0.0
    if rule.kind in ("null_values", "missing_values", "invalid_values", "duplicate_values"):
        measured = share * 100 if rule.threshold.unit == "percent" else float(count)
        passed = rule.threshold.passes(measured)
    elif rule.kind == "row_count":
        measured, passed = float(rows), rule.threshold.passes(rows)
    else:
        measured, passed = float(count), count == 0
    if rule.kind in ("null_values", "missing_values", "invalid_values", "duplicate_values", "row_count"):
        expected = rule.threshold.describe()
    else:
        expected = "every value of the declared type" if rule.kind == "type" else "no failing rows"
    return RuleResult(
        rule.id,
        rule.kind,
        rule.column,
        rule.severity,
        rule.dimension,
        rule.description,
        passed,
        count,
        share,
        measured,
        expected,
    )


def _metric_result(rule: Rule, measured: float, count: int | None, rows: int) -> RuleResult:
    passed = rule.threshold.passes(measured)
    return RuleResult(
        rule.id,
        rule.kind,
        rule.column,
        rule.severity,
        rule.dimension,
        rule.description,
        passed,
        0 if passed else int(count or 0),
        0.0,
        measured,
        rule.threshold.describe(),
    )


def _freshness_result(rule: Rule, newest: Any, clock: Clock) -> RuleResult:
    max_age = float(rule.params["max_age_s"])
    if newest is None:
        age = math.inf
    else:
        moment = newest if isinstance(newest, dt.datetime) else dt.datetime.combine(newest, dt.time())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        age = (clock.now() - moment).total_seconds()
    return RuleResult(
        rule.id,
        rule.kind,
        rule.column,
        rule.severity,
        rule.dimension,
        rule.description,
        age <= max_age,
        0,
        0.0,
        age,
        f"age <= {max_age:g} s",
    )


def _sql_text(rule: Rule, source: Source) -> str:
    text = str(rule.params["query"])
    for token in ("${object}", "{object}", "${table}", "{table}", "{model}"):
        text = text.replace(token, "data")
    return text


def _sql_query(rule: Rule, lf: pl.LazyFrame, source: Source) -> pl.LazyFrame:
    ctx = pl.SQLContext(frames={"data": lf, source.name: lf}, eager=False)
    try:
        return ctx.execute(_sql_text(rule, source), eager=False)
    except pl.exceptions.PolarsError as exc:
        raise DataContractError(
            f"SQL rule {rule.id!r} does not run: {str(exc).splitlines()[0]}",
            hint="query the table as `data`; the query must return one number",
        ) from exc


def _sql_values(
    rules: list[Rule], frames: list[pl.DataFrame], lf: pl.LazyFrame, source: Source
) -> dict[str, float]:
    out: dict[str, float] = {}
    polars_frames = iter(frames)
    duck_data: pl.DataFrame | None = None
    for rule in rules:
        if rule.params["engine"] == "duckdb":
            import duckdb

            duck_data = duck_data if duck_data is not None else lf.collect()
            con = duckdb.connect()
            try:
                con.register("data", duck_data.to_arrow())
                result = pl.from_arrow(con.sql(_sql_text(rule, source)).to_arrow_table())
            except duckdb.Error as exc:
                raise DataContractError(
                    f"SQL rule {rule.id!r} does not run: {exc}", hint="query the table as `data`"
                ) from exc
            finally:
                con.close()
            frame = result if isinstance(result, pl.DataFrame) else result.to_frame()
        else:
            frame = next(polars_frames)
        if frame.height != 1 or frame.width != 1:
            raise DataContractError(
                f"SQL rule {rule.id!r} returned {frame.height} rows x {frame.width} columns",
                hint="a SQL quality rule returns one number, e.g. SELECT COUNT(*) FROM data WHERE …",
            )
        value = frame.item()
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise DataContractError(f"SQL rule {rule.id!r} returned {value!r}, not a number")
        out[rule.id] = float(value)
    return out


def _samples(
    lf: pl.LazyFrame,
    source: Source,
    rules: Mapping[str, Rule],
    flags: Mapping[str, pl.Expr],
    failed: list[RuleResult],
    limit: int,
    streaming: bool,
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``limit`` failing rows per failing rule. Each rule is a filter + head, which the streaming
    engine ends as soon as enough rows are found; duplicates are first reduced to a few repeated keys so
    marking them needs no whole-column state."""
    if not failed or limit <= 0:
        return {}
    marks = dict(flags)
    dups = [rules[r.rule] for r in failed if rules[r.rule].kind in ("unique", "duplicate_values")]
    if dups:
        key_queries = [_repeated_keys(lf, _dup_cols(r), limit) for r in dups]
        for rule, keys in zip(dups, source.collect(key_queries, streaming=streaming), strict=True):
            cols = _dup_cols(rule)
            if len(cols) == 1:
                marks[rule.id] = pl.col(cols[0]).is_in(keys.get_column(cols[0]).implode())
            else:
                marks[rule.id] = pl.struct(cols).is_in(keys.select(pl.struct(cols)).to_series().implode())
    base = lf.with_row_index("__row__")
    found: dict[str, pl.DataFrame] = {}
    if not streaming:
        # in memory, look in the first rows first: failures are usually spread, so a slice finds enough of
        # them without evaluating expensive rules (regexes) on the whole frame a second time
        names = [f"__k{i}" for i in range(len(failed))]
        query = (
            base.slice(0, _FIRST_SLICE)
            .with_columns(marks[r.rule].alias(k) for r, k in zip(failed, names, strict=True))
            .filter(pl.any_horizontal(names))
        )
        hits = source.collect([query], streaming=False)[0]
        for r, k in zip(failed, names, strict=True):
            frame = hits.filter(pl.col(k)).head(limit).drop(names)
            if frame.height >= min(limit, r.failing_rows):
                found[r.rule] = frame
    rest = [r for r in failed if r.rule not in found]
    queries = [base.filter(marks[r.rule]).head(limit) for r in rest]
    if streaming:
        # one scan at a time keeps peak memory at one reader's buffers; each stops once it has its rows
        frames = [source.collect([q], streaming=True)[0] for q in queries]
    else:
        frames = source.collect(queries, streaming=False) if queries else []
    found.update({r.rule: f for r, f in zip(rest, frames, strict=True)})
    out: dict[str, list[dict[str, Any]]] = {}
    for result in failed:
        frame = found[result.rule]
        data_cols = [c for c in frame.columns if c != "__row__"]
        out[result.rule] = [
            {"row": int(r["__row__"]), "values": {c: _jsonable(r[c]) for c in data_cols}}
            for r in frame.iter_rows(named=True)
        ]
    return out


_FIRST_SLICE = 1 << 16


def _repeated_keys(lf: pl.LazyFrame, cols: list[str], limit: int) -> pl.LazyFrame:
    """A few values that occur more than once: sorting puts repeats side by side (cheaper than hashing)."""
    ordered = lf.select(cols).drop_nulls().sort(cols)
    same = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in cols])
    return ordered.filter(same).unique(maintain_order=True).head(limit)


def _dup_cols(rule: Rule) -> list[str]:
    return [str(c) for c in rule.params.get("properties", [rule.column])]


def _with_samples(result: RuleResult, samples: list[dict[str, Any]] | tuple[()]) -> RuleResult:
    if not samples:
        return result
    return RuleResult(
        result.rule,
        result.kind,
        result.column,
        result.severity,
        result.dimension,
        result.description,
        result.passed,
        result.failing_rows,
        result.failing_share,
        result.measured,
        result.expected,
        tuple(samples),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
