"""The quality score: 0-100 for one dataset version, from four documented dimensions.

| dimension    | weight | measured as                                                                   |
|--------------|--------|-------------------------------------------------------------------------------|
| completeness | 0.30   | share of non-null cells over the contract's columns (all columns without one) |
| validity     | 0.40   | mean over validity rules (type, range, pattern, valid values, SQL, row count) |
|              |        | of the share of rows that pass (a metric rule counts 1 if it passes, else 0)  |
| uniqueness   | 0.15   | mean over unique / duplicate rules of the share of rows that are not repeats  |
| freshness    | 0.15   | 1 if every freshness SLA holds, else 0                                        |

A dimension with nothing to measure (no uniqueness rule, no freshness SLA) is left out and the remaining
weights are scaled to sum to 1, so a contract is never rewarded or punished for rules it does not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from triops.dataops.report import CheckReport, RuleResult

WEIGHTS: dict[str, float] = {"completeness": 0.30, "validity": 0.40, "uniqueness": 0.15, "freshness": 0.15}


@dataclass(frozen=True, slots=True)
class QualityScore:
    score: float
    dimensions: dict[str, float]
    weights: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "dimensions": dict(self.dimensions), "weights": dict(self.weights)}


def _rule_score(result: RuleResult) -> float:
    if result.kind in ("sql", "row_count", "freshness", "source_age", "contract_date"):
        return 1.0 if result.passed else 0.0
    return max(0.0, 1.0 - result.failing_share)


def quality_score(report: CheckReport, contract_columns: list[str] | None = None) -> QualityScore:
    dims: dict[str, float] = {}
    cols = [c for c in (contract_columns or list(report.columns)) if c in report.null_counts]
    cells = report.row_count * len(cols)
    if cells:
        dims["completeness"] = 1.0 - sum(report.null_counts[c] for c in cols) / cells
    elif report.row_count == 0 and cols:
        dims["completeness"] = 0.0
    for dim in ("validity", "uniqueness", "freshness"):
        scores = [_rule_score(r) for r in report.results if r.dimension == dim]
        if dim == "validity" and not scores and report.row_count:
            scores = [1.0]
        if scores:
            dims[dim] = sum(scores) / len(scores)
    # completeness rules (required, nullValues) also pull completeness down when they fail
    for r in report.results:
        if r.dimension == "completeness" and not r.passed and "completeness" in dims:
            dims["completeness"] = min(dims["completeness"], 1.0 - r.failing_share)
    total = sum(WEIGHTS[d] for d in dims)
    weights = {d: WEIGHTS[d] / total for d in dims} if total else {}
    score = 100.0 * sum(dims[d] * weights[d] for d in dims) if weights else 0.0
    return QualityScore(round(score, 9), {d: round(v, 9) for d, v in dims.items()}, weights)


def format_score(score: float | None) -> str:
    """The score with enough decimals that anything short of 100 never reads as 100 (99.9996 → "99.9996")."""
    if score is None:
        return "-"
    if score >= 100.0:
        return "100"
    for digits in range(2, 10):
        text = f"{math.floor(score * 10**digits) / 10**digits:.{digits}f}"
        if float(text) < 100.0 and (float(text) > 0 or score == 0):
            return text
    return f"{score:.9f}"
