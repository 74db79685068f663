"""The five drift statistics, on sorted samples or on bin counts, vectorised with numpy.

Each function computes exactly what scipy computes (``ks_2samp``, ``wasserstein_distance``,
``chi2_contingency`` and ``jensenshannon``) but from inputs the monitor already holds: the reference is sorted
once when a monitor is built, and the window is sorted once and shared by every statistic of a column.

- Kolmogorov–Smirnov and Wasserstein walk one merge of the two sorted samples (a stable argsort of two sorted
  runs is a single linear merge) and read both empirical CDFs at the end of every group of tied values, which
  is where scipy's ``searchsorted(..., side="right")`` evaluates them. The KS p-value is scipy's own up to
  scipy's exact-mode limit (10,000 rows a side: ``ks_2samp`` itself is called); above it Kolmogorov's
  limiting distribution with Stephens's correction (see ``ks_p_value`` for why, and how close it is).
- PSI, Jensen–Shannon and chi-squared read the two histograms over the reference's bins (see ``binning``).
  PSI has no p-value; chi-squared uses ``chi2_contingency``'s rules (Yates's correction when it has one degree
  of freedom, bins empty on both sides dropped) and reports Cramér's V as its effect size.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]

# Below this many rows a side scipy's ks_2samp(method="auto") computes the exact p-value; we call it there.
KS_EXACT_MAX_N = 10_000
# A bin with no rows on one side gets this proportion in PSI, the usual convention (Evidently's too), so the
# logarithm stays finite; the value is reported in the docs and in every PSI result's method note.
PSI_EMPTY_BIN_PROPORTION = 1e-4


def ecdf_difference(
    reference_sorted: FloatArray, current_sorted: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The distinct values of both samples (ascending) and F_ref - F_cur at each of them."""
    n1, n2 = reference_sorted.size, current_sorted.size
    merged = np.concatenate([reference_sorted, current_sorted])
    order = np.argsort(merged, kind="stable")
    values = merged[order]
    ref_seen = np.cumsum(order < n1)
    distinct = values[1:] != values[:-1]
    if np.all(distinct):  # no ties anywhere: every position ends its own group
        return values, ref_seen / n1 - (np.arange(1, values.size + 1) - ref_seen) / n2
    ends = np.append(np.flatnonzero(distinct), values.size - 1)
    ref_cdf = ref_seen[ends] / n1
    cur_cdf = (ends + 1 - ref_seen[ends]) / n2
    return values[ends], ref_cdf - cur_cdf


def ks_statistic(cdf_difference: FloatArray) -> float:
    """Two-sided Kolmogorov–Smirnov D from the CDF difference (scipy clips the negative side at 0)."""
    return float(max(float(np.max(cdf_difference)), min(max(-float(np.min(cdf_difference)), 0.0), 1.0)))


def ks_p_value(d: float, reference_sorted: FloatArray, current_sorted: FloatArray) -> float:
    """Two-sided p-value: scipy's own up to 10,000 rows a side, Kolmogorov's limit (Stephens) above.

    Above scipy's exact-mode limit, ``ks_2samp`` evaluates the finite-n one-sample distribution
    ``kstwo.sf(D, round(en))``, itself an approximation of the two-sample null, and that takes up to seconds
    per feature at a million rows. The monitor uses Kolmogorov's limiting distribution with Stephens's
    finite-size correction, ``kstwobign.sf((√en + 0.12 + 0.11/√en)·D)``, which agrees with scipy's value to
    within 2e-3 (absolute) from en = 5,000 on and 1e-3 from 20,000 on, closer the larger the sample (tested).
    """
    n1, n2 = reference_sorted.size, current_sorted.size
    if max(n1, n2) <= KS_EXACT_MAX_N:
        with warnings.catch_warnings():  # scipy's own exact-to-asymptotic fallback note; the value is scipy's
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(stats.ks_2samp(reference_sorted, current_sorted).pvalue)
    root = math.sqrt(n1 * n2 / (n1 + n2))
    return float(np.clip(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * d), 0.0, 1.0))


def wasserstein(values: FloatArray, cdf_difference: FloatArray) -> float:
    """First Wasserstein distance: the area between the two empirical CDFs."""
    if values.size < 2:
        return 0.0
    return float(np.sum(np.abs(cdf_difference[:-1]) * np.diff(values)))


def proportions(counts: FloatArray) -> FloatArray:
    total = float(np.sum(counts))
    return counts / total if total > 0 else counts.astype(np.float64)


def psi(reference_counts: FloatArray, current_counts: FloatArray) -> float:
    """Population Stability Index: sum over bins of (q - p) ln(q / p), empty bins set to 1e-4."""
    p = proportions(reference_counts.astype(np.float64))
    q = proportions(current_counts.astype(np.float64))
    p = np.where(p == 0, PSI_EMPTY_BIN_PROPORTION, p)
    q = np.where(q == 0, PSI_EMPTY_BIN_PROPORTION, q)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(reference_counts: FloatArray, current_counts: FloatArray) -> float:
    """Jensen–Shannon *distance* in base 2 (in [0, 1]), as ``scipy.spatial.distance.jensenshannon(p, q, 2)``."""
    p = proportions(reference_counts.astype(np.float64))
    q = proportions(current_counts.astype(np.float64))
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    js = (float(np.sum(left)) + float(np.sum(right))) / math.log(2.0)
    return math.sqrt(max(js, 0.0) / 2.0)


def contingency(reference_counts: FloatArray, current_counts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The 2 x k table of observed counts (bins empty on both sides dropped) and its expected counts."""
    observed = np.vstack([reference_counts, current_counts]).astype(np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    return observed, expected


def chi_squared(observed: FloatArray, expected: FloatArray) -> tuple[float, float, float]:
    """Pearson's chi-squared of homogeneity as ``chi2_contingency`` computes it: (statistic, p, Cramér's V)."""
    dof = observed.shape[1] - 1
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, dof))
    cramers_v = math.sqrt(statistic / float(expected.sum()))
    return statistic, p_value, cramers_v


def cochran_ok(expected: FloatArray) -> bool:
    """Cochran's rule for chi-squared: no expected count below 1 and at most 20 % below 5."""
    return bool(np.all(expected >= 1.0) and np.mean(expected < 5.0) <= 0.2)
