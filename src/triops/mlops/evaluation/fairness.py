"""Per-group results with fairlearn's ``MetricFrame``: selection rate, error rates and the fairness gaps.

For each sensitive attribute separately: per group its row count, selection rate, accuracy, true and
false positive rates (classification) or MAE and RMSE (regression); then demographic-parity difference
and ratio and equalised-odds difference between groups. A group with fewer than ``min_group_size`` rows
is reported as insufficient (its metrics are ``None`` with the reason) and is left out of the gaps, since a
gap computed from a handful of rows would be noise presented as a finding.

Each gap also gets a bootstrap percentile interval: rows are resampled as in ``triops.mlops.evaluation.bootstrap``,
collapsed first into (group, label, prediction) cells, so every resample's per-group rates and gaps come
from one array operation, with no loop per resample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.evaluation.bootstrap import percentile_interval, resample_counts

DEFAULT_MIN_GROUP_SIZE = 30


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    group: str
    count: int
    sufficient: bool
    metrics: dict[str, float | None]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FairnessReport:
    attribute: str
    min_group_size: int
    groups: list[GroupMetrics]
    demographic_parity_difference: float | None = None
    demographic_parity_ratio: float | None = None
    equalized_odds_difference: float | None = None
    excluded_groups: tuple[str, ...] = ()
    note: str | None = None
    intervals: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """gap name → {"low", "high"}: the bootstrap percentile interval of each gap, at the evaluation's
    confidence; empty when no resamples were asked for or the gaps were not computed"""


def _none_if_nan(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


# The classification metrics take sample weights: rows are first collapsed into (group, label,
# prediction) cells with their counts, so MetricFrame (which copies every row it hands a metric) sees a
# handful of weighted rows instead of every row; the results are the same.


def _count(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    return float(len(y_true) if sample_weight is None else np.sum(sample_weight))


def _weights(y_true: Any, sample_weight: Any) -> npt.NDArray[np.float64]:
    if sample_weight is None:
        return np.ones(len(y_true))
    return np.asarray(sample_weight, dtype=np.float64)


def _accuracy(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    w = _weights(y_true, sample_weight)
    return float(np.sum(w * (np.asarray(y_true) == np.asarray(y_pred))) / np.sum(w))


def _selection_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    w = _weights(y_true, sample_weight)
    return float(np.sum(w * (np.asarray(y_pred) == 1)) / np.sum(w))


def _rate_among(y_true: Any, y_pred: Any, sample_weight: Any, label: float) -> float:
    w = _weights(y_true, sample_weight)
    among = np.asarray(y_true) == label
    total = np.sum(w[among])
    return float(np.sum(w[among] * (np.asarray(y_pred)[among] == 1)) / total) if total > 0 else float("nan")


def _true_positive_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    return _rate_among(y_true, y_pred, sample_weight, 1)


def _false_positive_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    return _rate_among(y_true, y_pred, sample_weight, 0)


def _mae(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def _rmse(y_true: Any, y_pred: Any) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


_CLASSIFICATION = {
    "count": _count,
    "selection_rate": _selection_rate,
    "accuracy": _accuracy,
    "true_positive_rate": _true_positive_rate,
    "false_positive_rate": _false_positive_rate,
}


def _frame(task: str, y: npt.NDArray[Any], pred: npt.NDArray[Any], groups: npt.NDArray[Any]) -> Any:
    import warnings

    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    from fairlearn.metrics import MetricFrame  # type: ignore[import-untyped, unused-ignore]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined rates in a group become NaN, reported as None below
        if task != "classification":
            metrics = {"count": _count, "mae": _mae, "rmse": _rmse}
            return MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=groups)
        cells = (
            pd.DataFrame({"g": groups, "y": y.astype(np.float64), "p": pred.astype(np.float64)})
            .groupby(["g", "y", "p"], sort=True)
            .size()
            .reset_index(name="w")
        )
        weights = cells["w"].to_numpy(dtype=np.float64)
        return MetricFrame(
            metrics=_CLASSIFICATION,
            y_true=cells["y"].to_numpy(),
            y_pred=cells["p"].to_numpy(),
            sensitive_features=cells["g"].to_numpy(),
            sample_params={name: {"sample_weight": weights} for name in _CLASSIFICATION},
        )


def gap_replicates(
    y: npt.NDArray[Any],
    pred: npt.NDArray[Any],
    groups: npt.NDArray[Any],
    *,
    resamples: int,
    seed: int,
) -> dict[str, npt.NDArray[np.float64]]:
    """Every resample's demographic-parity difference and ratio and equalised-odds difference.

    ``y`` and ``pred`` are 0/1; a rate undefined in a resample (a group with no positives, say) is left
    out of that resample's gap, as it is of the point estimate."""
    names, group_of_row = np.unique(groups, return_inverse=True)
    n_groups = len(names)
    cell = group_of_row.astype(np.int64) * 4 + 2 * y.astype(np.int64) + pred.astype(np.int64)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[npt.NDArray[np.float64]]] = {"dp_diff": [], "dp_ratio": [], "eo_diff": []}
    with np.errstate(invalid="ignore", divide="ignore"):
        for counts in resample_counts(cell, n_groups * 4, resamples, rng):
            c = counts.reshape(len(counts), n_groups, 4)  # per group: (y0 p0, y0 p1, y1 p0, y1 p1)
            selection = (c[..., 1] + c[..., 3]) / c.sum(axis=2)
            tpr = c[..., 3] / (c[..., 2] + c[..., 3])
            fpr = c[..., 1] / (c[..., 0] + c[..., 1])
            parts["dp_diff"].append(_spread(selection))
            parts["dp_ratio"].append(_low(selection) / _high(selection))
            parts["eo_diff"].append(np.fmax(_spread(tpr), _spread(fpr)))
    return {
        "demographic_parity_difference": np.concatenate(parts["dp_diff"]),
        "demographic_parity_ratio": np.concatenate(parts["dp_ratio"]),
        "equalized_odds_difference": np.concatenate(parts["eo_diff"]),
    }


def _high(rates: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    finite = np.where(np.isfinite(rates), rates, -np.inf).max(axis=1)
    return np.where(np.isfinite(finite), finite, np.nan)


def _low(rates: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    finite = np.where(np.isfinite(rates), rates, np.inf).min(axis=1)
    return np.where(np.isfinite(finite), finite, np.nan)


def _spread(rates: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Largest minus smallest defined rate per resample (NaN when no rate is defined)."""
    return _high(rates) - _low(rates)


def attribute_report(
    attribute: str,
    y: npt.NDArray[Any],
    pred: npt.NDArray[Any],
    groups: npt.NDArray[Any],
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    task: str = "classification",
    resamples: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> FairnessReport:
    """Per-group metrics and the between-group gaps for one sensitive attribute."""
    frame = _frame(task, y, pred, groups)
    by_group = frame.by_group
    results: list[GroupMetrics] = []
    sufficient: list[str] = []
    for group, row in by_group.iterrows():
        n = int(row["count"])
        name = str(group)
        if n < min_group_size:
            results.append(
                GroupMetrics(
                    name,
                    n,
                    False,
                    {k: None for k in by_group.columns if k != "count"},
                    f"insufficient data: {n} rows < {min_group_size}",
                )
            )
            continue
        sufficient.append(name)
        values = {k: _none_if_nan(v) for k, v in row.items() if k != "count"}
        undefined = [k for k, v in values.items() if v is None]
        note = f"undefined in this group: {', '.join(undefined)}" if undefined else None
        results.append(GroupMetrics(name, n, True, values, note))
    excluded = tuple(g.group for g in results if not g.sufficient)
    if task != "classification":
        return FairnessReport(attribute, min_group_size, results, excluded_groups=excluded)
    if len(sufficient) < 2:
        return FairnessReport(
            attribute,
            min_group_size,
            results,
            excluded_groups=excluded,
            note=f"gaps not computed: {len(sufficient)} group(s) with at least {min_group_size} rows",
        )
    if excluded:
        keep = np.isin(groups, np.array(sufficient, dtype=object))
        y, pred, groups = y[keep], pred[keep], groups[keep]
        frame = _frame(task, y, pred, groups)
    intervals: dict[str, dict[str, float | None]] = {}
    if resamples > 0:
        for gap, replicates in gap_replicates(y, pred, groups, resamples=resamples, seed=seed).items():
            low, high = percentile_interval(replicates, confidence)
            intervals[gap] = {"low": low, "high": high}
    diff = frame.difference(method="between_groups")
    ratio = frame.ratio(method="between_groups")
    tpr, fpr = _none_if_nan(diff["true_positive_rate"]), _none_if_nan(diff["false_positive_rate"])
    eod = None if tpr is None or fpr is None else max(tpr, fpr)
    return FairnessReport(
        attribute,
        min_group_size,
        results,
        demographic_parity_difference=_none_if_nan(diff["selection_rate"]),
        demographic_parity_ratio=_none_if_nan(ratio["selection_rate"]),
        equalized_odds_difference=eod,
        excluded_groups=excluded,
        note=f"groups left out of the gaps: {', '.join(excluded)}" if excluded else None,
        intervals=intervals,
    )


def fairness_report(
    y: npt.NDArray[Any],
    pred: npt.NDArray[Any],
    sensitive: Mapping[str, Sequence[Any] | npt.NDArray[Any]],
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    task: str = "classification",
    resamples: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, FairnessReport]:
    """One report per sensitive attribute. Classification takes 0/1 labels and 0/1 predictions;
    ``resamples`` > 0 adds bootstrap intervals to its gaps."""
    if min_group_size < 1:
        raise InvalidInputError(f"min_group_size is {min_group_size}; it must be at least 1")
    out = {}
    for attribute, values in sensitive.items():
        groups = np.asarray(values).astype(str).astype(object)
        if len(groups) != len(y):
            raise InvalidInputError(
                f"sensitive column {attribute!r} has {len(groups)} rows but the target has {len(y)}"
            )
        out[attribute] = attribute_report(
            attribute,
            np.asarray(y),
            np.asarray(pred),
            groups,
            min_group_size=min_group_size,
            task=task,
            resamples=resamples,
            seed=seed,
            confidence=confidence,
        )
    return out
