"""The result of checking data against a contract: one ``RuleResult`` per rule inside a ``CheckReport``.

Plain frozen records with ``to_dict`` for JSON, the store and the CLI; the gate, the quality score and
OpenLineage facets all read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SAMPLES = 20


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    kind: str
    column: str | None
    severity: str
    dimension: str
    description: str
    passed: bool
    failing_rows: int
    failing_share: float
    measured: float | bool | None = None
    expected: str = ""
    samples: tuple[dict[str, Any], ...] = ()
    location: str = ""
    """The contract field the rule comes from (``schema[0].properties[2].quality[0]``)."""

    @property
    def row_level_failure(self) -> bool:
        """True when rows failed (as opposed to a table-level metric such as row count or SQL)."""
        return self.failing_rows > 0 or self.kind not in ("row_count", "sql", "freshness")

    @property
    def is_error(self) -> bool:
        return not self.passed and self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "column": self.column,
            "severity": self.severity,
            "dimension": self.dimension,
            "description": self.description,
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "failing_share": self.failing_share,
            "measured": self.measured,
            "expected": self.expected,
            "samples": [dict(s) for s in self.samples],
            "location": self.location,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    dataset: str
    contract_id: str | None
    contract_version: str | None
    row_count: int
    columns: tuple[str, ...]
    results: tuple[RuleResult, ...]
    null_counts: dict[str, int] = field(default_factory=dict)
    checked_at_ms: int = 0
    rows_failing: int | None = None
    """Distinct rows failing at least one row-level rule (a lower bound when ``rows_failing_exact`` is
    False: a streaming check counts repeats of a uniqueness rule apart from the other rules)."""
    rows_failing_exact: bool = True
    skipped: tuple[dict[str, str], ...] = ()
    """What the contract asks that triops did not check (``location``, ``what``, ``reason``)."""
    protected: dict[str, str] = field(default_factory=dict)
    """Columns whose cells are masked in the samples, with the reason (classification or personal data)."""
    masked: bool = True
    """False only when the caller was allowed to see restricted values and asked to."""

    @property
    def passed(self) -> bool:
        """No error-severity rule failed (warnings do not fail a check)."""
        return not any(r.is_error for r in self.results)

    @property
    def errors(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.is_error)

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if not r.passed and r.severity != "error")

    def summary(self) -> str:
        failed = [r for r in self.results if not r.passed]
        skipped = f" ({len(self.skipped)} not checked)" if self.skipped else ""
        if not failed:
            return f"{self.dataset}: all {len(self.results)} rules passed on {self.row_count} rows{skipped}"
        parts = ", ".join(f"{r.rule} ({r.failing_rows} rows)" for r in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        return f"{self.dataset}: {len(failed)} of {len(self.results)} rules failed: {parts}{more}{skipped}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "contract_id": self.contract_id,
            "contract_version": self.contract_version,
            "row_count": self.row_count,
            "columns": list(self.columns),
            "passed": self.passed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "null_counts": dict(self.null_counts),
            "checked_at_ms": self.checked_at_ms,
            "rows_failing": self.rows_failing,
            "rows_failing_exact": self.rows_failing_exact,
            "skipped": [dict(s) for s in self.skipped],
            "protected": dict(self.protected),
            "masked": self.masked,
            "results": [r.to_dict() for r in self.results],
        }
