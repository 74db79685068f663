"""Checking data against a contract: every rule compiled into ONE polars lazy query, run by the streaming
engine so files larger than memory are checked in bounded memory.

The query returns, in one pass, the row count, each column's null count, each rule's failing-row count (or
measured metric), the number of distinct failing rows, and the repeated values of uniqueness rules. SQL
rules run beside it through polars SQL (or DuckDB). Only when a row-level rule fails are up to 20 sample
rows per failing rule fetched (``samples``), with restricted and personal cells masked (``privacy``).

Whatever the contract asks that triops cannot check stops the check with an error naming the field, unless
``skip_unsupported`` is set: then the report lists it under ``skipped``, and it is never counted as a pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from triops.dataops.check_steps import (
    age_result,
    chunks,
    date_result,
    refuse_missing,
    row_result,
    rule_result,
    sorted_repeats,
    typing_hints,
    value_types,
    with_samples,
)
from triops.dataops.contracts import Contract, protected_columns, schema_object
from triops.dataops.expressions import (
    Field,
    failing_count,
    repeated_values,
    resolve_field,
    row_failure,
    typed,
)
from triops.dataops.privacy import Privacy
from triops.dataops.report import MAX_SAMPLES, CheckReport, RuleResult
from triops.dataops.rules import Rule, RuleSet, UnsupportedRule, compile_rules
from triops.dataops.samples import as_records, collect_samples, protected_in_data
from triops.dataops.sources import Source, line_numbers, open_source
from triops.dataops.sql_rules import run_duckdb, sql_expected, sql_passes, sql_query, sql_value
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
    privacy: Privacy | None = None,
    skip_unsupported: bool = False,
    delivered_at: dt.datetime | None = None,
) -> CheckReport:
    """Check ``data`` (path, frame, Source or SQLAlchemy URL with table/query) against ``contract``.

    ``streaming`` defaults to True for files (bounded memory) and False for in-memory frames (faster).
    ``privacy`` says how restricted and personal cells in samples are shown (masked by default).
    ``delivered_at`` is when in-memory data was delivered, for an object-level freshness SLA (a file's
    modification time is used otherwise)."""
    clock = clock or SystemClock()
    source = open_source(data, name=name, table=table, query=query)
    if streaming is None:
        streaming = source.path is not None
    obj = schema_object(contract, schema)
    ruleset = compile_rules(contract, obj, skip_unsupported=skip_unsupported)
    wanted = [str(p.name) for p in obj.properties or []]
    run = _Run(
        contract,
        obj_name=str(obj.name),
        ruleset=ruleset,
        clock=clock,
        samples=samples,
        streaming=streaming,
        privacy=privacy or Privacy(),
        skip=skip_unsupported,
        delivered_at=delivered_at,
        declared=protected_columns(contract, obj),
    )
    try:
        return run(source, wanted)
    except InvalidInputError as exc:
        if not exc.detail.get("parse") or source.kind not in ("csv", "jsonl"):
            raise
    # a value that does not parse as the inferred type: read those columns as text so it counts as invalid
    return run(source.with_text_columns(wanted), wanted)


class _Run:
    def __init__(
        self,
        contract: Contract,
        *,
        obj_name: str,
        ruleset: RuleSet,
        clock: Clock,
        samples: int,
        streaming: bool,
        privacy: Privacy,
        skip: bool,
        delivered_at: dt.datetime | None,
        declared: Mapping[str, str],
    ) -> None:
        self.contract, self.obj_name, self.ruleset, self.clock = contract, obj_name, ruleset, clock
        self.samples, self.streaming, self.privacy, self.skip = samples, streaming, privacy, skip
        self.delivered_at, self.declared = delivered_at, declared
        obj = schema_object(contract, obj_name)
        self.table_names = [n for n in (obj.name, obj.physicalName) if n]

    def __call__(self, source: Source, wanted: list[str]) -> CheckReport:
        lf = source.lazy()
        try:
            schema = lf.collect_schema()
        except pl.exceptions.PolarsError as exc:
            raise source.translate(exc) from exc
        rules = list(self.ruleset.rules)
        skipped = list(self.ruleset.skipped)
        present = list(schema.names())
        refuse_missing(source, wanted, rules, schema, present)
        now = self.clock.now()
        fields: dict[tuple[str, ...], Field | None] = {}
        for rule in rules:
            path = tuple(rule.params.get("path") or ())
            if path and path not in fields:
                fields[path] = resolve_field(path, schema, rule.location)
        logical, missing = typing_hints(rules)
        values: dict[tuple[str, ...], pl.Expr] = {}
        bad_type: dict[tuple[str, ...], pl.Expr] = {}
        for path, fld in fields.items():
            if fld is None:
                continue
            spec = logical.get(path, (None, None))
            values[path], bad_type[path] = typed(
                fld.expr, fld.dtype, spec[0], spec[1], missing.get(path, ()), fld.name
            )
        vtypes = value_types(schema, values)
        flags: dict[str, pl.Expr] = {}
        aggs: list[pl.Expr] = [pl.len().alias("__rows__")]
        aggs += [pl.col(c).null_count().alias(f"__null_{i}") for i, c in enumerate(present)]
        heavy: list[pl.Expr] = []
        repeats: dict[str, str] = {}
        keyed: dict[str, tuple[Field, int]] = {}
        dropped: set[str] = set()
        staged: dict[str, str] = {}
        stage: list[pl.Expr] = []
        sorted_keys: list[tuple[Field, int]] = []
        for i, rule in enumerate(rules):
            path = tuple(rule.params.get("path") or ())
            fld = fields.get(path)
            if rule.row_level:
                value = values.get(path, pl.lit(None))
                try:
                    flags[rule.id] = row_failure(
                        rule, fld, value, bad_type.get(path, pl.lit(False)), vtypes.get(path, pl.Null()), now
                    )
                except DataContractError as exc:
                    if not (self.skip and exc.detail.get("unsupported")):
                        raise
                    reason = exc.message.split(": ", 1)[-1]
                    skipped.append(UnsupportedRule(rule.location, str(exc.detail["what"]), reason))
                    dropped.add(rule.id)
                    continue
                if rule.kind in ("unique", "duplicate_values"):
                    counter = [failing_count(rule, flags[rule.id], fld).alias(f"__r{i}")]
                else:
                    # each flag is computed once, as a column, and read by its count and the failing-row union
                    staged[rule.id] = f"__f{i}"
                    stage.append(flags[rule.id].alias(staged[rule.id]))
                    counter = [pl.col(staged[rule.id]).sum().cast(pl.Int64).alias(f"__r{i}")]
                if (
                    fld is not None
                    and rule.kind in ("unique", "duplicate_values")
                    and not rule.params.get("properties")
                ):
                    repeats[rule.id] = f"__rep{i}"
                    keyed[rule.id] = (fld, i)
                    if self.streaming:
                        sorted_keys.append((fld, i))  # counted from one sorted copy, after the main query
                        continue
                    counter.append(repeated_values(fld).alias(repeats[rule.id]))
                # uniqueness needs a whole column; in a streaming run it gets its own query so the rest streams
                (heavy if self.streaming and rule.kind in ("unique", "duplicate_values") else aggs).extend(
                    counter
                )
            elif rule.kind == "freshness":
                aggs.append(values[path].max().alias(f"__r{i}"))
        # distinct failing rows: the other rules' flags at once; rows repeating a key are added from the sorted
        # keys (``_failing_rows``), because flagging duplicates in place hashes the whole column
        union: list[pl.Expr] = []
        light = [pl.col(c) for c in staged.values()]
        light += [f for r, f in flags.items() if r not in keyed and r not in staged and not self.streaming]
        if light:
            union = [pl.any_horizontal(light).alias("__any__")]
            aggs.append(pl.col("__any__").sum().alias("__failing__"))
            if not self.streaming:
                aggs += [
                    fld.expr.filter(pl.col("__any__")).implode().alias(f"__lv{i}")
                    for fld, i in keyed.values()
                ]
        sql_rules = [r for r in rules if r.kind == "sql"]
        typed_lf = (
            lf.with_columns(**{".".join(p): v for p, v in values.items() if len(p) == 1}) if sql_rules else lf
        )
        staged_lf = lf.with_columns(stage) if stage else lf
        queries = [(staged_lf.with_columns(union) if light else staged_lf).select(aggs)]
        names = [source.name, *self.table_names]
        queries += [sql_query(r, typed_lf, names) for r in sql_rules if r.params["engine"] != "duckdb"]
        frames = source.collect(queries, streaming=self.streaming)
        row = frames[0].row(0, named=True)
        for expr_group in chunks(heavy, 2):
            row.update(source.collect([lf.select(expr_group)], streaming=True)[0].row(0, named=True))
        for fld, i in sorted_keys:
            row[f"__r{i}"], row[f"__rep{i}"] = sorted_repeats(source, lf, fld)
        row_count = int(row["__rows__"])
        nulls = {c: int(row[f"__null_{i}"]) for i, c in enumerate(present)}
        if source.kind == "csv" and present and nulls[present[-1]] > 0:
            short = source.find_short_row(len(present))
            if short is not None:
                raise short
        sql_frames = iter(frames[1:])
        duck: pl.DataFrame | None = None
        results: list[RuleResult] = []
        for i, rule in enumerate(rules):
            if rule.id in dropped:
                continue
            if rule.kind == "sql":
                if rule.params["engine"] == "duckdb":
                    duck = duck if duck is not None else typed_lf.collect()
                    frame = run_duckdb(rule, duck, names)
                else:
                    frame = next(sql_frames)
                measured = sql_value(rule, frame)
                results.append(
                    rule_result(
                        rule, sql_passes(rule, measured), 0, 0.0, measured, sql_expected(rule, measured)
                    )
                )
            elif rule.kind == "freshness":
                results.append(age_result(rule, row[f"__r{i}"], now))
            elif rule.kind == "source_age":
                result = self._source_age(rule, source, now, skipped)
                if result is not None:
                    results.append(result)
            elif rule.kind == "contract_date":
                results.append(date_result(rule, now))
            elif rule.kind == "row_count":
                passed = rule.threshold.passes(row_count)
                results.append(rule_result(rule, passed, 0, 0.0, float(row_count), rule.threshold.describe()))
            else:
                results.append(row_result(rule, int(row[f"__r{i}"] or 0), row_count))
        failing_rows, exact = self._failing_rows(lf, source, row, results, flags, keyed, repeats)
        results, protected = self._with_samples(
            lf, source, schema, rules, flags, repeats, row, results, row_count
        )
        return CheckReport(
            dataset=source.name,
            contract_id=self.contract.id,
            contract_version=self.contract.version,
            row_count=row_count,
            columns=tuple(present),
            results=tuple(results),
            null_counts=nulls,
            checked_at_ms=utc_ms(now),
            rows_failing=failing_rows,
            rows_failing_exact=exact,
            skipped=tuple(s.to_dict() for s in skipped),
            protected=protected,
            masked=not self.privacy.reveal,
        )

    def _failing_rows(
        self,
        lf: pl.LazyFrame,
        source: Source,
        row: Mapping[str, Any],
        results: list[RuleResult],
        flags: Mapping[str, pl.Expr],
        keyed: Mapping[str, tuple[Field, int]],
        repeats: Mapping[str, str],
    ) -> tuple[int, bool]:
        base = int(row.get("__failing__") or 0)
        failed = {r.rule for r in results if r.failing_rows}
        dups = {rule_id: v for rule_id, v in keyed.items() if rule_id in failed}
        heavy = [
            r.failing_rows for r in results if r.kind in ("unique", "duplicate_values") and r.rule in failed
        ]
        if self.streaming:
            return (max([base, *heavy]), False) if heavy else (base, True)
        if not dups:
            return base, True
        if len(dups) == 1:
            ((_, i),) = dups.values()
            keys = set(row[f"__rep{i}"] or [])
            overlap = sum(1 for v in row.get(f"__lv{i}") or [] if v in keys)
            # rows holding a repeated key: the repeats counted, plus each repeated key's first row
            involved = int(row[f"__r{i}"] or 0) + len(keys)
            return base + involved - overlap, True
        marks = [
            fld.expr.is_in(pl.Series(list(row[repeats[rule_id]]), dtype=fld.dtype).implode())
            for rule_id, (fld, _) in dups.items()
        ]
        flags_again = [f for r, f in flags.items() if r not in keyed]
        query = lf.select(pl.any_horizontal([*flags_again, *marks]).sum())
        return int(source.collect([query], streaming=False)[0].item()), True

    def _source_age(
        self, rule: Rule, source: Source, now: dt.datetime, skipped: list[UnsupportedRule]
    ) -> RuleResult | None:
        if self.delivered_at is not None:
            moment = (
                self.delivered_at if self.delivered_at.tzinfo else self.delivered_at.replace(tzinfo=dt.UTC)
            )
            origin = "delivered"
        elif source.path is not None:
            moment = dt.datetime.fromtimestamp(source.path.stat().st_mtime, tz=dt.UTC)
            origin = "file modified"
        else:
            item = UnsupportedRule(
                rule.location,
                f"{rule.params['property']} of {rule.params['element']}",
                "applies to the whole object: triops measures that from a file's modification time or a "
                "given delivery time, and this data has neither",
            )
            if not self.skip:
                raise DataContractError(
                    f"{item.location} ({item.what}): {item.reason}",
                    hint="check the file itself, pass delivered_at= (--delivered-at), or give the SLA an "
                    "element naming a timestamp column",
                    detail={"field": item.location},
                )
            skipped.append(item)
            return None
        age = (now - moment).total_seconds()
        limit = float(rule.params["max_age_s"])
        return rule_result(
            rule, age <= limit, 0, 0.0, age, f"age <= {limit:g} s ({origin} {moment.isoformat()})"
        )

    def _with_samples(
        self,
        lf: pl.LazyFrame,
        source: Source,
        schema: pl.Schema,
        rules: list[Rule],
        flags: Mapping[str, pl.Expr],
        repeats: Mapping[str, str],
        row: Mapping[str, Any],
        results: list[RuleResult],
        row_count: int,
    ) -> tuple[list[RuleResult], dict[str, str]]:
        failed = [r for r in results if r.failing_rows and r.rule in flags]
        if not failed or self.samples <= 0:
            return results, {}
        by_id = {r.id: r for r in rules}
        marks = dict(flags)
        for rule_id, key in repeats.items():
            keys = (row.get(key) or [])[: self.samples]
            rule = by_id[rule_id]
            path = tuple(rule.params["path"])
            if keys is not None and path:
                fld = resolve_field(path, schema, rule.location)
                assert fld is not None
                marks[rule_id] = fld.expr.is_in(pl.Series(list(keys), dtype=fld.dtype).implode())
        frames = collect_samples(lf, source, by_id, marks, failed, self.samples, self.streaming)
        protected = (
            {} if self.privacy.reveal else protected_in_data(lf, source, schema, self.declared, self.privacy)
        )
        indices = sorted({int(i) for f in frames.values() for i in f.get_column("__row__").to_list()})
        lines = line_numbers(source, indices, row_count)
        out = []
        for r in results:
            frame = frames.get(r.rule)
            if frame is None:
                out.append(r)
                continue
            records = tuple(as_records(frame, lines, protected, self.privacy))
            out.append(with_samples(r, records))
        return out, protected
