"""``ws.pipelines`` and ``ws.strategy`` on a remote workspace (same calls as ``PipelineService`` and
``StrategyService``, over HTTP).

A remote ``run_pipeline`` submits the pipeline to the server by its import target: the server runs it where
the store, artifacts, metering, budgets, contract gates and audit log are, so no client can skip a hook or
write records the server did not see. The pipeline's module must be installed on the server and allowed
there (``TRIOPS_SERVER_PIPELINE_MODULES``); the call returns when the run has finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from triops.errors import ConfigError
from triops.workspace.remote_http import HttpTransport
from triops.workspace.remote_wire import (
    lineage_node,
    pipeline_result,
    quiz_result,
    simulation_result,
    step_run,
)

if TYPE_CHECKING:
    from triops.mlops.pipelines.lineage import LineageNode
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.store.repositories.pipelines import StepRunRow
    from triops.strategy.maturity import MaturityModel, MaturityResult, StoreEvidence
    from triops.strategy.roadmap import Roadmap
    from triops.strategy.scenarios import QuizResult, ScenarioBank
    from triops.strategy.simulation import SimulationResult
    from triops.strategy.wardley import WardleyMap

# a pipeline run takes as long as its steps: no read timeout on the submit and resume calls
RUN_TIMEOUT = None


class RemotePipelines:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def run(self, run_id: str) -> PipelineRunResult:
        result: PipelineRunResult = pipeline_result(self.http.get(f"/pipelines/runs/{run_id}"))
        return result

    def steps(self, run_id: str) -> list[StepRunRow]:
        return [step_run(s) for s in self.http.items(f"/pipelines/runs/{run_id}/steps")]

    def dag(self, run_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get(f"/pipelines/runs/{run_id}/dag")
        return found

    def lineage(self, ref: str, *, direction: str = "up", depth: int = 3) -> LineageNode:
        node: LineageNode = lineage_node(self.http.get(f"/lineage/{ref}", direction=direction, depth=depth))
        return node

    def resume(self, run_id: str, *, executor: str | None = None, **_: Any) -> PipelineRunResult:
        body = {"executor": executor}
        answer = self.http.json("POST", f"/pipelines/runs/{run_id}/resume", json=body, timeout=RUN_TIMEOUT)
        result: PipelineRunResult = pipeline_result(answer)
        return result

    def submit(
        self, target: str, params: Mapping[str, Any] | None = None, **options: Any
    ) -> PipelineRunResult:
        options.pop("allowed_modules", None)
        if options.pop("listener", None) is not None:
            raise ConfigError("a remote run reports when it has finished; listener= is not supported")
        body = {
            "target": target,
            "params": dict(params or {}),
            **{k: v for k, v in options.items() if v is not None},
        }
        answer = self.http.json("POST", "/pipelines/runs", json=body, timeout=RUN_TIMEOUT)
        result: PipelineRunResult = pipeline_result(answer)
        return result


class RemoteStrategy:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def simulate(self, approaches: Sequence[str] = (), **options: Any) -> SimulationResult:
        body = {"approaches": list(approaches), **{k: v for k, v in options.items() if v is not None}}
        if "overrides" in body:
            body["overrides"] = dict(body["overrides"])
        data = self.http.json("POST", "/strategy/simulate", json=body, timeout=RUN_TIMEOUT)
        result: SimulationResult = simulation_result(data)
        return result

    def simulation_parameters(self) -> list[dict[str, Any]]:
        return list(self.http.get("/strategy/simulate/parameters")["items"])

    def scenario_bank(self) -> ScenarioBank:
        from triops.strategy.scenarios import load_bank

        return load_bank(None)

    def grade_scenarios(self, answers: Mapping[str, str]) -> QuizResult:
        answer = self.http.json("POST", "/strategy/scenarios/grade", json={"answers": dict(answers)})
        result: QuizResult = quiz_result(answer)
        return result

    def maturity_model(self) -> MaturityModel:
        from triops.strategy.maturity import load_model

        return load_model()

    def roadmap(self, assessment: MaturityResult, *, capacity: int = 8) -> Roadmap:
        from triops.strategy.roadmap import Roadmap

        body = {"assessment": assessment.to_dict(), "capacity": capacity}
        data = self.http.json("POST", "/strategy/roadmap", json=body)
        return Roadmap.from_dict({k: v for k, v in data.items() if k != "markdown"})

    def wardley_default(self) -> WardleyMap:
        from triops.strategy.wardley import parse

        return parse(self.http.get("/strategy/wardley/default")["owm"])

    def wardley_check(self, text: str) -> tuple[WardleyMap, list[str]]:
        from triops.strategy.wardley import parse

        answer = self.http.json("POST", "/strategy/wardley/check", json={"text": text})
        return parse(text), list(answer["warnings"])

    def wardley_svg(self, text: str) -> str:
        return self.http.call("POST", "/strategy/wardley/render", json={"text": text}).text

    def evidence(self) -> StoreEvidence:
        from triops.strategy.maturity import StoreEvidence

        return StoreEvidence.from_dict(self.http.get("/strategy/maturity/evidence"))

    def assess_maturity(
        self, answers: Mapping[str, Any], *, from_store: bool = True, save: bool = True
    ) -> MaturityResult:
        from triops.strategy.maturity import MaturityResult

        body = {"answers": dict(answers), "from_store": from_store, "save": save}
        return MaturityResult.from_dict(self.http.json("POST", "/strategy/maturity", json=body))


__all__ = ["RemotePipelines", "RemoteStrategy"]
