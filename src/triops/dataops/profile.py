"""Per-column profiles: type, null share, distinct count, min/max/mean/std, percentiles, top values, text
lengths, and a flag on columns that likely hold personal data (``privacy.detect_personal_columns``).

Statistics come from one lazy aggregate query; top values, percentiles and histograms from a second batch
of queries run together. Personal-data flags read at most ``pii_sample`` non-null values per text column.

Protected columns — classified restricted/confidential by the contract (``protected=``) or flagged as
personal data — keep counts and lengths only: no min/max, mean, percentiles, top values, value sets or
histograms, so a stored profile never holds a person's data.

Percentiles are nearest-rank (the value at position ``round((n - 1) * p)`` of the sorted non-null values);
``dataset_diff`` bins on the same deciles whether it reads the data or these percentiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from triops.dataops.privacy import detect_personal_columns, name_hint
from triops.dataops.sources import open_source

PERCENTILES = tuple(k / 100 for k in range(101))
VALID_VALUES_MAX = 12
TOP_VALUES = 20
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
    length_min: int | None = None
    length_max: int | None = None
    length_mean: float | None = None
    protected: str | None = None
    """Why values are withheld (``classification: restricted``, ``personal data: email``), or None."""


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    row_count: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def personal_data(self) -> dict[str, str]:
        return {c.name: c.personal_data for c in self.columns if c.personal_data}

    @property
    def protected(self) -> dict[str, str]:
        return {c.name: c.protected for c in self.columns if c.protected}

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
    top: int = TOP_VALUES,
    bins: int = 10,
    pii_sample: int = 1000,
    table: str | None = None,
    query: str | None = None,
    protected: Mapping[str, str] | None = None,
) -> DatasetProfile:
    """Profile ``data``; columns in ``protected`` (name → classification) keep counts and lengths only."""
    source = open_source(data, name=name, table=table, query=query)
    lf = source.lazy()
    schema = lf.collect_schema()
    cols = list(schema.names())
    numeric = [c for c in cols if schema[c].is_numeric() and schema[c] != pl.Boolean]
    ordered = [c for c in cols if c in numeric or schema[c].is_temporal() or schema[c] == pl.String]
    texts = [c for c in cols if schema[c] == pl.String]
    aggs: list[pl.Expr] = [pl.len().alias("__rows__")]
    for i, c in enumerate(cols):
        aggs += [pl.col(c).null_count().alias(f"n{i}"), pl.col(c).n_unique().alias(f"d{i}")]
        if c in ordered:
            aggs += [pl.col(c).min().alias(f"lo{i}"), pl.col(c).max().alias(f"hi{i}")]
        if c in numeric:
            aggs += [pl.col(c).mean().alias(f"mu{i}"), pl.col(c).std().alias(f"sd{i}")]
        if c in texts:
            length = pl.col(c).str.len_chars()
            aggs += [
                length.min().alias(f"lmin{i}"),
                length.max().alias(f"lmax{i}"),
                length.mean().alias(f"lmu{i}"),
            ]
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
    declared = {c: f"classification: {k}" for c, k in (protected or {}).items()}
    flagged = detect_personal_columns(frames[-1], texts, pii_sample)
    personal = {c: flagged.get(c) if c in texts else name_hint(c) for c in cols}
    shielded = {
        c: declared.get(c) or (f"personal data: {personal[c]}" if personal[c] else None) for c in cols
    }
    open_numeric = [c for c in numeric if not shielded[c]]
    counts = {c: int(rows - stats[f"n{cols.index(c)}"]) for c in open_numeric}
    percentiles = _percentiles(lf, source, open_numeric, counts)
    hist = _histograms(lf, source, open_numeric, cols, stats, bins)
    out: list[ColumnProfile] = []
    for i, c in enumerate(cols):
        distinct = int(stats[f"d{i}"]) - (1 if stats[f"n{i}"] else 0)
        logical = logical_type(schema[c])
        base: dict[str, Any] = {
            "name": c,
            "dtype": str(schema[c]),
            "logical_type": logical,
            "null_count": int(stats[f"n{i}"]),
            "null_share": (stats[f"n{i}"] / rows) if rows else 0.0,
            "distinct": distinct,
            "personal_data": personal[c],
            "length_min": stats.get(f"lmin{i}"),
            "length_max": stats.get(f"lmax{i}"),
            "length_mean": stats.get(f"lmu{i}"),
        }
        if shielded[c]:
            out.append(ColumnProfile(**base, protected=shielded[c]))
            continue
        tops = [(v, int(n)) for v, n in frames[1 + i].iter_rows() if v is not None]
        out.append(
            ColumnProfile(
                **base,
                min=stats.get(f"lo{i}"),
                max=stats.get(f"hi{i}"),
                mean=stats.get(f"mu{i}"),
                std=stats.get(f"sd{i}"),
                quantiles=percentiles.get(c, {}),
                top_values=tops[:top],
                histogram=hist.get(c),
                valid_values=sorted(v for v, _ in tops)
                if logical == "string"
                and 0 < distinct <= VALID_VALUES_MAX
                and len(tops) == distinct
                and rows >= 4 * distinct
                else None,
            )
        )
    return DatasetProfile(rows, tuple(out))


def rank_positions(n: int, probs: tuple[float, ...]) -> list[int]:
    """Nearest-rank positions of ``probs`` among ``n`` sorted values (the profile's and the diff's)."""
    return [round((n - 1) * p) for p in probs]


def _percentiles(
    lf: pl.LazyFrame, source: Any, numeric: list[str], counts: Mapping[str, int]
) -> dict[str, dict[str, float]]:
    wanted = [c for c in numeric if counts[c] > 0]
    if not wanted:
        return {}
    queries = [
        lf.select(
            pl.col(c).drop_nulls().sort().gather(rank_positions(counts[c], PERCENTILES)).cast(pl.Float64)
        )
        for c in wanted
    ]
    frames = source.collect(queries, streaming=False)
    return {
        c: {f"{p:g}": float(v) for p, v in zip(PERCENTILES, f.to_series().to_list(), strict=True)}
        for c, f in zip(wanted, frames, strict=True)
    }


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


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
