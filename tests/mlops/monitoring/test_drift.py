"""Per-feature drift: small-sample rules, categorical bins, missing columns, and the shifted-data signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from triops.errors import InvalidInputError
from triops.mlops.monitoring.binning import build_references
from triops.mlops.monitoring.drift import DriftRules, drift_report, summary
from triops.mlops.monitoring.windows import WindowSpec, count_windows, split, time_windows


def _frames(n_ref: int, n_cur: int, shift: float = 0.0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(3)
    ref = pl.DataFrame(
        {"age": rng.normal(40, 10, n_ref), "state": rng.choice(["CA", "NY", "TX"], n_ref, p=[0.5, 0.3, 0.2])}
    )
    cur = pl.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n_cur),
            "state": rng.choice(["CA", "NY", "TX"], n_cur, p=[0.2, 0.3, 0.5] if shift else [0.5, 0.3, 0.2]),
        }
    )
    return ref, cur


def test_shifted_window_drifts_and_equals_scipy_on_the_features() -> None:
    ref, cur = _frames(5000, 4000, shift=8.0)
    report = {f.feature: f for f in drift_report(build_references(ref, ["age", "state"], 10), cur)}
    age = report["age"].statistics
    assert age["ks"].value == pytest.approx(stats.ks_2samp(ref["age"], cur["age"]).statistic, abs=1e-12)
    assert age["wasserstein"].value == pytest.approx(
        stats.wasserstein_distance(ref["age"], cur["age"]), rel=1e-9
    )
    assert age["psi"].value is not None and age["psi"].value > 0.2
    state = report["state"].statistics
    table = np.array(
        [
            [(ref["state"] == s).sum() for s in ("CA", "NY", "TX")],
            [(cur["state"] == s).sum() for s in ("CA", "NY", "TX")],
        ]
    )
    assert state["chi2"].value == pytest.approx(stats.chi2_contingency(table).statistic, rel=1e-9)
    assert state["ks"].status == "not_applicable" and state["ks"].value is None
    facts = summary(list(report.values()))
    assert facts["psi"]["max"] == max(age["psi"].value, state["psi"].value)


def test_unshifted_window_shows_no_material_drift() -> None:
    ref, cur = _frames(5000, 4000)
    facts = summary(drift_report(build_references(ref, ["age", "state"], 10), cur))
    assert facts["psi"]["max"] < 0.05 and facts["ks"]["min_p"] > 0.001


def test_too_few_rows_are_insufficient_never_a_number() -> None:
    ref, cur = _frames(1000, 20)
    for feature in drift_report(build_references(ref, ["age", "state"], 10), cur):
        for name, result in feature.statistics.items():
            assert result.value is None and result.p_value is None
            assert result.status in ("insufficient", "not_applicable"), name
    # enough rows for KS and Wasserstein, too few per bin for the binned statistics
    ref, cur = _frames(1000, 40)
    age = drift_report(build_references(ref, ["age"], 10), cur)[0].statistics
    assert (
        age["ks"].status == "ok"
        and age["psi"].status == "insufficient"
        and "per bin" in (age["psi"].reason or "")
    )


def test_chi_squared_fails_cochran_on_a_rare_category() -> None:
    ref = pl.DataFrame({"c": ["a"] * 500 + ["b"] * 500 + ["rare"] * 2})
    cur = pl.DataFrame({"c": ["a"] * 50 + ["b"] * 50})
    result = drift_report(build_references(ref, ["c"], 10), cur, DriftRules(min_rows_per_bin=1))[0]
    assert result.statistics["chi2"].status == "insufficient" and "Cochran" in (
        result.statistics["chi2"].reason or ""
    )
    assert result.statistics["psi"].status == "ok"


def test_a_category_only_the_window_has_is_drift() -> None:
    ref = pl.DataFrame({"c": ["a", "b"] * 200})
    cur = pl.DataFrame({"c": ["a", "b", "new", "new"] * 100})
    js = drift_report(build_references(ref, ["c"], 10), cur)[0].statistics["js"]
    # p = (1/2, 1/2, 0), q = (1/4, 1/4, 1/2), m = (3/8, 3/8, 1/4)
    kl_pm = np.log2(4 / 3)
    kl_qm = 0.5 * np.log2(2 / 3) + 0.5 * np.log2(2)
    assert js.value == pytest.approx(float(np.sqrt((kl_pm + kl_qm) / 2)), abs=1e-12)


def test_reference_column_missing_from_window_names_it() -> None:
    ref, cur = _frames(100, 100)
    with pytest.raises(InvalidInputError, match="'state'"):
        drift_report(build_references(ref, ["age", "state"], 10), cur.drop("state"))
    with pytest.raises(InvalidInputError, match="'tenure'"):
        build_references(ref, ["tenure"], 10)


def test_nulls_and_nan_are_not_binned_but_reported() -> None:
    ref = pl.DataFrame({"x": [float(i) for i in range(100)]})
    cur = pl.DataFrame({"x": [None, float("nan")] * 25 + [float(i) for i in range(50)]})
    feature = drift_report(build_references(ref, ["x"], 2), cur)[0]
    assert feature.current_rows == 50 and feature.current_null_fraction == pytest.approx(0.5)


def test_count_and_time_windows() -> None:
    assert [(w.start_row, w.stop_row, w.complete) for w in count_windows(25, 10)] == [
        (0, 10, True),
        (10, 20, True),
        (20, 25, False),
    ]
    base = datetime(2026, 1, 1, 10, 17, tzinfo=UTC)
    times = np.array(
        [int((base + timedelta(minutes=m)).timestamp() * 1e6) for m in (0, 10, 50, 130, 140)], dtype=np.int64
    )
    windows = time_windows(times, timedelta(hours=1), now=base + timedelta(hours=2, minutes=30))
    assert [(w.start_row, w.stop_row) for w in windows] == [(0, 2), (2, 3), (3, 5)]
    assert windows[0].start == datetime(2026, 1, 1, 10, tzinfo=UTC) and windows[0].complete
    assert windows[1].complete and not windows[2].complete  # 12:00–13:00 has not ended at 12:47
    assert WindowSpec.parse("1h").every == timedelta(hours=1) and WindowSpec.parse("500").count == 500
    assert split(WindowSpec.parse("2"), times, base)[-1].rows == 1
    with pytest.raises(InvalidInputError, match="neither"):
        WindowSpec.parse("soon")
