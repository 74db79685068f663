"""One window's facts: drift, prediction drift, data quality, performance and fairness (pure: no I/O).

The facts are what alert policies read (CEL), so their names are the public contract, documented in
docs/monitoring.md::

    window.{index, rows, labelled, start_ms, end_ms}
    drift.<statistic>.{max, min_p, max_effect, computed, insufficient, by_feature.<feature>}
    prediction_drift.<statistic>.{value, p_value, effect_size}      (null when insufficient)
    quality.{passed, score, failed_rules}                          (null without a training contract)
    performance.<metric>.{value, lower, upper}                      (null until enough labels arrive)
    fairness.{max_gap, max_gap_upper, gaps.<attribute>.<gap>}       (null until enough labels arrive)

Performance needs ``min_labels`` labelled rows with both classes (classification) and reports each metric
with its bootstrap percentile interval (``triops.mlops.evaluation``); fairness gaps are the
demographic-parity and equalised-odds differences of every sensitive attribute, with their intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.evaluation.evaluate import EvaluationResult, evaluate_classification, evaluate_regression
from triops.mlops.monitoring.drift import STATISTICS, FeatureDrift, summary
from triops.mlops.monitoring.windows import Window

GAPS = ("demographic_parity_difference", "equalized_odds_difference")


def window_performance(
    labels: npt.NDArray[Any],
    scores: npt.NDArray[np.float64] | None,
    outputs: npt.NDArray[Any],
    sensitive: Mapping[str, npt.NDArray[Any]],
    *,
    pos_label: Any,
    min_labels: int,
    resamples: int,
    seed: int = 0,
) -> tuple[EvaluationResult | None, str | None]:
    """Metrics with bootstrap intervals of the labelled rows of a window, or None and why not."""
    if labels.size < min_labels:
        return None, f"{labels.size} labelled rows; performance needs {min_labels}"
    try:
        if scores is not None:
            if np.isnan(scores).any():
                return None, "some labelled predictions have no score"
            return (
                evaluate_classification(
                    labels,
                    scores,
                    pos_label=pos_label,
                    sensitive=sensitive or None,
                    resamples=resamples,
                    seed=seed,
                ),
                None,
            )
        return (
            evaluate_regression(
                labels.astype(np.float64),
                outputs.astype(np.float64),
                sensitive=sensitive or None,
                resamples=resamples,
            ),
            None,
        )
    except InvalidInputError as exc:  # one class only, mismatched lengths: a reason, not a crash
        return None, exc.message
    except (TypeError, ValueError) as exc:
        return None, f"labels do not fit the model's outputs ({exc})"


def _performance_facts(result: EvaluationResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {
        name: {"value": m.value, "lower": m.low, "upper": m.high}
        for name, m in result.metrics.items()
        if m.value is not None
    }


def _fairness_facts(result: EvaluationResult | None) -> dict[str, Any]:
    gaps: dict[str, dict[str, float | None]] = {}
    values: list[float] = []
    uppers: list[float] = []
    for attribute, report in (result.fairness if result else {}).items():
        entry: dict[str, float | None] = {}
        for gap in GAPS:
            value = getattr(report, gap)
            high = (report.intervals.get(gap) or {}).get("high")
            entry[gap] = value
            entry[f"{gap}_upper"] = high
            if value is not None:
                values.append(float(value))
            if high is not None:
                uppers.append(float(high))
        gaps[attribute] = entry
    return {
        "max_gap": max(values) if values else None,
        "max_gap_upper": max(uppers) if uppers else None,
        "gaps": gaps,
    }


def prediction_facts(prediction: FeatureDrift | None) -> dict[str, Any]:
    if prediction is None:
        return {name: None for name in STATISTICS}
    out: dict[str, Any] = {}
    for name, stat in prediction.statistics.items():
        out[name] = (
            None
            if stat.status != "ok"
            else {"value": stat.value, "p_value": stat.p_value, "effect_size": stat.effect_size}
        )
    return out


def window_facts(
    window: Window,
    *,
    start_ms: int,
    end_ms: int,
    labelled: int,
    drift: list[FeatureDrift],
    prediction: FeatureDrift | None,
    quality: dict[str, Any] | None,
    performance: EvaluationResult | None,
) -> dict[str, Any]:
    """The JSON-like facts of one window (see the module docstring for the names)."""
    return {
        "window": {
            "index": window.index,
            "rows": window.rows,
            "labelled": labelled,
            "start_ms": start_ms,
            "end_ms": end_ms,
        },
        "drift": summary(drift),
        "prediction_drift": prediction_facts(prediction),
        "quality": quality if quality is not None else {"passed": None, "score": None, "failed_rules": None},
        "performance": _performance_facts(performance),
        "fairness": _fairness_facts(performance),
    }
