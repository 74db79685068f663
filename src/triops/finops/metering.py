"""The FinOps pipeline hook: budgets before a run and before each step, metering after each step.

It reads the runner's contexts by attribute (``run_id``, ``project``, ``pipeline``, ``step``,
``step_run_id``, ``resources``, ``cache_key``; a result's ``usage``, ``started_ms``, ``ended_ms``,
``cached``), so this pillar never imports the runner's module. ``workspace`` registers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.finops.budgets import Alert, BudgetHook
from triops.finops.service import FinOpsService


class FinOpsHook:
    """Enforces budgets (``BudgetHook``) and turns every finished step into a priced usage record."""

    name = "finops"

    def __init__(
        self,
        service: FinOpsService,
        *,
        environment: str = "local",
        tags: Mapping[str, str] | None = None,
        override_reason: str | None = None,
    ) -> None:
        service.book.environment(environment)
        self.service = service
        self.environment = environment
        self.tags = dict(tags or {})
        self.budgets = BudgetHook(
            _Tagged(service, self.tags),
            service.clock,
            override_reason=override_reason,
            on_override=service.record_override,
        )
        self.alerts: list[Alert] = []

    def _ctx(self, ctx: Any) -> dict[str, Any]:
        return {
            "project": getattr(ctx, "project", None),
            "pipeline": getattr(ctx, "pipeline", None),
            "step": getattr(ctx, "step", None),
            "team": self.tags.get("team"),
        }

    def before_run(self, ctx: Any) -> None:
        self.budgets.before_run(self._ctx(ctx))

    def before_step(self, ctx: Any) -> None:
        self.budgets.before_step(self._ctx(ctx))

    def usage_record(self, ctx: Any, result: Any) -> UsageRecord:
        usage = result.usage
        resources: Mapping[str, float] = getattr(ctx, "resources", None) or {}
        tags = dict(self.tags)
        cache_key = getattr(ctx, "cache_key", None)
        if cache_key:
            tags["cache_key"] = str(cache_key)
        if getattr(result, "cached", False):
            tags["cache_hit"] = "true"
        started = int(result.started_ms)
        return UsageRecord(
            id=new_id(started),
            run_id=ctx.run_id,
            step_run_id=getattr(ctx, "step_run_id", None),
            project=ctx.project,
            pipeline=getattr(ctx, "pipeline", None),
            step=getattr(ctx, "step", None),
            started_ms=started,
            ended_ms=max(int(result.ended_ms), started),
            wall_s=float(usage.wall_s),
            cpu_s=float(usage.cpu_s),
            peak_rss_bytes=int(usage.peak_rss_bytes),
            bytes_read=int(usage.bytes_read),
            bytes_written=int(usage.bytes_written),
            gpu_s=float(usage.gpu_s),
            gpu_model=usage.gpu_model,
            requested_cpu=float(resources.get("cpu", 1.0)),
            requested_memory_gb=float(resources.get("memory_gb", 1.0)),
            environment=self.environment,
            tags=tags,
        )

    def after_step(self, ctx: Any, result: Any) -> None:
        _, alerts = self.service.record_usage([self.usage_record(ctx, result)])
        self.alerts.extend(alerts)

    def after_run(self, ctx: Any, outcome: Any) -> None:
        return None

    def on_failure(self, ctx: Any, result: Any) -> None:
        # a failed step still used (and costs) what it used
        if getattr(result, "started_ms", 0):
            self.after_step(ctx, result)


class _Tagged:
    """The service as a SpendSource, with the hook's team tag applied to budget lookups."""

    def __init__(self, service: FinOpsService, tags: Mapping[str, str]) -> None:
        self.service = service
        self.team = tags.get("team")

    def budgets_for(self, project: str, team: str | None) -> list[Any]:
        return self.service.budgets_for(project, team or self.team)

    def spent(self, budget: Any, now: Any) -> int:
        return self.service.spent(budget, now)

    def estimate_run(self, project: str, pipeline: str | None) -> tuple[int | None, int]:
        return self.service.estimate_run(project, pipeline)
