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

from triops.domain.clock import SystemClock
from triops.errors import ConfigError
from triops.workspace.remote_http import HttpTransport
from triops.workspace.remote_wire import (
    lineage_node,
    pipeline_result,
    simulation_result,
    step_run,
)

if TYPE_CHECKING:
    from triops.mlops.pipelines.lineage import LineageNode
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.store.repositories.pipelines import StepRunRow
    from triops.strategy.maturity import MaturityResult
    from triops.strategy.maturity_model import MaturityModel, StoreEvidence
    from triops.strategy.roadmap import Roadmap
    from triops.strategy.scenarios import Feedback, Quiz, QuizResult
    from triops.strategy.sensitivity import SensitivityResult
    from triops.strategy.simresult import SimulationResult
    from triops.strategy.wardley_model import WardleyMap
    from triops.strategy.wardley_parse import ParseReport
    from triops.strategy.wardley_svg import Rendered

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
    """``ws.strategy`` of a remote workspace. The quiz and the Wardley parser are pure functions of data that
    ships with triops, so they run here; the rest goes to the server (simulation to spare this machine,
    evidence and assessments because they live in the server's store)."""

    def __init__(self, http: HttpTransport) -> None:
        self.http = http
        from triops.workspace.strategy import StrategyService

        self._pure = StrategyService(None, SystemClock())

    @staticmethod
    def _simulation_body(approaches: Sequence[str], options: Mapping[str, Any]) -> dict[str, Any]:
        body = {"approaches": list(approaches), **{k: v for k, v in options.items() if v is not None}}
        for key in ("practices", "levers"):
            if key in body:
                body[key] = list(body[key])
        if "overrides" in body:
            body["overrides"] = dict(body["overrides"])
        return body

    def simulate(self, approaches: Sequence[str] = (), **options: Any) -> SimulationResult:
        body = self._simulation_body(approaches, options)
        data = self.http.json("POST", "/strategy/simulate", json=body, timeout=RUN_TIMEOUT)
        result: SimulationResult = simulation_result(data)
        return result

    def sensitivity(self, approaches: Sequence[str] = (), **options: Any) -> SensitivityResult:
        from triops.strategy.sensitivity import sensitivity_from_dict

        body = self._simulation_body(approaches, options)
        data = self.http.json("POST", "/strategy/simulate/sensitivity", json=body, timeout=RUN_TIMEOUT)
        return sensitivity_from_dict(data)

    def controls(self, level: str) -> Any:
        return self._pure.controls(level)

    def simulation_parameters(self) -> list[dict[str, Any]]:
        return list(self.http.get("/strategy/simulate/parameters")["items"])

    def quiz(self, **attempt: Any) -> Quiz:
        return self._pure.quiz(**attempt)

    def answer(self, scenario_id: str, letter: str, **attempt: Any) -> Feedback:
        return self._pure.answer(scenario_id, letter, **attempt)

    def grade_scenarios(self, answers: Mapping[str, str], **attempt: Any) -> QuizResult:
        return self._pure.grade_scenarios(answers, **attempt)

    def maturity_model(self) -> MaturityModel:
        return self._pure.maturity_model()

    def roadmap(self, assessment: MaturityResult, *, capacity: int = 8) -> Roadmap:
        from triops.strategy.roadmap import Roadmap

        body = {"assessment": assessment.to_dict(), "capacity": capacity}
        data = self.http.json("POST", "/strategy/roadmap", json=body)
        return Roadmap.from_dict({k: v for k, v in data.items() if k != "markdown"})

    def wardley_default(self) -> WardleyMap:
        return self._pure.wardley_default()

    def wardley_check(self, text: str) -> ParseReport:
        return self._pure.wardley_check(text)

    def wardley_render(self, text: str) -> Rendered:
        return self._pure.wardley_render(text)

    def wardley_from_store(self) -> WardleyMap:
        from triops.strategy.wardley_parse import parse

        return parse(self.http.get("/strategy/wardley/from-store")["owm"])

    def evidence(self) -> StoreEvidence:
        from triops.strategy.maturity_model import StoreEvidence

        return StoreEvidence.from_dict(self.http.get("/strategy/maturity/evidence"))

    def assess_maturity(
        self,
        answers: Mapping[str, Any],
        *,
        from_store: bool = True,
        save: bool = True,
        evidence: StoreEvidence | None = None,
    ) -> MaturityResult:
        from triops.strategy.maturity import MaturityResult

        if not from_store:
            return self._pure.assess_maturity(answers, from_store=False, evidence=evidence)
        body = {"answers": dict(answers), "from_store": from_store, "save": save}
        return MaturityResult.from_dict(self.http.json("POST", "/strategy/maturity", json=body))

    def assessments(self, limit: int = 100) -> list[MaturityResult]:
        from triops.strategy.maturity import MaturityResult

        data = self.http.get("/strategy/maturity/assessments", limit=limit)
        return [MaturityResult.from_dict(r) for r in data["items"]]

    def progress(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.http.get("/strategy/maturity/assessments", limit=limit)["progress"])


__all__ = ["RemotePipelines", "RemoteStrategy"]
