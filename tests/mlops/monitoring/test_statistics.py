"""The drift statistics equal scipy's on the same data and the same bins, within 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial.distance import jensenshannon

from triops.mlops.monitoring import statistics as st
from triops.mlops.monitoring.binning import quantile_edges, sorted_bin_counts

TOL = 1e-9

# Few distinct values force ties within and across the samples; wide floats exercise the no-tie path.
tied = arrays(np.float64, hs.integers(1, 60), elements=hs.integers(-5, 5).map(float))
spread = arrays(
    np.float64,
    hs.integers(1, 60),
    elements=hs.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
samples = hs.one_of(tied, spread)


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_ks_statistic_and_p_value_equal_scipy(a: np.ndarray, b: np.ndarray) -> None:
    ra, rb = np.sort(a), np.sort(b)
    _, diff = st.ecdf_difference(ra, rb)
    d = st.ks_statistic(diff)
    expected = stats.ks_2samp(a, b)
    assert d == pytest.approx(expected.statistic, abs=TOL)
    assert st.ks_p_value(d, ra, rb) == pytest.approx(expected.pvalue, abs=TOL)


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_wasserstein_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    values, diff = st.ecdf_difference(np.sort(a), np.sort(b))
    expected = stats.wasserstein_distance(a, b)
    assert st.wasserstein(values, diff) == pytest.approx(expected, rel=TOL, abs=TOL)


def test_ks_on_large_samples_equals_scipy_and_its_p_value_is_close() -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(size=20_000)
    b = rng.normal(0.02, 1.0, size=15_000).round(2)  # ties across the samples, too
    ra, rb = np.sort(a), np.sort(b)
    values, diff = st.ecdf_difference(ra, rb)
    d = st.ks_statistic(diff)
    expected = stats.ks_2samp(a, b)
    assert d == pytest.approx(expected.statistic, abs=TOL)
    assert st.ks_p_value(d, ra, rb) == pytest.approx(expected.pvalue, abs=2e-3)
    assert st.wasserstein(values, diff) == pytest.approx(stats.wasserstein_distance(a, b), rel=TOL)


@settings(max_examples=300, deadline=None)
@given(samples, samples)
def test_the_one_merge_ks_and_wasserstein_equal_scipy(a: np.ndarray, b: np.ndarray) -> None:
    # the monitor's path: both statistics from one merge, in integers, with the window in scratch memory
    d, w = st.ks_and_wasserstein(np.sort(a), st.sorted_window(b))
    assert d == pytest.approx(stats.ks_2samp(a, b).statistic, abs=TOL)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=TOL, abs=TOL)


def test_the_one_merge_on_large_tied_samples_and_reused_scratch_equals_scipy() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(size=200_000)
    for b in (rng.normal(0.05, 1.2, 150_000).round(2), rng.normal(size=300_000), rng.normal(size=100)):
        d, w = st.ks_and_wasserstein(np.sort(a), st.sorted_window(b))
        assert d == pytest.approx(stats.ks_2samp(a, b).statistic, abs=TOL)
        assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=TOL)


@settings(max_examples=150, deadline=None)
@given(samples, samples, hs.integers(1, 4))
def test_the_blocked_merge_equals_scipy_whatever_the_block_size(
    a: np.ndarray, b: np.ndarray, block: int
) -> None:
    # blocks of 1-4 rows a side: cuts land inside tie groups (moved to their start), blocks come out empty
    d, w = st.ks_and_wasserstein(np.sort(a), np.sort(b), block)
    assert d == pytest.approx(stats.ks_2samp(a, b).statistic, abs=TOL)
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=TOL, abs=TOL)


def test_the_blocked_merge_on_large_samples_tied_across_blocks_and_sides_equals_scipy() -> None:
    rng = np.random.default_rng(13)
    # a 40,000-row group of equal values spans several blocks, and both sides share most values
    a = np.concatenate([np.full(40_000, -3.0), rng.normal(size=60_000).round(1)])
    b = rng.normal(0.1, 1.1, 80_000).round(1)
    for ra, rb in ((np.sort(a), np.sort(b)), (np.sort(b), np.sort(a))):
        d, w = st.ks_and_wasserstein(ra, rb)
        assert d == pytest.approx(stats.ks_2samp(ra, rb).statistic, abs=TOL)
        assert w == pytest.approx(stats.wasserstein_distance(ra, rb), rel=TOL)


@pytest.mark.parametrize("en", [6_000, 20_000])
def test_ks_large_sample_p_value_tracks_scipys_finite_n_distribution(en: int) -> None:
    ref = np.zeros(2 * en)  # n·m/(n+m) = en for two samples of 2·en rows
    for d in np.linspace(0.001, 3 / np.sqrt(en), 12):
        assert st.ks_p_value(float(d), ref, ref) == pytest.approx(
            stats.kstwo.sf(d, en), abs=2e-3 if en < 20_000 else 1e-3
        )


counts = arrays(np.float64, hs.integers(2, 12), elements=hs.integers(0, 500).map(float))


@settings(max_examples=300, deadline=None)
@given(hs.data())
def test_chi_squared_equals_chi2_contingency(data: hs.DataObject) -> None:
    ref = data.draw(counts)
    cur = data.draw(arrays(np.float64, ref.size, elements=hs.integers(0, 500).map(float)))
    observed, expected = st.contingency(ref, cur)
    if observed.shape[1] < 2 or (observed.sum(axis=1) == 0).any():
        return
    stat, p, v = st.chi_squared(observed, expected)
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    ref_stat, ref_p, _, ref_expected = stats.chi2_contingency(table)
    assert stat == pytest.approx(ref_stat, rel=TOL, abs=TOL)
    assert p == pytest.approx(ref_p, abs=TOL)
    np.testing.assert_allclose(expected, ref_expected, rtol=TOL)
    assert v == pytest.approx(np.sqrt(ref_stat / table.sum()), rel=TOL, abs=TOL)


@settings(max_examples=300, deadline=None)
@given(hs.data())
def test_jensen_shannon_equals_scipy_base_2(data: hs.DataObject) -> None:
    ref = data.draw(counts)
    cur = data.draw(arrays(np.float64, ref.size, elements=hs.integers(0, 500).map(float)))
    if ref.sum() == 0 or cur.sum() == 0:
        return
    assert st.jensen_shannon(ref, cur) == pytest.approx(jensenshannon(ref, cur, base=2), abs=TOL)


@settings(max_examples=300, deadline=None)
@given(hs.data())
def test_psi_is_the_symmetrised_kullback_leibler_divergence(data: hs.DataObject) -> None:
    # With no empty bin, PSI = KL(q || p) + KL(p || q), which scipy.stats.entropy computes independently.
    ref = data.draw(arrays(np.float64, hs.integers(2, 12), elements=hs.integers(1, 500).map(float)))
    cur = data.draw(arrays(np.float64, ref.size, elements=hs.integers(1, 500).map(float)))
    expected = stats.entropy(cur, ref) + stats.entropy(ref, cur)
    assert st.psi(ref, cur) == pytest.approx(expected, rel=TOL, abs=TOL)


def test_psi_of_an_empty_bin_uses_the_documented_proportion() -> None:
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    pe = np.array([0.5, 0.5, 1e-4])
    assert st.psi(p * 100, q * 100) == pytest.approx(float(np.sum((q - pe) * np.log(q / pe))), rel=TOL)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, hs.integers(1, 300), elements=hs.integers(-20, 20).map(float)), hs.integers(2, 12))
def test_sorted_bin_counts_equal_a_histogram_over_the_same_edges(values: np.ndarray, bins: int) -> None:
    ordered = np.sort(values)
    edges = quantile_edges(ordered, bins)
    expected = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    np.testing.assert_array_equal(sorted_bin_counts(ordered, edges), expected)
    assert np.all(np.diff(edges) > 0)
