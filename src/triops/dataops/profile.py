"""Per-column profiles: type, null share, distinct count, min/max/mean/std/quantiles, top values, histogram,
and a flag on columns that likely hold personal data (emails, phone numbers, national ids, people's names).

Statistics come from one lazy aggregate query; top values and histograms from a second batch of queries
run together. Personal-data flags read at most ``pii_sample`` non-null values per text column.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from triops.dataops.sources import open_source

QUANTILES = (0.0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0)
VALID_VALUES_MAX = 12

_PII_PATTERNS = {
    "email": re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$"),
    "phone": re.compile(r"^(\+\d{1,3}[ .-]?)?(\(\d{1,4}\)[ .-]?)?\d{2,4}([ .-]?\d{2,4}){2,4}$"),
    "national_id": re.compile(
        r"^(\d{3}-\d{2}-\d{4}|[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]|\d{6}[-+A]\d{3}[0-9A-Y]"
        r"|\d{2}[01]\d[0-3]\d-?\d{4})$",
        re.IGNORECASE,
    ),
    "person_name": re.compile(r"^[A-Z][a-z'\u2019-]+( [A-Z]\.?)?( [A-Z][a-z'\u2019-]+){1,2}$"),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NAME_HINTS = {
    "email": ("email", "e_mail", "mail"),
    "phone": ("phone", "mobile", "tel", "telephone"),
    "national_id": ("ssn", "nino", "national_id", "social_security", "passport", "tax_id", "personnummer"),
    "person_name": (
        "first_name",
        "last_name",
        "surname",
        "full_name",
        "given_name",
        "forename",
        "person_name",
    ),
}
_LOGICAL = (
    (pl.Boolean, "boolean"),
    (pl.Date, "date"),
    (pl.Time, "time"),
    (pl.String, "string"),
    (pl.Categorical, "string"),
)


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    name: str
    dtype: str
    logical_type: str
    null_count: int
    null_share: float
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    top_values: list[tuple[Any, int]] = field(default_factory=list)
    histogram: dict[str, list[float]] | None = None
    personal_data: str | None = None
    valid_values: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    row_count: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def personal_data(self) -> dict[str, str]:
        return {c.name: c.personal_data for c in self.columns if c.personal_data}

    def to_dict(self) -> dict[str, Any]:
        return {"row_count": self.row_count, "columns": {c.name: _plain(asdict(c)) for c in self.columns}}


def logical_type(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "number"
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if isinstance(dtype, pl.List | pl.Array):
        return "array"
    if isinstance(dtype, pl.Struct):
        return "object"
    return next((name for kind, name in _LOGICAL if dtype == kind), "string")


def profile(
    data: Any,
    *,
    name: str | None = None,
    top: int = 5,
    bins: int = 10,
    pii_sample: int = 1000,
    table: str | None = None,
    query: str | None = None,
) -> DatasetProfile:
    source = open_source(data, name=name, table=table, query=query)
    lf = source.lazy()
    schema = lf.collect_schema()
    cols = list(schema.names())
    numeric = [c for c in cols if schema[c].is_numeric() and schema[c] != pl.Boolean]
    ordered = [c for c in cols if c in numeric or schema[c].is_temporal() or schema[c] == pl.String]
    aggs: list[pl.Expr] = [pl.len().alias("__rows__")]
    for i, c in enumerate(cols):
        aggs += [pl.col(c).null_count().alias(f"n{i}"), pl.col(c).n_unique().alias(f"d{i}")]
        if c in ordered:
            aggs += [pl.col(c).min().alias(f"lo{i}"), pl.col(c).max().alias(f"hi{i}")]
        if c in numeric:
            aggs += [pl.col(c).mean().alias(f"mu{i}"), pl.col(c).std().alias(f"sd{i}")]
            aggs += [pl.col(c).quantile(q, "linear").alias(f"q{i}_{j}") for j, q in enumerate(QUANTILES)]
    texts = [c for c in cols if schema[c] == pl.String]
    queries = [lf.select(aggs)]
    queries += [
        lf.group_by(c)
        .len()
        .sort(["len", c], descending=[True, False], nulls_last=True)
        .head(max(top, VALID_VALUES_MAX + 1))
        for c in cols
    ]
    queries.append(lf.select(texts).head(pii_sample * 4) if texts else pl.LazyFrame())
    frames = source.collect(queries, streaming=False)
    stats = frames[0].row(0, named=True)
    rows = int(stats["__rows__"])
    hist = _histograms(lf, source, numeric, cols, stats, bins)
    out: list[ColumnProfile] = []
    for i, c in enumerate(cols):
        counts = frames[1 + i]
        tops = [(v, int(n)) for v, n in counts.iter_rows() if v is not None]
        distinct = int(stats[f"d{i}"]) - (1 if stats[f"n{i}"] else 0)
        logical = logical_type(schema[c])
        out.append(
            ColumnProfile(
                name=c,
                dtype=str(schema[c]),
                logical_type=logical,
                null_count=int(stats[f"n{i}"]),
                null_share=(stats[f"n{i}"] / rows) if rows else 0.0,
                distinct=distinct,
                min=stats.get(f"lo{i}"),
                max=stats.get(f"hi{i}"),
                mean=stats.get(f"mu{i}"),
                std=stats.get(f"sd{i}"),
                quantiles={
                    f"{q:g}": stats[f"q{i}_{j}"]
                    for j, q in enumerate(QUANTILES)
                    if stats.get(f"q{i}_{j}") is not None
                },
                top_values=tops[:top],
                histogram=hist.get(c),
                personal_data=_personal(c, frames[-1], pii_sample) if c in texts else _hint_only(c),
                valid_values=sorted(v for v, _ in tops)
                if logical == "string"
                and 0 < distinct <= VALID_VALUES_MAX
                and len(tops) == distinct
                and rows >= 4 * distinct
                else None,
            )
        )
    return DatasetProfile(rows, tuple(out))


def _histograms(
    lf: pl.LazyFrame, source: Any, numeric: list[str], cols: list[str], stats: dict[str, Any], bins: int
) -> dict[str, dict[str, list[float]]]:
    queries: list[pl.LazyFrame] = []
    edges: dict[str, list[float]] = {}
    for c in numeric:
        i = cols.index(c)
        lo, hi = stats[f"lo{i}"], stats[f"hi{i}"]
        if lo is None or hi is None:
            continue
        lo, hi = float(lo), float(hi)
        width = (hi - lo) / bins or 1.0
        edges[c] = [lo + k * width for k in range(bins + 1)]
        index = ((pl.col(c).cast(pl.Float64) - lo) / width).floor().clip(0, bins - 1).cast(pl.Int32)
        queries.append(lf.select(index.alias("b")).drop_nulls().group_by("b").len())
    if not queries:
        return {}
    frames = source.collect(queries, streaming=False)
    out: dict[str, dict[str, list[float]]] = {}
    for c, frame in zip(edges, frames, strict=True):
        counts = [0.0] * bins
        for b, n in frame.iter_rows():
            counts[int(b)] = float(n)
        out[c] = {"edges": edges[c], "counts": counts}
    return out


def _hint_only(col: str) -> str | None:
    low = col.lower()
    return next((kind for kind, hints in _NAME_HINTS.items() if low in hints), None)


def _personal(col: str, sample: pl.DataFrame, limit: int) -> str | None:
    values = [v.strip() for v in sample.get_column(col).drop_nulls().head(limit).to_list() if v.strip()]
    by_name = _hint_only(col)
    values = [v for v in values if not _ISO_DATE.match(v)]
    if not values:
        return by_name
    for kind in ("email", "national_id", "phone"):
        if sum(1 for v in values if _PII_PATTERNS[kind].match(v)) / len(values) >= 0.5:
            return kind
    # a name-like pattern alone also matches places and titles, so it counts only on a column about names
    names = sum(1 for v in values if _PII_PATTERNS["person_name"].match(v)) / len(values)
    if names >= 0.8 and "name" in col.lower() and by_name is None:
        return "person_name"
    return by_name


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
