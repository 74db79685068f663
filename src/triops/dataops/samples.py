"""Failing-row samples: up to ``limit`` rows per failing rule, numbered as the data numbers them, with
protected cells masked.

In memory, the first rows are searched first (one query over a slice finds enough failures of most rules
without evaluating expensive rules — regexes — on the whole frame a second time); a rule still short of
rows gets a filter + head over the rest. Files are searched with the streaming engine, one rule at a time,
each query stopping once it has its rows. Repeated values of a uniqueness rule come from the check's main
query, so marking duplicates needs no second sort.

Rows are numbered from 1 (``row``); for CSV and JSON Lines files each sample also carries ``line``, the line
of the file it is on (the CSV header is line 1), exact even when quoted values span lines.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from triops.dataops.privacy import Privacy, detect_personal_columns, mask_sample
from triops.dataops.report import RuleResult
from triops.dataops.rules import Rule
from triops.dataops.sources import Source

_FIRST_SLICE = 1 << 16
_PII_SAMPLE = 1000


def collect_samples(
    lf: pl.LazyFrame,
    source: Source,
    rules: Mapping[str, Rule],
    marks: Mapping[str, pl.Expr],
    failed: Sequence[RuleResult],
    limit: int,
    streaming: bool,
) -> dict[str, pl.DataFrame]:
    """Up to ``limit`` failing rows per failing rule (with a ``__row__`` 0-based index column)."""
    if not failed or limit <= 0:
        return {}
    base = lf.with_row_index("__row__")
    found: dict[str, pl.DataFrame] = {}
    if not streaming:
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
    return found


def protected_in_data(
    lf: pl.LazyFrame, source: Source, schema: pl.Schema, declared: Mapping[str, str], privacy: Privacy
) -> dict[str, str]:
    """Columns to mask: the contract's restricted ones, those the caller names, and text columns whose
    first values look like personal data."""
    out = {c: f"classification: {k}" for c, k in declared.items()}
    out.update(privacy.extra)
    texts = [c for c, t in schema.items() if t == pl.String and c not in out]
    if texts:
        head = source.collect([lf.select(texts).head(_PII_SAMPLE * 4)], streaming=source.path is not None)[0]
        for c, kind in detect_personal_columns(head, texts, _PII_SAMPLE).items():
            out[c] = f"personal data: {kind}"
    return out


def as_records(
    frame: pl.DataFrame,
    lines: Mapping[int, int] | None,
    protected: Mapping[str, str],
    privacy: Privacy,
) -> list[dict[str, Any]]:
    data_cols = [c for c in frame.columns if c != "__row__"]
    out = []
    for r in frame.iter_rows(named=True):
        index = int(r["__row__"])
        record: dict[str, Any] = {"row": index + 1}
        if lines is not None:
            record["line"] = lines[index]
        values = {c: jsonable(r[c]) for c in data_cols}
        record["values"] = mask_sample(values, protected, privacy)
        out.append(record)
    return out


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value
