"""Dataset-version diff: schema changes, row counts and per-column distribution shift.

Shift is the Population Stability Index (PSI: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major) and, for
numbers, the Kolmogorov-Smirnov statistic. Both methods bin the same way:

- numbers: ten bins cut at the OLD version's deciles (nearest-rank, as ``profile`` stores its percentiles),
  each bin closed on the left;
- text and other values: the old version's ``profile.TOP_VALUES`` most frequent values, plus one bin for
  every other value.

``diff_frames`` counts the data itself (exact; KS via scipy). ``diff_profiles`` estimates the same shares
from two stored profiles (percentiles and top values) and says so (``method == "estimated"``): on samples
of one distribution the two agree within ``ESTIMATE_TOLERANCE`` in PSI (a test holds them to it).

A column whose values are all distinct (an identifier: integers or text) is reported as ``identifier``, not
as drift: new ids are expected. A protected column's profile holds no values, so only an exact diff can
measure it; from profiles it is ``not compared``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from triops.dataops.profile import TOP_VALUES, rank_positions

_EPS = 1e-4
DECILES = tuple(k / 10 for k in range(1, 10))
ESTIMATE_TOLERANCE = 0.02
"""|PSI estimated − PSI exact| on two samples of one distribution (percentiles are 1% apart)."""


@dataclass(frozen=True, slots=True)
class ColumnShift:
    column: str
    psi: float | None
    ks: float | None
    level: str
    """stable | moderate | major | identifier | not compared"""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "psi": self.psi, "ks": self.ks, "level": self.level, "note": self.note}


@dataclass(frozen=True, slots=True)
class DatasetDiff:
    old_rows: int
    new_rows: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    retyped: tuple[tuple[str, str, str], ...]
    shifts: tuple[ColumnShift, ...]
    method: str = "exact"
    """exact (counted from both versions' data) or estimated (from their stored profiles)"""

    @property
    def row_delta(self) -> int:
        return self.new_rows - self.old_rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "old_rows": self.old_rows,
            "new_rows": self.new_rows,
            "row_delta": self.row_delta,
            "added": list(self.added),
            "removed": list(self.removed),
            "retyped": [{"column": c, "old": a, "new": b} for c, a, b in self.retyped],
            "shifts": [s.to_dict() for s in self.shifts],
        }


def shift_level(psi: float) -> str:
    return "stable" if psi < 0.1 else "moderate" if psi < 0.25 else "major"


def psi(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]) -> float:
    """PSI of two share vectors over the same bins."""
    e = np.clip(expected.astype(float), _EPS, None)
    a = np.clip(actual.astype(float), _EPS, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def _shift(col: str, value: float, ks: float | None) -> ColumnShift:
    return ColumnShift(col, round(value, 6), None if ks is None else round(ks, 6), shift_level(value))


def _identifier(col: str) -> ColumnShift:
    return ColumnShift(
        col, None, None, "identifier", "every value distinct: an identifier, not compared for drift"
    )


def _schema_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[Any, Any, Any]:
    added = tuple(c for c in new if c not in old)
    removed = tuple(c for c in old if c not in new)
    retyped = tuple((c, old[c], new[c]) for c in old if c in new and old[c] != new[c])
    return added, removed, retyped


def _id_like(dtype: str, distinct: int, nulls: int, rows: int) -> bool:
    kind = dtype.lower()
    textual_or_integer = kind.startswith(("int", "uint", "str", "utf8", "categorical"))
    return textual_or_integer and rows >= 2 and nulls == 0 and distinct == rows


# -- estimated, from stored profiles ------------------------------------------------------------------------


def diff_profiles(old: Mapping[str, Any], new: Mapping[str, Any]) -> DatasetDiff:
    """Diff two ``DatasetProfile.to_dict()`` results (estimated shares, the same bins as ``diff_frames``)."""
    oc, nc = old["columns"], new["columns"]
    added, removed, retyped = _schema_changes(
        {c: v["dtype"] for c, v in oc.items()}, {c: v["dtype"] for c, v in nc.items()}
    )
    rows_a, rows_b = int(old["row_count"]), int(new["row_count"])
    shifts: list[ColumnShift] = []
    for col in [c for c in oc if c in nc]:
        a, b = oc[col], nc[col]
        if any(
            _id_like(str(p.get("dtype", "")), int(p.get("distinct", 0)), int(p.get("null_count", 0)), r)
            for p, r in ((a, rows_a), (b, rows_b))
        ):
            shifts.append(_identifier(col))
        elif a.get("protected") or b.get("protected"):
            shifts.append(
                ColumnShift(
                    col,
                    None,
                    None,
                    "not compared",
                    "protected: profiles hold no values; both versions' data are needed",
                )
            )
        elif a.get("quantiles") and b.get("quantiles"):
            shifts.append(_shift(col, *_percentile_shift(a["quantiles"], b["quantiles"])))
        elif a.get("top_values") and b.get("top_values"):
            shifts.append(_shift(col, _category_shift(a, b, rows_a, rows_b), None))
    return DatasetDiff(rows_a, rows_b, added, removed, retyped, tuple(shifts), "estimated")


def _points(quantiles: Mapping[str, float]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    keys = sorted(quantiles, key=float)
    return np.array([float(k) for k in keys]), np.array([float(quantiles[k]) for k in keys])


def share_below(quantiles: Mapping[str, float], edge: float) -> float:
    """Estimated P(X < edge) from nearest-rank percentiles: between the last percentile below the edge and
    the first at or above it (linear when the edge falls between two values; the middle of a run of ties)."""
    probs, values = _points(quantiles)
    below = np.flatnonzero(values < edge)
    at_or_above = np.flatnonzero(values >= edge)
    if not len(below):
        return 0.0
    if not len(at_or_above):
        return 1.0
    i, j = below[-1], at_or_above[0]
    if values[j] == edge:
        return float((probs[i] + probs[j]) / 2)
    t = (edge - values[i]) / (values[j] - values[i])
    return float(probs[i] + t * (probs[j] - probs[i]))


def _edges_from(quantiles: Mapping[str, float]) -> np.ndarray[Any, Any]:
    return np.unique([float(quantiles[f"{p:g}"]) for p in DECILES if f"{p:g}" in quantiles])


def _percentile_shift(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, float]:
    edges = _edges_from(a)
    cdf_a = np.array([share_below(a, e) for e in edges])
    cdf_b = np.array([share_below(b, e) for e in edges])
    share_a = np.diff(np.concatenate([[0.0], cdf_a, [1.0]]))
    share_b = np.diff(np.concatenate([[0.0], cdf_b, [1.0]]))
    grid = np.union1d(_points(a)[1], _points(b)[1])
    ks = float(max(abs(share_below(a, x) - share_below(b, x)) for x in grid)) if len(grid) else 0.0
    return psi(share_a, share_b), ks


def _category_shift(a: Mapping[str, Any], b: Mapping[str, Any], rows_a: int, rows_b: int) -> float:
    ta = {str(v): n for v, n in a["top_values"][:TOP_VALUES]}
    tb = {str(v): n for v, n in b["top_values"]}
    nn_a = rows_a - int(a.get("null_count", 0))
    nn_b = rows_b - int(b.get("null_count", 0))
    # a category beyond new's stored top values: its count is unknown, estimated as an equal part of what
    # those stored values leave over (never more than the least frequent stored one)
    unseen = max(int(b.get("distinct", len(tb))) - len(tb), 0)
    rest = max(nn_b - sum(tb.values()), 0)
    guess = min(rest / unseen, min(tb.values(), default=0)) if unseen else 0.0
    cats = list(ta)
    va = np.array([ta[c] for c in cats] + [max(nn_a - sum(ta.values()), 0)], dtype=float)
    known_b = [float(tb[c]) if c in tb else guess for c in cats]
    vb = np.array([*known_b, max(nn_b - sum(known_b), 0.0)], dtype=float)
    return psi(va / max(va.sum(), 1), vb / max(vb.sum(), 1))


# -- exact, from the data -----------------------------------------------------------------------------------


def diff_frames(old: Any, new: Any) -> DatasetDiff:
    """Exact diff of two data sets (anything ``sources.open_source`` reads), binned as ``diff_profiles``."""
    import polars as pl
    from scipy import stats

    from triops.dataops.sources import open_source

    a = open_source(old, name="old").lazy().collect()
    b = open_source(new, name="new").lazy().collect()
    added, removed, retyped = _schema_changes(
        {c: str(t) for c, t in a.schema.items()}, {c: str(t) for c, t in b.schema.items()}
    )
    shifts: list[ColumnShift] = []
    for col in [c for c in a.columns if c in b.columns]:
        sa, sb = a.get_column(col), b.get_column(col)
        if any(_id_like(str(s.dtype), s.drop_nulls().n_unique(), s.null_count(), s.len()) for s in (sa, sb)):
            shifts.append(_identifier(col))
            continue
        sa, sb = sa.drop_nulls(), sb.drop_nulls()
        if sa.len() == 0 or sb.len() == 0:
            continue
        if sa.dtype.is_numeric() and sb.dtype.is_numeric() and sa.dtype != pl.Boolean:
            xa = np.sort(sa.cast(pl.Float64).to_numpy())
            xb = sb.cast(pl.Float64).to_numpy()
            positions = rank_positions(len(xa), DECILES)
            edges = np.unique(xa[positions])
            ca = np.bincount(np.searchsorted(edges, xa, side="right"), minlength=len(edges) + 1)
            cb = np.bincount(np.searchsorted(edges, xb, side="right"), minlength=len(edges) + 1)
            value = psi(ca / ca.sum(), cb / cb.sum())
            shifts.append(_shift(col, value, float(stats.ks_2samp(xa, xb).statistic)))
        else:
            ta = sa.cast(pl.String).value_counts().sort(["count", col], descending=[True, False])
            top = [str(v) for v in ta.head(TOP_VALUES).to_series(0).to_list()]
            counts_b = dict(sb.cast(pl.String).value_counts().iter_rows())
            counts_a = dict(ta.iter_rows())
            va = np.array(
                [counts_a[c] for c in top] + [sa.len() - sum(counts_a[c] for c in top)], dtype=float
            )
            vb = np.array([counts_b.get(c, 0) for c in top], dtype=float)
            vb = np.append(vb, sb.len() - vb.sum())
            shifts.append(_shift(col, psi(va / va.sum(), vb / vb.sum()), None))
    return DatasetDiff(a.height, b.height, added, removed, retyped, tuple(shifts), "exact")
