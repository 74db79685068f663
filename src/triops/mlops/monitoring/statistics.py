"""The five drift statistics, on sorted samples or on bin counts, vectorised with numpy.

Each function computes exactly what scipy computes (``ks_2samp``, ``wasserstein_distance``,
``chi2_contingency`` and ``jensenshannon``) but from inputs the monitor already holds: the reference is sorted
once when a monitor is built, and the window is sorted once and shared by every statistic of a column.

- Kolmogorov–Smirnov and Wasserstein walk one merge of the two sorted samples (a stable argsort of two sorted
  runs is a single linear merge) and read both empirical CDFs at the end of every group of tied values, which
  is where scipy's ``searchsorted(..., side="right")`` evaluates them; the monitor's ``ks_and_wasserstein``
  does both from that one merge, run block by block in cache, with the CDF difference kept as an exact int64
  (``n1·n2`` times it). The KS p-value is scipy's own up to scipy's exact-mode limit (10,000 rows a side:
  ``ks_2samp`` itself is called); above it Kolmogorov's limiting distribution with Stephens's correction
  (see ``ks_p_value`` for why, and how close it is).
- PSI, Jensen–Shannon and chi-squared read the two histograms over the reference's bins (see ``binning``).
  PSI has no p-value; chi-squared uses ``chi2_contingency``'s rules (Yates's correction when it has one degree
  of freedom, bins empty on both sides dropped) and reports Cramér's V as its effect size.
"""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import numpy.typing as npt

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


# Rows per side in one block of the blocked merge: a block's merge and its work arrays (~0.7 MB) stay in the
# core's cache instead of streaming 2·n-row arrays through memory a dozen times (measured: 70 → 43 CPU-ms at
# a million rows a side on a shared machine; blocks of 4,096 cost more in Python, of 65,536 more in memory).
MERGE_BLOCK = 16_384
# From this n1·n2 on, the running difference n1·n2·ΔF is no longer exact as a float64 weight: float CDF path.
EXACT_FLOAT_LIMIT = 2**53


class _Scratch(threading.local):
    """Work arrays of one thread, kept between blocks, features and windows: fresh pages for every
    temporary would otherwise cost about a third of the CPU (page faults)."""

    def __init__(self) -> None:
        self.merged = np.empty(0, dtype=np.float64)
        self.values = np.empty(0, dtype=np.float64)
        self.gaps = np.empty(0, dtype=np.float64)
        self.flags = np.empty(0, dtype=np.bool_)
        self.window = np.empty(0, dtype=np.float64)

    def sorted_window(self, values: FloatArray) -> FloatArray:
        """``values`` sorted into this thread's window array: valid until the thread's next window."""
        if self.window.size < values.size:
            self.window = np.empty(values.size, dtype=np.float64)
        out = self.window[: values.size]
        np.copyto(out, values)
        out.sort()
        return out

    def reserve(self, n: int) -> None:
        if self.merged.size < n:
            size = max(n, 2 * MERGE_BLOCK + 2)
            self.merged, self.values = np.empty(size), np.empty(size)
            self.gaps = np.empty(size)
            self.flags = np.empty(size, dtype=np.bool_)


_scratch = _Scratch()


def sorted_window(values: FloatArray) -> FloatArray:
    """A window's values sorted in this thread's scratch array (no fresh pages per window); the result is
    overwritten by the thread's next call, so use it before then and do not keep it."""
    return _scratch.sorted_window(values)


def block_bounds(
    reference_sorted: FloatArray, current_sorted: FloatArray, block: int = MERGE_BLOCK
) -> tuple[list[int], list[int]]:
    """Where the blocked merge cuts both samples: at every ``block``-th value of either sample, each side cut
    before its first value ≥ the cut value, so a group of tied values is never split between two blocks."""
    cuts = np.unique(np.concatenate([reference_sorted[block::block], current_sorted[block::block]]))
    i = np.searchsorted(reference_sorted, cuts, side="left")
    j = np.searchsorted(current_sorted, cuts, side="left")
    return [0, *i.tolist(), reference_sorted.size], [0, *j.tolist(), current_sorted.size]


def ks_and_wasserstein(
    reference_sorted: FloatArray, current_sorted: FloatArray, block: int = MERGE_BLOCK
) -> tuple[float, float]:
    """Kolmogorov–Smirnov D and the first Wasserstein distance from one blocked merge, exact until the end.

    ``n1·n2·(F_ref − F_cur)`` after each merged position is the running sum of +n2 per reference value and
    −n1 per window value: an int64, and below 2^53 so that float64 holds it exactly as a weight (no float
    CDFs, no rounding until the sums). Wasserstein sums |that| times the gap to the next merged value: inside
    a group of tied values the gap is 0, so each group counts once, at its end, as scipy's
    ``searchsorted(side="right")`` has it; KS reads group ends only. The merge runs block by block (see
    ``block_bounds``: ties never straddle two blocks), carrying the running difference and the last value
    across, so the work arrays stay small and cache-resident. Samples with n1·n2 ≥ 2^53 take the float path
    of ``ecdf_difference``.
    """
    n1, n2 = reference_sorted.size, current_sorted.size
    if not (n1 and n2) or n1 * n2 >= EXACT_FLOAT_LIMIT:
        values, diff = ecdf_difference(reference_sorted, current_sorted)
        return ks_statistic(diff), wasserstein(values, diff)
    total = n1 + n2
    ref_cuts, cur_cuts = block_bounds(reference_sorted, current_sorted, block)
    high = low = carried = 0
    area = 0.0
    last: float | None = None
    for k in range(len(ref_cuts) - 1):
        a = reference_sorted[ref_cuts[k] : ref_cuts[k + 1]]
        b = current_sorted[cur_cuts[k] : cur_cuts[k + 1]]
        size = a.size + b.size
        if not size:
            continue
        _scratch.reserve(size)
        merged, values, flags = _scratch.merged[:size], _scratch.values[:size], _scratch.flags[:size]
        np.concatenate([a, b], out=merged)
        order = np.argsort(merged, kind="stable")  # two sorted runs: one linear merge
        np.take(merged, order, out=values)
        np.less(order, a.size, out=flags)
        running = order  # the order is not needed any more: its memory becomes the running difference
        np.multiply(flags, total, out=running)  # +n2 per reference value, −n1 per window value
        running -= n1
        running[0] += carried
        np.cumsum(running, out=running)  # in int64: a float cumsum is latency-bound, ~4x slower
        if last is not None:  # the gap from the previous block's last value to this block's first
            area += abs(carried) * (float(values[0]) - last)
        gaps = np.subtract(values[1:], values[:-1], out=_scratch.gaps[: size - 1])
        tied = np.equal(gaps, 0.0, out=flags[: size - 1])
        ends = running[np.append(~tied, True)] if tied.any() else running
        high, low = max(high, int(ends.max())), min(low, int(ends.min()))
        carried, last = int(running[-1]), float(values[-1])
        np.abs(running, out=running)
        weights = merged[: size - 1]  # free again after the take
        np.copyto(weights, running[:-1], casting="unsafe")  # |n1·n2·ΔF| ≤ n1·n2 < 2^53: exact
        area += float(np.einsum("i,i->", weights, gaps))  # not BLAS: its threads spin on small arrays
    scale = float(n1) * float(n2)
    d = max(high / scale, min(max(-low / scale, 0.0), 1.0))
    return float(d), area / scale


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
    from scipy import stats  # here, not at import: `triops monitor create` never computes a p-value

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
    from scipy import stats

    p_value = float(stats.chi2.sf(statistic, dof))
    cramers_v = math.sqrt(statistic / float(expected.sum()))
    return statistic, p_value, cramers_v


def cochran_ok(expected: FloatArray) -> bool:
    """Cochran's rule for chi-squared: no expected count below 1 and at most 20 % below 5."""
    return bool(np.all(expected >= 1.0) and np.mean(expected < 5.0) <= 0.2)
