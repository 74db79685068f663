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
from triops.mlops.evaluation import evaluate_classification
from triops.mlops.fairness import fairness_report


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
