"""OpenLineage events for pipeline runs: one job for the pipeline, one child job per step.

A run emits START for the pipeline, then START and COMPLETE (or FAIL) for each step, with the parent run
facet naming the pipeline run, then COMPLETE or FAIL for the pipeline. Datasets are content-addressed
artifacts in namespace ``triops/<project>``: ``<step>.<output>@<sha256 prefix>`` for what a step made,
``<input>@<sha256 prefix>`` for what came from outside the run. Each carries the schema facet when its
columns can be read; an input a contract gate checked carries the data-quality metrics and assertions
facets, on the step that consumed it and, for data from outside, on the pipeline's event too.

Events are built as plain dicts (``openlineage_events``). To a file, each is appended with one unbuffered
write to a file held open while a run emits; to an HTTP endpoint, each is queued for a background thread
that posts them one by one (``openlineage_http``: the specification has no batch format), and the queue is
flushed when the run ends, so a slow endpoint never holds up a step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from triops.dataops.gate import GateResult
from triops.dataops.hook_context import Link, RunCtx, RunEnd, StepCtx, StepOutcome
from triops.dataops.openlineage import LineageDataset, ParentJob
from triops.dataops.openlineage_events import JsonLinesSink, event_document
from triops.dataops.openlineage_http import HttpLineageSender
from triops.dataops.report import CheckReport
from triops.domain.clock import Clock, SystemClock
from triops.errors import ConfigError

_log = logging.getLogger("triops.lineage")
FieldsReader = Callable[[str, str], Sequence[tuple[str, str]] | None]  # (sha256, media_type) -> columns


@dataclass
class _Step:
    run_id: str
    inputs: list[str]  # sha256 of each input, in order
    ended: bool = False


@dataclass
class _Run:
    project: str
    pipeline: str
    datasets: dict[str, LineageDataset] = field(default_factory=dict)  # sha256 → dataset
    produced: dict[str, None] = field(default_factory=dict)  # sha256s in order made; a dict for lookups
    external: list[str] = field(default_factory=list)
    reports: dict[str, CheckReport] = field(default_factory=dict)  # sha256 → the gate's report
    steps: dict[str, _Step] = field(default_factory=dict)
    parent: ParentJob | None = None  # this run as its steps' parent, made once

    def as_parent(self, run_id: str, namespace: str) -> ParentJob:
        if self.parent is None:
            self.parent = ParentJob(run_id, namespace, self.pipeline)
        return self.parent

    def datasets_for(self, digests: Sequence[str]) -> list[LineageDataset]:
        reports = self.reports
        return [
            replace(self.datasets[d], report=reports[d]) if d in reports else self.datasets[d]
            for d in digests
        ]


class OpenLineageHook:
    """Emits the run's and its steps' OpenLineage events to ``target`` (a .jsonl path or an http(s) URL).

    ``fields_of`` reads an artifact's columns for the schema facet; ``record_gate`` (wire it to the contract
    gate's ``report``) adds the data-quality facets of each checked input. Register this hook before the
    contract gate so a step the gate stops still has its START and FAIL. An event the target refuses is
    logged (logger ``triops.lineage``) and kept in ``undelivered`` (as its document); the run goes on.
    ``emitted`` counts the events written or, for HTTP, delivered (all of them once the run has ended)."""

    def __init__(
        self,
        target: str | Path,
        *,
        clock: Clock | None = None,
        namespace: str = "triops",
        fields_of: FieldsReader | None = None,
    ) -> None:
        self._target = target
        self._clock = clock or SystemClock()
        self._namespace = namespace
        self._fields_of = fields_of
        self._runs: dict[str, _Run] = {}
        text = str(target)
        http = text.startswith(("http://", "https://"))
        self._sink = None if http else JsonLinesSink(Path(text))
        self._http = HttpLineageSender(text) if http else None
        self._written = 0  # a count: keeping every event of a long run would only grow the heap
        # the documents of the events the target refused (the HTTP sender's own list for an endpoint)
        self.undelivered: list[Any] = self._http.undelivered if self._http is not None else []

    @property
    def emitted(self) -> int:
        return self._written + (self._http.delivered if self._http is not None else 0)

    # -- what a run knows ------------------------------------------------------------------------------
    def _run(self, run_id: str, project: str = "default", pipeline: str = "pipeline") -> _Run:
        return self._runs.setdefault(run_id, _Run(project, pipeline))

    def _job_namespace(self, run: _Run) -> str:
        return f"{self._namespace}/{run.project}"

    def _dataset(self, run: _Run, link: Link, name: str) -> LineageDataset:
        fields = self._fields_of(link.sha256, link.media_type) if self._fields_of is not None else None
        return LineageDataset(
            self._job_namespace(run), f"{name}@{link.sha256[:12]}", fields=tuple(fields or ())
        )

    def record_gate(self, run_id: str, step: str, result: GateResult) -> None:
        """Keep the check reports of a contract gate, to attach to the datasets they checked."""
        run = self._run(run_id)
        for name, report in result.reports.items():
            digest = result.digests.get(name)
            if digest is not None:
                run.reports[digest] = report

    def _send(self, event_type: str, **fields: Any) -> None:
        # lineage is a record of the run, not part of it: an unreachable endpoint must not stop the
        # pipeline, so the event is kept and the failure logged and counted instead
        event = event_document(event_type, **fields)
        if self._http is not None:
            self._http.send(event)  # queued: posted by the sender's thread, never on the step's path
            return
        try:
            if self._sink is not None:
                self._sink.write(event)
        except (ConfigError, OSError) as exc:
            self.undelivered.append(event)
            _log.warning("OpenLineage event not delivered to %s: %s", self._target, exc)
            return
        self._written += 1

    def _step_event(
        self,
        run_id: str,
        step: str,
        event_type: str,
        outputs: Sequence[str] = (),
        error: str | None = None,
    ) -> None:
        run = self._runs[run_id]
        record = run.steps[step]
        namespace = self._job_namespace(run)
        self._send(
            event_type,
            run_id=record.run_id,
            job_name=f"{run.pipeline}.{step}",
            job_namespace=namespace,
            event_time=self._clock.now(),
            inputs=run.datasets_for(record.inputs) if record.inputs else (),
            outputs=run.datasets_for(outputs) if outputs else (),
            error=error,
            parent=run.as_parent(run_id, namespace),
            job_type="STEP",
        )
        record.ended = event_type != "START"

    # -- the runner's hook protocol --------------------------------------------------------------------
    def before_run(self, ctx: RunCtx) -> None:
        run = self._runs[ctx.run_id] = _Run(ctx.project, ctx.pipeline)
        self._send(
            "START",
            run_id=ctx.run_id,
            job_name=ctx.pipeline,
            job_namespace=self._job_namespace(run),
            event_time=self._clock.now(),
            job_type="PIPELINE",
        )

    def before_step(self, ctx: StepCtx) -> None:
        run = self._run(ctx.run_id, ctx.project, ctx.pipeline)
        for link in ctx.inputs:
            if link.sha256 not in run.datasets:
                run.datasets[link.sha256] = self._dataset(run, link, link.name)
                run.external.append(link.sha256)
        run.steps[ctx.step] = _Step(ctx.step_run_id, [link.sha256 for link in ctx.inputs])
        self._step_event(ctx.run_id, ctx.step, "START")

    def after_step(self, ctx: StepCtx, result: StepOutcome) -> None:
        run = self._run(ctx.run_id, ctx.project, ctx.pipeline)
        for link in result.outputs:
            if link.sha256 not in run.produced:
                run.produced[link.sha256] = None
                run.datasets.setdefault(link.sha256, self._dataset(run, link, f"{ctx.step}.{link.name}"))
        if ctx.step in run.steps:
            self._step_event(ctx.run_id, ctx.step, "COMPLETE", [link.sha256 for link in result.outputs])

    def on_failure(self, ctx: StepCtx, result: StepOutcome) -> None:
        run = self._runs.get(ctx.run_id)
        if run is not None and ctx.step in run.steps:
            self._step_event(ctx.run_id, ctx.step, "FAIL", error=result.error or "the step failed")

    def after_run(self, ctx: RunCtx, outcome: RunEnd) -> None:
        run = self._run(ctx.run_id, ctx.project, ctx.pipeline)
        failed = outcome.status not in ("FINISHED", "COMPLETED", "SUCCEEDED")
        error = (outcome.error or outcome.status) if failed else None
        for step, record in run.steps.items():
            if not record.ended:  # stopped before it ran (a gate) or cancelled with the run
                self._step_event(ctx.run_id, step, "FAIL", error=error or "the run ended first")
        self._runs.pop(ctx.run_id, None)
        self._send(
            "FAIL" if failed else "COMPLETE",
            run_id=ctx.run_id,
            job_name=ctx.pipeline,
            job_namespace=self._job_namespace(run),
            event_time=self._clock.now(),
            inputs=run.datasets_for([d for d in run.external if d not in run.produced]),
            outputs=run.datasets_for(list(run.produced)),
            error=error,
            job_type="PIPELINE",
        )
        if self._http is not None:
            self._http.flush()  # every event of the run sent (or given up on) before the run returns
            if not self._runs:
                self._http.close()
        if self._sink is not None and not self._runs:
            self._sink.close()  # the next run opens it again
