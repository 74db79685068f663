"""Dataset-version diff: schema changes, row counts and per-column distribution shift.

Shift is the Population Stability Index (PSI: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major) and, for
numbers, the Kolmogorov-Smirnov statistic. ``diff_frames`` computes both exactly from two data sets (KS via
scipy); ``diff_profiles`` estimates them from two stored profiles (quantiles and top values), which is what
``triops datasets diff NAME V1 V2`` has when the data itself is not at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

_EPS = 1e-4


@dataclass(frozen=True, slots=True)
class ColumnShift:
    column: str
    psi: float
    ks: float | None
    level: str

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "psi": self.psi, "ks": self.ks, "level": self.level}


@dataclass(frozen=True, slots=True)
class DatasetDiff:
    old_rows: int
    new_rows: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    retyped: tuple[tuple[str, str, str], ...]
    shifts: tuple[ColumnShift, ...]

    @property
    def row_delta(self) -> int:
        return self.new_rows - self.old_rows

    def to_dict(self) -> dict[str, Any]:
        return {
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


def _schema_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[Any, Any, Any]:
    added = tuple(c for c in new if c not in old)
    removed = tuple(c for c in old if c not in new)
    retyped = tuple((c, old[c], new[c]) for c in old if c in new and old[c] != new[c])
    return added, removed, retyped


def diff_profiles(old: Mapping[str, Any], new: Mapping[str, Any]) -> DatasetDiff:
    """Diff two ``DatasetProfile.to_dict()`` results."""
    oc, nc = old["columns"], new["columns"]
    added, removed, retyped = _schema_changes(
        {c: v["dtype"] for c, v in oc.items()}, {c: v["dtype"] for c, v in nc.items()}
    )
    shifts: list[ColumnShift] = []
    for col in [c for c in oc if c in nc]:
        a, b = oc[col], nc[col]
        covered = all(0 < int(p.get("distinct", 0)) <= len(p.get("top_values") or []) for p in (a, b))
        if a.get("quantiles") and b.get("quantiles") and not covered:
            value, ks = _quantile_shift(a["quantiles"], b["quantiles"])
        elif covered or (a.get("top_values") and b.get("top_values")):
            value, ks = _category_shift(a, b, int(old["row_count"]), int(new["row_count"])), None
        else:
            continue
        shifts.append(
            ColumnShift(col, round(value, 6), None if ks is None else round(ks, 6), shift_level(value))
        )
    return DatasetDiff(int(old["row_count"]), int(new["row_count"]), added, removed, retyped, tuple(shifts))


def _quantile_shift(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, float]:
    keys = sorted((k for k in a if k in b), key=float)
    probs = np.array([float(k) for k in keys])
    qa = np.array([float(a[k]) for k in keys])
    qb = np.array([float(b[k]) for k in keys])
    distinct = np.unique(qa)
    edges = distinct[:-1] if len(distinct) > 1 else distinct
    share_a = np.diff(np.concatenate([[0.0], _cdf(qa, probs, edges), [1.0]]))
    share_b = np.diff(np.concatenate([[0.0], _cdf(qb, probs, edges), [1.0]]))
    grid = np.union1d(qa, qb)
    ks = float(np.max(np.abs(_cdf(qa, probs, grid) - _cdf(qb, probs, grid))))
    return psi(share_a, share_b), ks


def _cdf(quantiles: np.ndarray[Any, Any], probs: np.ndarray[Any, Any], x: np.ndarray[Any, Any]) -> Any:
    """Piecewise-linear CDF through the quantile points (right-continuous at repeated values)."""
    values = np.unique(quantiles)
    at = np.array([probs[quantiles == v].max() for v in values])
    if len(values) == 1:
        return np.where(x >= values[0], 1.0, 0.0)
    return np.interp(x, values, at, left=0.0, right=1.0)


def _category_shift(a: Mapping[str, Any], b: Mapping[str, Any], rows_a: int, rows_b: int) -> float:
    ta = {str(v): n for v, n in a["top_values"]}
    tb = {str(v): n for v, n in b["top_values"]}
    cats = sorted(set(ta) | set(tb))
    va = np.array([ta.get(c, 0) for c in cats] + [max(rows_a - sum(ta.values()), 0)], dtype=float)
    vb = np.array([tb.get(c, 0) for c in cats] + [max(rows_b - sum(tb.values()), 0)], dtype=float)
    return psi(va / max(va.sum(), 1), vb / max(vb.sum(), 1))


def diff_frames(old: Any, new: Any, *, bins: int = 10) -> DatasetDiff:
    """Exact diff of two data sets (anything ``sources.open_source`` reads)."""
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
        sa, sb = a.get_column(col).drop_nulls(), b.get_column(col).drop_nulls()
        if sa.len() == 0 or sb.len() == 0:
            continue
        if sa.dtype.is_numeric() and sb.dtype.is_numeric() and sa.dtype != pl.Boolean:
            xa, xb = sa.cast(pl.Float64).to_numpy(), sb.cast(pl.Float64).to_numpy()
            edges = np.unique(np.quantile(xa, np.linspace(0, 1, bins + 1)))
            inner = edges[1:-1]
            ca = np.bincount(np.searchsorted(inner, xa, side="right"), minlength=len(inner) + 1)
            cb = np.bincount(np.searchsorted(inner, xb, side="right"), minlength=len(inner) + 1)
            value = psi(ca / ca.sum(), cb / cb.sum())
            ks: float | None = float(stats.ks_2samp(xa, xb).statistic)
        else:
            va = sa.cast(pl.String).value_counts()
            vb = sb.cast(pl.String).value_counts()
            ta = dict(va.iter_rows())
            tb = dict(vb.iter_rows())
            cats = sorted(set(ta) | set(tb))
            value = psi(np.array([ta.get(c, 0) for c in cats]), np.array([tb.get(c, 0) for c in cats]))
            ks = None
        shifts.append(
            ColumnShift(col, round(value, 6), None if ks is None else round(ks, 6), shift_level(value))
        )
    return DatasetDiff(a.height, b.height, added, removed, retyped, tuple(shifts))
