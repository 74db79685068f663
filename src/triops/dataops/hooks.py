"""Pipeline hooks of the DataOps pillar: the contract gate before each step, and OpenLineage events per run.

They follow the runner's hook protocol (``before_run``, ``before_step``, ``after_step``, ``after_run``,
``on_failure``) by duck typing, reading only the context fields they need, so the pillar never imports the
runner. The composition root registers them with what they cannot know: how to load a step input from its
content address, and where lineage goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from openlineage.client.event_v2 import RunEvent

from triops.dataops.contracts import Contract, load_contract
from triops.dataops.gate import GateResult, gate_inputs
from triops.dataops.openlineage import LineageDataset, emit, run_event
from triops.domain.clock import Clock, SystemClock


class _Link(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def media_type(self) -> str: ...


class _StepCtx(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def inputs(self) -> Sequence[_Link]: ...
    @property
    def contracts(self) -> Mapping[str, str]: ...


class _RunCtx(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def pipeline(self) -> str: ...


class _StepResult(Protocol):
    @property
    def outputs(self) -> Sequence[_Link]: ...


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...


Loader = Callable[[str, str], Any]  # (sha256, media_type) -> data
Reporter = Callable[[str, str, GateResult], None]  # (run_id, step, result)


class ContractGateHook:
    """Checks each step input that has a contract before the step runs.

    An error-severity failure raises ``ContractViolationError`` (the runner stops the run with that message
    and the report in ``detail``); ``report`` is called with every result first, so warnings and the report
    can be recorded (on the run, in the audit log) whether or not the run goes on."""

    def __init__(
        self,
        load: Loader,
        *,
        base_dir: Path | None = None,
        report: Reporter | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._load = load
        self._base = base_dir
        self._report = report
        self._clock = clock or SystemClock()
        self._contracts: dict[str, Contract] = {}

    def _contract(self, path: str) -> Contract:
        full = str(self._base / path) if self._base is not None and not Path(path).is_absolute() else path
        if full not in self._contracts:
            self._contracts[full] = load_contract(full)
        return self._contracts[full]

    def before_run(self, ctx: Any) -> None:
        return None

    def before_step(self, ctx: _StepCtx) -> None:
        if not ctx.contracts:
            return
        links = {link.name: link for link in ctx.inputs}
        inputs = {
            name: self._load(links[name].sha256, links[name].media_type)
            for name in ctx.contracts
            if name in links
        }
        contracts = {name: self._contract(path) for name, path in ctx.contracts.items()}
        result = gate_inputs(contracts, inputs, clock=self._clock)
        if self._report is not None:
            self._report(ctx.run_id, ctx.step, result)
        result.raise_for_errors()

    def after_step(self, ctx: Any, result: Any) -> None:
        return None

    def after_run(self, ctx: Any, outcome: Any) -> None:
        return None

    def on_failure(self, ctx: Any, result: Any) -> None:
        return None


@dataclass
class _RunLineage:
    inputs: dict[str, LineageDataset] = field(default_factory=dict)
    outputs: dict[str, LineageDataset] = field(default_factory=dict)


class OpenLineageHook:
    """Emits START when a run starts and COMPLETE or FAIL when it ends, with every step's input and output
    artifacts as datasets (namespace ``triops/<project>``, name ``<artifact>@<sha256 prefix>``). Datasets
    an earlier step produced are outputs only. ``target`` is a .jsonl path or an http(s) endpoint."""

    def __init__(self, target: str | Path, *, clock: Clock | None = None, namespace: str = "triops") -> None:
        self._target = target
        self._clock = clock or SystemClock()
        self._namespace = namespace
        self._runs: dict[str, _RunLineage] = {}
        self.emitted: list[RunEvent] = []

    def _dataset(self, project: str, link: _Link) -> LineageDataset:
        return LineageDataset(f"{self._namespace}/{project}", f"{link.name}@{link.sha256[:12]}")

    def _send(self, event: RunEvent) -> None:
        emit([event], self._target)
        self.emitted.append(event)

    def before_run(self, ctx: _RunCtx) -> None:
        self._runs[ctx.run_id] = _RunLineage()
        self._send(
            run_event(
                "START",
                run_id=ctx.run_id,
                job_name=ctx.pipeline,
                event_time=self._clock.now(),
                job_namespace=f"{self._namespace}/{ctx.project}",
            )
        )

    def before_step(self, ctx: _StepCtx) -> None:
        lineage = self._runs.setdefault(ctx.run_id, _RunLineage())
        for link in ctx.inputs:
            lineage.inputs.setdefault(link.sha256, self._dataset(ctx.project, link))

    def after_step(self, ctx: _StepCtx, result: _StepResult) -> None:
        lineage = self._runs.setdefault(ctx.run_id, _RunLineage())
        for link in result.outputs:
            lineage.outputs.setdefault(link.sha256, self._dataset(ctx.project, link))

    def after_run(self, ctx: _RunCtx, outcome: _Outcome) -> None:
        lineage = self._runs.pop(ctx.run_id, _RunLineage())
        external = [d for sha, d in lineage.inputs.items() if sha not in lineage.outputs]
        failed = outcome.status not in ("FINISHED", "COMPLETED", "SUCCEEDED")
        self._send(
            run_event(
                "FAIL" if failed else "COMPLETE",
                run_id=ctx.run_id,
                job_name=ctx.pipeline,
                event_time=self._clock.now(),
                job_namespace=f"{self._namespace}/{ctx.project}",
                inputs=external,
                outputs=list(lineage.outputs.values()),
                error=(outcome.error or outcome.status) if failed else None,
            )
        )

    def on_failure(self, ctx: Any, result: Any) -> None:
        return None
