"""Champion versus challenger on the same rows: is the difference real?

McNemar's test on which rows each model gets right (classification) and a paired bootstrap of the
per-row metric differences: rows are resampled once for both models, so each replicate's difference is
measured on identical data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.evaluation.bootstrap import mean_replicates, percentile_interval
from triops.mlops.evaluation.evaluate import HIGHER_IS_BETTER, TASKS, check_lengths, json_safe


@dataclass(frozen=True, slots=True)
class MetricDifference:
    metric: str
    champion: float | None
    challenger: float | None
    difference: float | None  # challenger - champion
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool
    challenger_better: bool | None


@dataclass(frozen=True, slots=True)
class Comparison:
    n_rows: int
    alpha: float
    differences: list[MetricDifference]
    mcnemar_statistic: float | None = None
    mcnemar_p_value: float | None = None
    mcnemar_method: str | None = None
    champion_only_correct: int | None = None
    challenger_only_correct: int | None = None
    significant: bool = False
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = json_safe(asdict(self))
        return cleaned


def mcnemar(
    champion_correct: npt.NDArray[np.bool_], challenger_correct: npt.NDArray[np.bool_]
) -> tuple[float, float, str, int, int]:
    """McNemar's test: exact binomial below 25 discordant pairs, else chi-squared, continuity-corrected."""
    from scipy import stats

    b = int(np.sum(champion_correct & ~challenger_correct))
    c = int(np.sum(~champion_correct & challenger_correct))
    if b + c == 0:
        return 0.0, 1.0, "exact", b, c
    if b + c < 25:
        return float(min(b, c)), float(stats.binomtest(b, b + c, 0.5).pvalue), "exact", b, c
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return float(statistic), float(stats.chi2.sf(statistic, 1)), "chi2-corrected", b, c


def compare_models(
    y_true: Sequence[Any] | npt.NDArray[Any],
    champion: npt.NDArray[np.float64],
    challenger: npt.NDArray[np.float64],
    *,
    task: str = "classification",
    pos_label: Any = 1,
    threshold: float = 0.5,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Comparison:
    """Whether ``challenger`` differs significantly from ``champion`` on the same rows.

    Classification takes positive-class probabilities, regression predictions. The paired bootstrap
    resamples rows once for both models, so each replicate's difference is measured on identical data.
    """
    a = np.asarray(champion, dtype=np.float64).ravel()
    b = np.asarray(challenger, dtype=np.float64).ravel()
    truth = np.asarray(y_true)
    check_lengths(truth, a)
    check_lengths(truth, b)
    if task == "classification":
        y = (truth == pos_label).astype(np.float64)
        correct_a = (a >= threshold) == (y == 1)
        correct_b = (b >= threshold) == (y == 1)
        per_row = {
            "accuracy": (correct_a.astype(float), correct_b.astype(float)),
            "brier": ((a - y) ** 2, (b - y) ** 2),
        }
    elif task == "regression":
        y = truth.astype(np.float64)
        per_row = {"mae": (np.abs(a - y), np.abs(b - y)), "mse": ((a - y) ** 2, (b - y) ** 2)}
    else:
        raise InvalidInputError(f"unknown task {task!r}", hint="task is one of: " + ", ".join(TASKS))
    names = list(per_row)
    diffs = np.column_stack([per_row[m][1] - per_row[m][0] for m in names])
    reps = mean_replicates(diffs, resamples=resamples, seed=seed)
    out = []
    for j, name in enumerate(names):
        champ, chall = float(per_row[name][0].mean()), float(per_row[name][1].mean())
        low, high = percentile_interval(reps[:, j], 1 - alpha)
        share_le = float(np.mean(reps[:, j] <= 0)) if len(reps) else 1.0
        share_ge = float(np.mean(reps[:, j] >= 0)) if len(reps) else 1.0
        p_value = min(1.0, 2 * min(share_le, share_ge))
        significant = low is not None and high is not None and (low > 0 or high < 0)
        better = None if not significant else ((chall > champ) == (name in HIGHER_IS_BETTER))
        out.append(
            MetricDifference(name, champ, chall, chall - champ, low, high, p_value, significant, better)
        )
    result = Comparison(n_rows=len(y), alpha=alpha, differences=out)
    if task == "classification":
        stat, p_mc, method, only_a, only_b = mcnemar(correct_a, correct_b)
        significant = p_mc < alpha or any(d.significant for d in out)
        verdict = _verdict(out, p_mc < alpha, only_a, only_b)
        return Comparison(len(y), alpha, out, stat, p_mc, method, only_a, only_b, significant, verdict)
    significant = any(d.significant for d in out)
    return Comparison(result.n_rows, alpha, out, significant=significant, verdict=_verdict(out, False, 0, 0))


def _verdict(diffs: list[MetricDifference], mcnemar_significant: bool, only_a: int, only_b: int) -> str:
    parts = []
    if mcnemar_significant:
        winner = "challenger" if only_b > only_a else "champion"
        parts.append(f"McNemar: the {winner} is right significantly more often")
    for d in diffs:
        if d.significant:
            parts.append(
                f"{d.metric}: {'challenger' if d.challenger_better else 'champion'} significantly better"
            )
    return "; ".join(parts) if parts else "no significant difference"
