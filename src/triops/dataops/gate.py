"""The contract gate a pipeline hook calls before a step: check each declared input against its contract.

``gate_inputs`` is pure apart from reading the data: it returns a ``GateResult``; the hook decides what to
do with it. An error-severity failure (or an input that is missing, unreadable or lacks a contract column)
means ``passed`` is False and ``raise_for_errors`` raises ``ContractViolationError`` carrying the report;
warnings are kept on the result so the hook can record them and let the run go on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triops.dataops.checks import check
from triops.dataops.contracts import Contract, load_contract
from triops.dataops.privacy import Privacy
from triops.dataops.report import CheckReport, RuleResult
from triops.domain.clock import Clock
from triops.errors import ContractViolationError, DataContractError, InvalidInputError, NotFoundError


@dataclass(frozen=True, slots=True)
class GateResult:
    reports: dict[str, CheckReport]
    problems: dict[str, str]
    digests: Mapping[str, str] = field(default_factory=dict)
    """input name → sha256 of the artifact checked, when the input came from a pipeline step"""

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed for r in self.reports.values())

    @property
    def errors(self) -> list[tuple[str, RuleResult]]:
        return [(name, r) for name, rep in self.reports.items() for r in rep.errors]

    @property
    def warnings(self) -> list[tuple[str, RuleResult]]:
        return [(name, r) for name, rep in self.reports.items() for r in rep.warnings]

    def summary(self) -> str:
        if self.passed:
            extra = f" ({len(self.warnings)} warnings)" if self.warnings else ""
            return f"contract gate passed for {', '.join(self.reports) or 'no inputs'}{extra}"
        parts = [f"{name}: {text}" for name, text in self.problems.items()]
        parts += [f"{name}: {_failure_text(r)}" for name, r in self.errors]
        return "contract gate stopped the run: " + "; ".join(parts[:6]) + (" …" if len(parts) > 6 else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "problems": dict(self.problems),
            "reports": {name: rep.to_dict() for name, rep in self.reports.items()},
            "digests": dict(self.digests),
        }

    def raise_for_errors(self) -> None:
        if not self.passed:
            raise ContractViolationError(
                self.summary(),
                hint="see the report's failing rules and sample rows; fix the data or the contract",
                detail=self.to_dict(),
            )


def _failure_text(r: RuleResult) -> str:
    if r.row_level_failure:
        return f"{r.rule} failed on {r.failing_rows} rows ({r.failing_share:.1%})"
    measured = f"{r.measured:g}" if isinstance(r.measured, float) else str(r.measured)
    return f"{r.rule} failed: measured {measured}, expected {r.expected}"


def gate_inputs(
    contracts: Mapping[str, Contract | str | Path],
    inputs: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    privacy: Privacy | None = None,
) -> GateResult:
    """Check every input named in ``contracts`` (input name → contract or contract file); samples of
    restricted or personal cells are masked (hashed with ``privacy``'s salt when given)."""
    reports: dict[str, CheckReport] = {}
    problems: dict[str, str] = {}
    for name, spec in contracts.items():
        contract = spec if isinstance(spec, Contract) else load_contract(spec)
        if name not in inputs:
            problems[name] = (
                f"input {name!r} has a contract but was not given (inputs: {', '.join(inputs) or '-'})"
            )
            continue
        try:
            reports[name] = check(contract, inputs[name], name=name, clock=clock, privacy=privacy)
        except (DataContractError, InvalidInputError, NotFoundError) as exc:
            problems[name] = str(exc)
    return GateResult(reports, problems)
