"""The triops exception tree.

Every error says *what* went wrong, *where* (the object, file, key or column involved) and *how to fix it*
(``hint``). The CLI prints ``str(error)`` as one red line; the REST API turns the same fields into RFC 9457
problem JSON using ``status`` and ``type_slug``.

    TriopsError
    ├── ConfigError                 bad settings, bad store URL, missing optional dependency
    ├── InvalidInputError           a value the caller passed is malformed (key, metric value, param …)
    │   └── FilterSyntaxError       a run-search filter that does not parse (names its column)
    ├── NotFoundError               an id, name, version or alias that does not exist
    ├── ConflictError               a write that contradicts stored state (params are immutable …)
    ├── StoreError                  the store cannot be used
    │   ├── StoreCorruptError       the database file is not a readable store (never overwritten)
    │   ├── StoreVersionError       written by a newer triops; refused, never altered
    │   └── ArtifactIntegrityError  a blob's bytes no longer hash to its name (names both digests)
    ├── AuthError                   401: missing or wrong credentials (no detail on purpose)
    ├── PermissionDeniedError       403: authenticated, but the role lacks a named permission
    ├── RemoteError                 a triops server answered with an error or could not be reached
    ├── PipelineError               authoring or running a pipeline failed
    │   ├── CycleError              the DAG has a cycle (names the steps in it)
    │   ├── MaterializerError       an output type has no materializer (explains how to register one)
    │   ├── StepFailedError         a step raised, timed out or was killed (names the step)
    │   └── RunStoppedError         a hook stopped the run before a step (carries the hook's reason)
    ├── DataContractError           a contract file is malformed or does not fit the data
    │   └── ContractViolationError  an error-severity rule failed at a gate (carries the report)
    ├── BudgetExceededError         a budget hard stop refused a run or a step
    └── PolicyError                 a policy file is malformed, or a gate blocked a change
        └── GateBlockedError        a gate's rules or approvals are not met (carries the result)
"""

from __future__ import annotations

from typing import Any, ClassVar


class TriopsError(Exception):
    """Base of every error triops raises on purpose."""

    status: ClassVar[int] = 500
    type_slug: ClassVar[str] = "triops-error"

    def __init__(self, message: str, *, hint: str | None = None, detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail: dict[str, Any] = detail or {}

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details for this error."""
        problem: dict[str, Any] = {
            "type": f"https://triops.dev/problems/{self.type_slug}",
            "title": type(self).__name__,
            "status": self.status,
            "detail": str(self),
        }
        if instance:
            problem["instance"] = instance
        if self.detail:
            problem["errors"] = self.detail
        return problem


class ConfigError(TriopsError):
    status = 400
    type_slug = "config"


class InvalidInputError(TriopsError):
    status = 422
    type_slug = "invalid-input"


class FilterSyntaxError(InvalidInputError):
    type_slug = "filter-syntax"

    def __init__(self, message: str, *, column: int, text: str, hint: str | None = None):
        pointer = f"{text}\n{' ' * (column - 1)}^"
        super().__init__(
            f"filter syntax error at column {column}: {message}",
            hint=hint or "see docs/tracking.md#search-filters for the filter grammar",
            detail={"column": column, "filter": text, "pointer": pointer},
        )
        self.column = column


class NotFoundError(TriopsError):
    status = 404
    type_slug = "not-found"


class ConflictError(TriopsError):
    status = 409
    type_slug = "conflict"


class StoreError(TriopsError):
    status = 500
    type_slug = "store"


class StoreCorruptError(StoreError):
    type_slug = "store-corrupt"


class StoreVersionError(StoreError):
    type_slug = "store-version"


class ArtifactIntegrityError(StoreError):
    type_slug = "artifact-integrity"


class AuthError(TriopsError):
    status = 401
    type_slug = "unauthorized"


class PermissionDeniedError(TriopsError):
    status = 403
    type_slug = "forbidden"


class RemoteError(TriopsError):
    status = 502
    type_slug = "remote"


class PipelineError(TriopsError):
    status = 400
    type_slug = "pipeline"


class CycleError(PipelineError):
    type_slug = "pipeline-cycle"


class MaterializerError(PipelineError):
    type_slug = "materializer"


class StepFailedError(PipelineError):
    type_slug = "step-failed"


class RunStoppedError(PipelineError):
    type_slug = "run-stopped"


class DataContractError(TriopsError):
    status = 422
    type_slug = "data-contract"


class ContractViolationError(DataContractError):
    type_slug = "contract-violation"


class BudgetExceededError(TriopsError):
    status = 402
    type_slug = "budget-exceeded"


class PolicyError(TriopsError):
    status = 422
    type_slug = "policy"


class GateBlockedError(PolicyError):
    status = 409
    type_slug = "gate-blocked"


__all__ = [
    "AuthError",
    "BudgetExceededError",
    "ConfigError",
    "ConflictError",
    "ContractViolationError",
    "CycleError",
    "DataContractError",
    "FilterSyntaxError",
    "GateBlockedError",
    "InvalidInputError",
    "MaterializerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PipelineError",
    "PolicyError",
    "RemoteError",
    "RunStoppedError",
    "StepFailedError",
    "StoreCorruptError",
    "StoreError",
    "StoreVersionError",
    "TriopsError",
]
