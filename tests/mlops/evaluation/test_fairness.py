"""Fairness slices: fairlearn MetricFrame per group, parity gaps, small groups reported as insufficient."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
)

from triops.errors import InvalidInputError
from triops.mlops.evaluation.evaluate import evaluate_classification
from triops.mlops.evaluation.fairness import fairness_report


def _data(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.3, 0.7])
    nwhite = rng.choice(["no", "yes"], n, p=[0.85, 0.15])
    y = rng.integers(0, 2, n).astype(float)
    pred = np.where(rng.random(n) < np.where(sex == "male", 0.6, 0.4), 1.0, 0.0)
    return y, pred, sex, nwhite


def test_gaps_equal_fairlearn_when_all_groups_are_large() -> None:
    y, pred, sex, nwhite = _data()
    report = fairness_report(y, pred, {"sex": sex, "nwhite": nwhite})
    for name, groups in (("sex", sex), ("nwhite", nwhite)):
        r = report[name]
        assert r.demographic_parity_difference == pytest.approx(
            demographic_parity_difference(y, pred, sensitive_features=groups)
        )
        assert r.demographic_parity_ratio == pytest.approx(
            demographic_parity_ratio(y, pred, sensitive_features=groups)
        )
        assert r.equalized_odds_difference == pytest.approx(
            equalized_odds_difference(y, pred, sensitive_features=groups)
        )
        assert not r.excluded_groups


def test_per_group_selection_rate_and_counts() -> None:
    y, pred, sex, _ = _data()
    groups = {g.group: g for g in fairness_report(y, pred, {"sex": sex})["sex"].groups}
    assert groups["male"].count == int(np.sum(sex == "male"))
    assert groups["male"].metrics["selection_rate"] == pytest.approx(pred[sex == "male"].mean())
    tpr = pred[(sex == "female") & (y == 1)].mean()
    assert groups["female"].metrics["true_positive_rate"] == pytest.approx(tpr)


def test_small_group_is_insufficient_not_a_number_and_left_out_of_gaps() -> None:
    y, pred, sex, _ = _data()
    sex = sex.astype(object)
    sex[:12] = "other"
    report = fairness_report(y, pred, {"sex": sex}, min_group_size=30)["sex"]
    other = next(g for g in report.groups if g.group == "other")
    assert not other.sufficient
    assert all(v is None for v in other.metrics.values())
    assert other.note == "insufficient data: 12 rows < 30"
    assert report.excluded_groups == ("other",)
    keep = sex != "other"
    assert report.demographic_parity_difference == pytest.approx(
        demographic_parity_difference(y[keep], pred[keep], sensitive_features=sex[keep])
    )


def test_fewer_than_two_large_groups_gives_no_gap() -> None:
    y, pred, _, _ = _data(100)
    groups = np.array(["a"] * 90 + ["b"] * 10)
    report = fairness_report(y, pred, {"g": groups})["g"]
    assert report.demographic_parity_difference is None
    assert report.note is not None
    assert "1 group(s)" in report.note


def test_group_without_positives_reports_undefined_rate() -> None:
    y = np.array([0.0] * 40 + [1.0] * 20 + [0.0] * 20)
    pred = np.array([1.0, 0.0] * 40)
    groups = np.array(["a"] * 40 + ["b"] * 40)
    a = next(g for g in fairness_report(y, pred, {"g": groups})["g"].groups if g.group == "a")
    assert a.metrics["true_positive_rate"] is None
    assert a.note is not None
    assert "true_positive_rate" in a.note


def test_length_mismatch_and_bad_min_group_size_are_refused() -> None:
    y, pred, sex, _ = _data(50)
    with pytest.raises(InvalidInputError, match="'sex' has 10 rows"):
        fairness_report(y, pred, {"sex": sex[:10]})
    with pytest.raises(InvalidInputError, match="min_group_size"):
        fairness_report(y, pred, {"sex": sex}, min_group_size=0)


def test_evaluation_carries_fairness_per_attribute() -> None:
    y, pred, sex, nwhite = _data()
    proba = np.clip(pred * 0.8 + 0.1, 0, 1)
    result = evaluate_classification(y, proba, sensitive={"sex": sex, "nwhite": nwhite}, resamples=20)
    assert set(result.fairness) == {"sex", "nwhite"}
    assert result.to_dict()["fairness"]["sex"]["demographic_parity_difference"] is not None


GAPS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")


def _gaps_by_hand(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    names = np.unique(groups)
    selection = np.array([pred[groups == g].mean() for g in names])
    tpr = np.array([pred[(groups == g) & (y == 1)].mean() for g in names])
    fpr = np.array([pred[(groups == g) & (y == 0)].mean() for g in names])
    return {
        "demographic_parity_difference": selection.max() - selection.min(),
        "demographic_parity_ratio": selection.min() / selection.max(),
        "equalized_odds_difference": max(tpr.max() - tpr.min(), fpr.max() - fpr.min()),
    }


def _naive_gap_bootstrap(
    y: np.ndarray, pred: np.ndarray, groups: np.ndarray, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """The reference: resample rows in a plain loop and compute each gap by hand."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {g: [] for g in GAPS}
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        for gap, value in _gaps_by_hand(y[i], pred[i], groups[i]).items():
            out[gap].append(value)
    return {k: np.asarray(v) for k, v in out.items()}


def test_gap_intervals_agree_with_a_naive_bootstrap() -> None:
    y, pred, sex, _ = _data(n=1500, seed=3)
    report = fairness_report(y, pred, {"sex": sex}, resamples=2000, seed=1)["sex"]
    by_hand = _gaps_by_hand(y, pred, sex)
    naive = _naive_gap_bootstrap(y, pred, sex, resamples=2000, seed=2)
    for gap in GAPS:
        assert by_hand[gap] == pytest.approx(getattr(report, gap))
        low, high = report.intervals[gap]["low"], report.intervals[gap]["high"]
        assert low is not None and high is not None
        assert low <= getattr(report, gap) <= high
        ref_low, ref_high = np.percentile(naive[gap], [2.5, 97.5])
        # two independent bootstraps of the same data: the ends agree to well within the interval's width
        assert abs(low - ref_low) < 0.25 * (high - low), gap
        assert abs(high - ref_high) < 0.25 * (high - low), gap


def test_gap_intervals_are_seeded_and_narrow_with_more_rows() -> None:
    small = _data(n=400, seed=5)
    large = _data(n=40_000, seed=5)
    first = fairness_report(small[0], small[1], {"sex": small[2]}, resamples=500, seed=9)["sex"]
    again = fairness_report(small[0], small[1], {"sex": small[2]}, resamples=500, seed=9)["sex"]
    assert first.intervals == again.intervals
    wide = first.intervals["demographic_parity_difference"]
    narrow = fairness_report(large[0], large[1], {"sex": large[2]}, resamples=500, seed=9)["sex"].intervals[
        "demographic_parity_difference"
    ]
    assert narrow["high"] - narrow["low"] < (wide["high"] - wide["low"]) / 5


def test_no_resamples_no_intervals_and_small_groups_stay_out() -> None:
    y, pred, sex, _ = _data()
    assert fairness_report(y, pred, {"sex": sex})["sex"].intervals == {}
    groups = sex.copy()
    groups[:5] = "tiny"  # 5 rows: insufficient, so neither in the gaps nor in their intervals
    report = fairness_report(y, pred, {"sex": groups}, resamples=300, seed=0)["sex"]
    assert report.excluded_groups == ("tiny",)
    dp = report.intervals["demographic_parity_difference"]
    assert dp["low"] is not None and dp["low"] <= report.demographic_parity_difference <= dp["high"]


def test_a_rate_undefined_in_some_resamples_still_gives_an_interval() -> None:
    rng = np.random.default_rng(0)
    groups = np.array(["a"] * 60 + ["b"] * 60, dtype=object)
    y = np.zeros(120)
    y[[0, 70]] = 1  # one positive per group: many resamples draw none, so TPR is undefined there
    pred = (rng.random(120) < 0.5).astype(float)
    report = fairness_report(y, pred, {"g": groups}, resamples=400, seed=0, min_group_size=30)["g"]
    eod = report.intervals["equalized_odds_difference"]
    assert eod["low"] is not None and 0 <= eod["low"] <= eod["high"] <= 1


def test_evaluation_passes_its_bootstrap_settings_to_the_gaps() -> None:
    y, pred, sex, _ = _data()
    result = evaluate_classification(y, pred, sensitive={"sex": sex}, resamples=200, seed=4, confidence=0.9)
    expected = fairness_report(y, pred, {"sex": sex}, resamples=200, seed=4, confidence=0.9)["sex"]
    assert result.fairness["sex"].intervals == expected.intervals
    assert set(result.to_dict()["fairness"]["sex"]["intervals"]) == set(GAPS)
