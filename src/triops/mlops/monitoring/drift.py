"""Per-feature drift of one window against the reference, with the small-sample rules applied.

Every statistic comes back as a ``StatisticResult`` with a status: ``ok`` (a value, and its p-value and effect
size where the statistic has one), ``insufficient`` (too few rows for the rule below: never a number), or
``not_applicable`` (KS and Wasserstein on a categorical feature). Small-sample rules (``DriftRules``):

- every statistic needs at least ``min_rows`` non-null rows on each side (default 30);
- the binned statistics (PSI, Jensen–Shannon, chi-squared) also need ``min_rows_per_bin`` rows per bin on
  average on each side (default 5);
- chi-squared additionally needs Cochran's rule on its expected counts (none below 1, at most 20 % below 5),
  and at least two non-empty bins.

Effect sizes: KS's D itself; Wasserstein divided by the reference's standard deviation (in reference standard
deviations); chi-squared's Cramér's V. PSI and Jensen–Shannon are themselves effect sizes and have no p-value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from triops.errors import InvalidInputError
from triops.mlops.monitoring import statistics as st
from triops.mlops.monitoring.binning import (
    CategoricalReference,
    FeatureReference,
    NumericReference,
    aligned_category_counts,
    category_counts,
    numeric_values,
    sorted_bin_counts,
)

STATISTICS = ("psi", "ks", "chi2", "js", "wasserstein")


@dataclass(frozen=True)
class DriftRules:
    min_rows: int = 30
    min_rows_per_bin: int = 5
    bins: int = 10

    def __post_init__(self) -> None:
        for name in ("min_rows", "min_rows_per_bin", "bins"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"drift rule {name} must be a positive integer")


@dataclass(frozen=True)
class StatisticResult:
    status: str
    value: float | None = None
    p_value: float | None = None
    effect_size: float | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "value": self.value,
            "p_value": self.p_value,
            "effect_size": self.effect_size,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str
    reference_rows: int
    current_rows: int
    reference_null_fraction: float
    current_null_fraction: float
    statistics: dict[str, StatisticResult] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reference_null_fraction": self.reference_null_fraction,
            "current_null_fraction": self.current_null_fraction,
            "statistics": {name: s.as_dict() for name, s in self.statistics.items()},
        }


def _insufficient(reason: str) -> StatisticResult:
    return StatisticResult("insufficient", reason=reason)


def _binned(
    ref_counts: st.FloatArray, cur_counts: st.FloatArray, rules: DriftRules
) -> dict[str, StatisticResult]:
    bins = ref_counts.size
    need = max(rules.min_rows, rules.min_rows_per_bin * bins)
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    if min(n_ref, n_cur) < need:
        why = f"{min(n_ref, n_cur)} rows; binned statistics need {need} ({rules.min_rows_per_bin} per bin)"
        return {"psi": _insufficient(why), "js": _insufficient(why), "chi2": _insufficient(why)}
    out = {
        "psi": StatisticResult("ok", value=st.psi(ref_counts, cur_counts)),
        "js": StatisticResult("ok", value=st.jensen_shannon(ref_counts, cur_counts)),
    }
    observed, expected = st.contingency(ref_counts, cur_counts)
    if observed.shape[1] < 2:
        out["chi2"] = _insufficient("fewer than two non-empty bins")
    elif not st.cochran_ok(expected):
        out["chi2"] = _insufficient("expected counts fail Cochran's rule (min 1, at most 20% below 5)")
    else:
        stat, p, v = st.chi_squared(observed, expected)
        out["chi2"] = StatisticResult("ok", value=stat, p_value=p, effect_size=v)
    return out


def numeric_drift(reference: NumericReference, series: pl.Series, rules: DriftRules) -> FeatureDrift:
    values, null_fraction = numeric_values(series)
    current = st.sorted_window(values)  # scratch memory, used only within this call
    n_ref, n_cur = reference.sorted_values.size, current.size
    results: dict[str, StatisticResult] = {}
    if min(n_ref, n_cur) < rules.min_rows:
        why = f"{min(n_ref, n_cur)} rows; needs {rules.min_rows} on each side"
        results = {name: _insufficient(why) for name in STATISTICS}
    else:
        d, w = st.ks_and_wasserstein(reference.sorted_values, current)
        results["ks"] = StatisticResult("ok", d, st.ks_p_value(d, reference.sorted_values, current), d)
        results["wasserstein"] = StatisticResult(
            "ok", w, effect_size=w / reference.std if reference.std else None
        )
        results.update(_binned(reference.counts, sorted_bin_counts(current, reference.edges), rules))
    return FeatureDrift(
        reference.name, "numeric", n_ref, n_cur, reference.null_fraction, null_fraction, _ordered(results)
    )


def categorical_drift(reference: CategoricalReference, series: pl.Series, rules: DriftRules) -> FeatureDrift:
    counts, null_fraction = category_counts(series)
    _, ref_counts, cur_counts = aligned_category_counts(reference, counts)
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    if min(n_ref, n_cur) < rules.min_rows:
        why = f"{min(n_ref, n_cur)} rows; needs {rules.min_rows} on each side"
        results = {name: _insufficient(why) for name in ("psi", "chi2", "js")}
    else:
        results = _binned(ref_counts, cur_counts, rules)
    for name in ("ks", "wasserstein"):
        results[name] = StatisticResult("not_applicable", reason="categorical feature")
    return FeatureDrift(
        reference.name, "categorical", n_ref, n_cur, reference.null_fraction, null_fraction, _ordered(results)
    )


def _ordered(results: dict[str, StatisticResult]) -> dict[str, StatisticResult]:
    return {name: results[name] for name in STATISTICS}


def feature_drift(reference: FeatureReference, series: pl.Series, rules: DriftRules) -> FeatureDrift:
    if isinstance(reference, NumericReference):
        if not series.dtype.is_numeric():
            raise InvalidInputError(
                f"column {reference.name!r} is {series.dtype} in the window but numeric in the reference"
            )
        return numeric_drift(reference, series, rules)
    return categorical_drift(reference, series, rules)


def drift_report(
    references: Mapping[str, FeatureReference],
    window: pl.DataFrame,
    rules: DriftRules | None = None,
    *,
    threads: int | None = None,
) -> list[FeatureDrift]:
    """Drift of every reference feature in ``window``; a feature the window lacks is an error naming it.

    Columns run on a thread pool, one thread per CPU this process may use (``threads`` overrides it): numpy's
    sorts and merges release the GIL.
    """
    rules = rules or DriftRules()
    missing = [name for name in references if name not in window.columns]
    if missing:
        raise InvalidInputError(
            f"window has no column {missing[0]!r}, which the reference has",
            hint="monitor only features the model receives, or name another reference",
        )
    items = list(references.items())
    threads = available_cpus() if threads is None else threads
    if threads <= 1 or len(items) < 2:
        return [feature_drift(ref, window.get_column(name), rules) for name, ref in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda item: feature_drift(item[1], window.get_column(item[0]), rules), items))


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and ``taskset`` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def summary(report: list[FeatureDrift]) -> dict[str, Any]:
    """Per statistic: the worst value over features (max; min for p-values) and how many were computed."""
    out: dict[str, Any] = {}
    for name in STATISTICS:
        computed = [f.statistics[name] for f in report if f.statistics[name].status == "ok"]
        values = [s.value for s in computed if s.value is not None]
        p_values = [s.p_value for s in computed if s.p_value is not None]
        effects = [s.effect_size for s in computed if s.effect_size is not None]
        out[name] = {
            "max": max(values) if values else None,
            "min_p": min(p_values) if p_values else None,
            "max_effect": max(effects) if effects else None,
            "computed": len(computed),
            "insufficient": sum(1 for f in report if f.statistics[name].status == "insufficient"),
            "by_feature": {f.feature: f.statistics[name].value for f in report},
        }
    return out


def finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
