"""Records back from their JSON form (what the server's ``to_dict`` wrote), so a remote workspace returns
the same types a local one does. Unknown keys are ignored and missing optional ones take their defaults,
so a client keeps working against a server that adds fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

T = TypeVar("T")


def build(cls: type[T], data: Mapping[str, Any], **convert: Callable[[Any], Any]) -> T:
    """``cls(**data)`` for the dataclass fields ``data`` has, each passed through ``convert[name]`` if given."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            value = data[f.name]
            values[f.name] = convert[f.name](value) if f.name in convert and value is not None else value
    return cls(**values)


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


# -- registry -------------------------------------------------------------------------------------------------
def model_version(data: Mapping[str, Any]) -> Any:
    from triops.mlops.registry.records import ModelVersion
    from triops.mlops.registry.signature import Signature

    return build(
        ModelVersion,
        data,
        signature=Signature.from_dict,
        training_datasets=_tuple,
        evaluation_datasets=_tuple,
        aliases=_tuple,
    )


# -- dataops ----------------------------------------------------------------------------------------------------
def dataset_version(data: Mapping[str, Any]) -> Any:
    from triops.store.repositories.dataops import DatasetVersionRow

    # listings leave the profile and the report out
    return build(DatasetVersionRow, {"profile": None, "quality": None, **data})


def rule_result(data: Mapping[str, Any]) -> Any:
    from triops.dataops.report import RuleResult

    return build(RuleResult, data, samples=lambda v: tuple(dict(s) for s in v))


def check_report(data: Mapping[str, Any]) -> Any:
    from triops.dataops.report import CheckReport

    return build(CheckReport, data, columns=_tuple, results=lambda v: tuple(rule_result(r) for r in v))


def profile(data: Mapping[str, Any]) -> Any:
    from triops.dataops.profile import ColumnProfile, DatasetProfile

    columns = tuple(
        build(ColumnProfile, {**c, "name": name}, top_values=lambda v: [tuple(x) for x in v])
        for name, c in data.get("columns", {}).items()
    )
    return DatasetProfile(int(data["row_count"]), columns)


def quality_score(data: Mapping[str, Any]) -> Any:
    from triops.dataops.quality import QualityScore

    return build(QualityScore, data)


def registered(data: Mapping[str, Any]) -> Any:
    from triops.dataops.datasets import Registered

    return Registered(
        dataset_version(data["version"]),
        check_report(data["report"]) if data.get("report") else None,
        profile(data["profile"]),
        quality_score(data["score"]) if data.get("score") else None,
    )


def dataset_diff(data: Mapping[str, Any]) -> Any:
    from triops.dataops.dataset_diff import ColumnShift, DatasetDiff

    return build(
        DatasetDiff,
        data,
        added=_tuple,
        removed=_tuple,
        retyped=lambda v: tuple((x["column"], x["old"], x["new"]) for x in v),
        shifts=lambda v: tuple(build(ColumnShift, s) for s in v),
    )


def lineage_node(data: Mapping[str, Any]) -> Any:
    from triops.mlops.pipelines.lineage import LineageNode

    return build(LineageNode, data, children=lambda v: tuple(lineage_node(c) for c in v))


# -- pipelines ----------------------------------------------------------------------------------------------------
def step_run(data: Mapping[str, Any]) -> Any:
    from triops.store.repositories.pipelines import StepRunRow

    return build(StepRunRow, data)


def pipeline_result(data: Mapping[str, Any]) -> Any:
    from triops.mlops.pipelines.materializers import MaterializedRef
    from triops.mlops.pipelines.runner import PipelineRunResult

    return build(
        PipelineRunResult,
        data,
        steps=lambda v: tuple(step_run(s) for s in v),
        outputs=lambda v: {k: build(MaterializedRef, r) for k, r in v.items()},
    )


# -- finops ---------------------------------------------------------------------------------------------------------
def budget(data: Mapping[str, Any]) -> Any:
    from triops.finops.budgets import Budget

    return build(Budget, data, thresholds=_tuple)


def forecast(data: Mapping[str, Any]) -> Any:
    from triops.finops.forecast import Forecast

    return build(Forecast, data, as_of=date.fromisoformat)


def burn_down(data: Mapping[str, Any]) -> Any:
    from triops.finops.forecast import BurnDown

    return build(BurnDown, data, start=date.fromisoformat, as_of=date.fromisoformat, spent=_tuple,
                 forecast=_tuple)  # fmt: skip


def anomaly(data: Mapping[str, Any]) -> Any:
    from triops.finops.forecast import Anomaly

    return build(Anomaly, data, day=date.fromisoformat)


def recommendation(data: Mapping[str, Any]) -> Any:
    from triops.finops.recommend import Recommendation

    return build(Recommendation, data)


def alert(data: Mapping[str, Any]) -> Any:
    from triops.finops.budgets import Alert

    return build(Alert, data)


# -- governance -------------------------------------------------------------------------------------------------------
def gate_result(data: Mapping[str, Any]) -> Any:
    from triops.governance.policies import ApprovalRule, GateResult, RuleResult
    from triops.governance.rbac import Role

    return build(
        GateResult,
        data,
        rules=lambda v: tuple(build(RuleResult, r) for r in v),
        approvals_needed=lambda v: tuple(ApprovalRule(Role(a["role"]), int(a["count"])) for a in v),
        approvals_missing=_tuple,
        policies=_tuple,
    )


def approval_request(data: Mapping[str, Any]) -> Any:
    from triops.governance.approvals import ApprovalRequest, Requirement
    from triops.governance.rbac import Role

    return build(
        ApprovalRequest,
        data,
        requirements=lambda v: tuple(Requirement(Role(r["role"]), int(r["count"])) for r in v),
    )


def approval_state(data: Mapping[str, Any]) -> Any:
    from triops.governance.approvals import ApprovalState, Status

    return build(ApprovalState, data, status=Status, missing=_tuple, approvers=_tuple)


def binding(data: Mapping[str, Any]) -> Any:
    from triops.governance.roles import Binding

    return build(Binding, data)


def use_case(data: Mapping[str, Any]) -> Any:
    from triops.governance.inventory import use_case_from_dict

    return use_case_from_dict({k: v for k, v in data.items() if k != "gaps"})


def verify_report(data: Mapping[str, Any]) -> Any:
    from triops.domain.audit_chain import ChainProblem, ChainReport
    from triops.governance.audit import VerifyReport

    chain = ChainReport()
    for key in ("checked", "checkpoints_checked", "last_seq", "last_hash"):
        if key in data and hasattr(chain, key):
            setattr(chain, key, data[key])
    for problem in data.get("problems", []):
        chain.problems.append(build(ChainProblem, problem))
    return VerifyReport(chain, list(data.get("warnings", [])))


def framework_report(data: Mapping[str, Any]) -> Any:
    from triops.governance.frameworks import Evidence, FrameworkReport, ItemResult

    items = tuple(
        ItemResult(
            i["id"],
            i["title"],
            i["status"],
            tuple(build(Evidence, e) for e in i.get("evidence", [])),
            tuple(m["kind"] if isinstance(m, dict) else m for m in i.get("missing", [])),
            (i.get("statement") or {}).get("needed"),
            str(data["framework"]),
        )
        for i in data.get("items", [])
    )
    return FrameworkReport(data["framework"], items)


# -- strategy ----------------------------------------------------------------------------------------------------------
def simulation_result(data: Mapping[str, Any]) -> Any:
    from triops.strategy.simresult import ApproachResult, MetricSummary, SimulationResult

    def summary(values: Mapping[str, Any]) -> Any:
        return MetricSummary(**{k: float("nan") if v is None else float(v) for k, v in values.items()})

    return build(
        SimulationResult,
        data,
        shocks=_tuple,
        approaches=lambda v: tuple(
            build(
                ApproachResult,
                a,
                practices=_tuple,
                metrics=lambda m: {k: summary(x) for k, x in m.items()},
            )
            for a in v
        ),
    )


def scorecard(data: Mapping[str, Any]) -> Any:
    from triops.kpis import Kpi, Scorecard

    return Scorecard(
        tuple(
            build(Kpi, {**k, "target": float("inf") if k.get("target") is None else k["target"]})
            for k in data["kpis"]
        )
    )


__all__ = ["build"]
