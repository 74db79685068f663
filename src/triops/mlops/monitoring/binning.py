"""The reference side of drift: per-feature sorted samples, bins and category counts, computed once.

Binning rules (docs/monitoring.md repeats them for users):

- A numeric feature gets ``bins`` quantile bins of the *reference* (default 10). Interior edges are the
  reference's order statistics at ``i / bins`` ("lower" quantile: an actual reference value), duplicate edges
  are merged, and the outer bins are open (``(-inf, e1)`` … ``[ek, +inf)``) so window values outside the
  reference's range still land in a bin. A value equal to an edge belongs to the bin above it.
- A categorical feature (strings, booleans, enums, categoricals) has one bin per category seen in the
  reference or the window; a category only the window has is a bin with reference count 0 (that is drift).
- Nulls (and NaN) are not binned; their share is reported per side and is a data-quality matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from triops.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NumericReference:
    name: str
    sorted_values: FloatArray
    edges: FloatArray
    counts: FloatArray
    null_fraction: float
    std: float

    kind = "numeric"


@dataclass(frozen=True)
class CategoricalReference:
    name: str
    categories: tuple[str, ...]
    counts: FloatArray
    null_fraction: float

    kind = "categorical"


FeatureReference = NumericReference | CategoricalReference


def is_numeric(dtype: pl.DataType) -> bool:
    return bool(dtype.is_numeric()) and dtype != pl.Boolean


def numeric_values(series: pl.Series) -> tuple[FloatArray, float]:
    """Non-null, non-NaN values as float64, and the share of rows that were null or NaN. Without nulls or
    NaN a Float64 column comes back as polars' own buffer (read-only, no copy): sort it with ``np.sort``."""
    total = series.len()
    present = series.drop_nulls() if series.null_count() else series
    values = present.cast(pl.Float64).to_numpy() if present.dtype != pl.Float64 else present.to_numpy()
    nan = np.isnan(values)
    if nan.any():
        values = values[~nan]
    return values, (1.0 - values.size / total) if total else 0.0


def sorted_numeric_values(series: pl.Series) -> tuple[FloatArray, float]:
    """``numeric_values`` sorted ascending, in an array of its own (one copy, made by the sort)."""
    values, null_fraction = numeric_values(series)
    return np.sort(values), null_fraction


def quantile_edges(sorted_values: FloatArray, bins: int) -> FloatArray:
    if sorted_values.size == 0:
        return np.empty(0, dtype=np.float64)
    positions = np.floor(np.arange(1, bins) / bins * (sorted_values.size - 1)).astype(np.int64)
    return np.unique(sorted_values[positions])


def sorted_bin_counts(sorted_values: FloatArray, edges: FloatArray) -> FloatArray:
    """Rows per bin of an already sorted sample: ``len(edges) + 1`` counts, no pass over the data."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    bounds = np.concatenate([[0], cuts, [sorted_values.size]])
    return np.diff(bounds).astype(np.float64)


def numeric_reference(series: pl.Series, bins: int) -> NumericReference:
    values, null_fraction = sorted_numeric_values(series)
    edges = quantile_edges(values, bins)
    std = float(np.std(values)) if values.size else 0.0
    return NumericReference(series.name, values, edges, sorted_bin_counts(values, edges), null_fraction, std)


def category_counts(series: pl.Series) -> tuple[dict[str, float], float]:
    total = series.len()
    present = series.drop_nulls() if series.null_count() else series
    present = present if present.dtype == pl.String else present.cast(pl.String)
    counted = present.value_counts()
    counts = {str(k): float(v) for k, v in zip(counted[:, 0].to_list(), counted[:, 1].to_list(), strict=True)}
    return counts, (1.0 - present.len() / total) if total else 0.0


def categorical_reference(series: pl.Series) -> CategoricalReference:
    counts, null_fraction = category_counts(series)
    categories = tuple(sorted(counts))
    return CategoricalReference(
        series.name, categories, np.array([counts[c] for c in categories], dtype=np.float64), null_fraction
    )


def aligned_category_counts(
    reference: CategoricalReference, current: dict[str, float]
) -> tuple[tuple[str, ...], FloatArray, FloatArray]:
    """Both sides' counts over the union of categories (reference order first, then new ones sorted)."""
    new = sorted(set(current) - set(reference.categories))
    categories = reference.categories + tuple(new)
    ref = np.concatenate([reference.counts, np.zeros(len(new))])
    cur = np.array([current.get(c, 0.0) for c in categories], dtype=np.float64)
    return categories, ref, cur


def build_references(frame: pl.DataFrame, features: list[str], bins: int) -> dict[str, FeatureReference]:
    """The reference of every named feature; a name the frame lacks is an error naming it."""
    if bins < 2:
        raise InvalidInputError(f"bins must be at least 2, got {bins}", hint="use 10 (the default) or more")
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"reference has no column {missing[0]!r}", hint=f"its columns are: {', '.join(frame.columns)}"
        )
    references: dict[str, FeatureReference] = {}
    for name in features:
        series = frame.get_column(name)
        references[name] = (
            numeric_reference(series, bins) if is_numeric(series.dtype) else categorical_reference(series)
        )
    return references
