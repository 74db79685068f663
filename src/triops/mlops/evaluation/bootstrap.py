"""Vectorised bootstrap: every resample's metrics at once, from a matrix of resample counts.

A bootstrap resample is fully described by how many times it draws each row. Rows are drawn with a numpy
index matrix (``resamples x rows``, in chunks that bound memory) and turned into counts with one
``bincount``; metrics that are sums over rows then become one matrix product for all resamples together.
There is no Python loop per resample.

Classification collapses rows into *cells* first: rows with the same predicted probability and label are
interchangeable for every metric here, so the resample counts of the cells carry all the information.
When the rows have more distinct probabilities than ``max_cells``, probabilities are grouped into
quantile bins (whose edges include the decision threshold and the calibration-bin edges, so accuracy,
precision, recall, F1 and ECE see the same predictions); replicates are then shifted by the difference
between the exact metric and the binned one on the full data. Past a size where it is cheaper, cell
counts are drawn directly from the multinomial distribution, which is the same resampling scheme.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
)
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")
_CHUNK_ELEMENTS = 8_000_000
EXACT_BUDGET = 20_000_000
_EPS = 1e-15
_MAPE_EPS = np.finfo(np.float64).eps


def resample_counts(
    cell_of_row: IntArray, n_cells: int, resamples: int, rng: np.random.Generator
) -> Iterator[FloatArray]:
    """Chunks of a ``resamples x n_cells`` matrix: how often each resample draws each cell."""
    n = len(cell_of_row)
    per_cell = np.bincount(cell_of_row, minlength=n_cells)
    multinomial = n > 8 * n_cells
    identity = n == n_cells and bool(np.array_equal(cell_of_row, np.arange(n)))
    chunk = max(1, _CHUNK_ELEMENTS // max(n if not multinomial else n_cells, 1))
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        if multinomial:
            counts = rng.multinomial(n, per_cell / n, size=b).astype(np.float64)
        else:
            idx = rng.integers(0, n, size=(b, n), dtype=np.int64)
            cells = idx if identity else cell_of_row[idx]
            cells += (np.arange(b, dtype=np.int64) * n_cells)[:, None]
            counts = np.bincount(cells.ravel(), minlength=b * n_cells).reshape(b, n_cells).astype(np.float64)
        done += b
        yield counts


@dataclass(frozen=True, slots=True)
class _Cells:
    """Rows collapsed into cells of (score group, label)."""

    cell_of_row: IntArray
    count: FloatArray
    label: FloatArray  # 1.0 positive, 0.0 negative
    predicted: FloatArray  # 1.0 if the cell's rows are predicted positive
    mean_p: FloatArray
    mean_log_loss: FloatArray
    mean_brier: FloatArray
    group: IntArray  # score group, ascending in score
    n_groups: int
    ece_bin: IntArray
    exact: bool


def _cells(
    y: FloatArray, p: FloatArray, threshold: float, ece_bins: int, max_cells: int, exact: bool
) -> _Cells:
    unique_p = np.unique(p)
    exact = exact or len(unique_p) * 2 <= max_cells
    if exact:
        group_of_row = np.searchsorted(unique_p, p)
        n_groups = len(unique_p)
    else:
        quantiles = np.quantile(p, np.linspace(0.0, 1.0, max_cells // 2 + 1))
        edges = np.unique(np.concatenate([quantiles, np.linspace(0.0, 1.0, ece_bins + 1), [threshold]]))
        group_of_row = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
        n_groups = len(edges) - 1
    raw = group_of_row.astype(np.int64) * 2 + y.astype(np.int64)
    used, cell_of_row = np.unique(raw, return_inverse=True)
    k = len(used)
    count = np.bincount(cell_of_row, minlength=k).astype(np.float64)
    first_row = np.zeros(k, dtype=np.int64)
    first_row[cell_of_row[::-1]] = np.arange(len(p) - 1, -1, -1)
    pc = np.clip(p, _EPS, 1 - _EPS)
    log_loss = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))

    def mean(values: FloatArray) -> FloatArray:
        return np.bincount(cell_of_row, weights=values, minlength=k) / count

    return _Cells(
        cell_of_row=cell_of_row.astype(np.int64),
        count=count,
        label=(used % 2).astype(np.float64),
        predicted=(p[first_row] >= threshold).astype(np.float64),
        mean_p=mean(p),
        mean_log_loss=mean(log_loss),
        mean_brier=mean((p - y) ** 2),
        group=(used // 2).astype(np.int64),
        n_groups=n_groups,
        ece_bin=np.minimum((p[first_row] * ece_bins).astype(np.int64), ece_bins - 1),
        exact=exact,
    )


def _classification_from_counts(counts: FloatArray, c: _Cells, ece_bins: int) -> dict[str, FloatArray]:
    """Metrics for each row of ``counts`` (resamples x cells)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n = counts.sum(axis=1)
        y, yhat = c.label, c.predicted
        tp = counts @ (y * yhat)
        fp = counts @ ((1 - y) * yhat)
        fn = counts @ (y * (1 - yhat))
        pos = tp + fn
        neg = n - pos
        precision = tp / (tp + fp)
        recall = tp / pos
        out = {
            "accuracy": (n - fp - fn) / n,
            "precision": precision,
            "recall": recall,
            "f1": 2 * tp / (2 * tp + fp + fn),
            "log_loss": counts @ c.mean_log_loss / n,
            "brier": counts @ c.mean_brier / n,
        }
        one_hot = np.zeros((len(c.count), ece_bins))
        one_hot[np.arange(len(c.count)), c.ece_bin] = 1.0
        gap = counts @ (one_hot * (y - c.mean_p)[:, None])
        out["ece"] = np.abs(gap).sum(axis=1) / n
        pos_by_group = np.zeros((counts.shape[0], c.n_groups))
        neg_by_group = np.zeros((counts.shape[0], c.n_groups))
        is_pos = y == 1
        pos_by_group[:, c.group[is_pos]] = counts[:, is_pos]
        neg_by_group[:, c.group[~is_pos]] = counts[:, ~is_pos]
        neg_below = np.cumsum(neg_by_group, axis=1) - neg_by_group
        out["roc_auc"] = (pos_by_group * (neg_below + 0.5 * neg_by_group)).sum(axis=1) / (pos * neg)
        tp_desc = np.cumsum(pos_by_group[:, ::-1], axis=1)
        fp_desc = np.cumsum(neg_by_group[:, ::-1], axis=1)
        prec_desc = np.where(tp_desc + fp_desc > 0, tp_desc / (tp_desc + fp_desc), 0.0)
        out["pr_auc"] = (pos_by_group[:, ::-1] * prec_desc).sum(axis=1) / pos
    return out


def classification_replicates(
    y: FloatArray,
    p: FloatArray,
    *,
    threshold: float = 0.5,
    resamples: int = 1000,
    seed: int = 0,
    ece_bins: int = 10,
    max_cells: int = 2000,
    exact_budget: int = EXACT_BUDGET,
) -> tuple[dict[str, FloatArray], dict[str, float], bool]:
    """Bootstrap replicates of every classification metric, the metrics on the cells, and exactness.

    ``y`` holds 1.0 for the positive class and 0.0 otherwise; ``p`` the positive-class probability.
    Cells are exact (one per distinct probability and label) when there are at most ``max_cells`` of
    them or the data is small enough (rows x resamples ≤ ``exact_budget``) to resample rows directly.
    """
    cells = _cells(y, p, threshold, ece_bins, max_cells, exact=len(y) * resamples <= exact_budget)
    full = _classification_from_counts(cells.count[None, :], cells, ece_bins)
    rng = np.random.default_rng(seed)
    parts = [
        _classification_from_counts(counts, cells, ece_bins)
        for counts in resample_counts(cells.cell_of_row, len(cells.count), resamples, rng)
    ]
    reps = {k: np.concatenate([part[k] for part in parts] or [np.empty(0)]) for k in CLASSIFICATION_METRICS}
    return reps, {k: float(v[0]) for k, v in full.items()}, cells.exact


def mean_replicates(values: FloatArray, *, resamples: int = 1000, seed: int = 0) -> FloatArray:
    """Bootstrap replicates of the column means of ``values`` (rows x k): a ``resamples x k`` array."""
    n = values.shape[0]
    rng = np.random.default_rng(seed)
    rows = np.arange(n, dtype=np.int64)
    parts = [counts @ values / n for counts in resample_counts(rows, n, resamples, rng)]
    return np.concatenate(parts) if parts else np.empty((0, values.shape[1]))


def regression_replicates(
    y: FloatArray, pred: FloatArray, *, resamples: int = 1000, seed: int = 0
) -> dict[str, FloatArray]:
    """Bootstrap replicates of MAE, RMSE, R² and MAPE (MAPE as scikit-learn defines it)."""
    err = pred - y
    columns = np.column_stack([np.abs(err), err**2, y, y**2, np.abs(err) / np.maximum(np.abs(y), _MAPE_EPS)])
    means = mean_replicates(columns, resamples=resamples, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = means[:, 3] - means[:, 2] ** 2
        r2 = 1 - means[:, 1] / variance
    return {"mae": means[:, 0], "rmse": np.sqrt(means[:, 1]), "r2": r2, "mape": means[:, 4]}


def percentile_interval(replicates: FloatArray, confidence: float) -> tuple[float | None, float | None]:
    """The central ``confidence`` percentile interval of the finite replicates (None if there are none)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)
