"""The FinOps pipeline hook: budgets before a run and before each step, metering after each step.

Metering costs a dict append on the step path. ``after_step`` builds the step's usage record, prices it
in plain Python against unit prices read once per run (the same arithmetic as ``costs.price_usage``, so the
running total equals what is stored), appends it to an in-memory batch and to a journal file, and returns.
The batch is priced vectorised and written in one transaction every ``batch_size`` steps, every
``flush_interval_s`` seconds, when a step fails, and when the run ends.

Durability: each record is written to ``<journal_dir>/<run_id>-<pid>.jsonl`` with one unbuffered
``os.write`` before ``after_step`` returns, so the kernel holds it even if the process is then killed
(SIGTERM, SIGKILL: at most the step that was running is lost). After a batch is stored the journal is
truncated; ``recover_journals`` stores what a dead process left behind (records already stored are
skipped by id) and is called whenever the workspace builds its hooks.

The hard stop: budgets and their spend are read once at ``before_run``; ``before_step`` compares that spend
plus this run's running total (in memory) with each budget. Another run may spend meanwhile, so the
spend is re-read from the store at every batch flush, i.e. at least every ``flush_interval_s`` seconds.

It reads the runner's contexts by attribute (``run_id``, ``project``, ``pipeline``, ``step``,
``step_run_id``, ``resources``, ``cache_key``; a result's ``usage``, ``started_ms``, ``ended_ms``,
``cached``), so this pillar never imports the runner's module. ``workspace`` registers it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops.budgets import Alert, Budget, BudgetHook, current_period
from triops.finops.costs import GIB, MICROS
from triops.finops.money import format_money
from triops.finops.prices import GPU_PREFIX, PriceBook
from triops.finops.rollups import convert_micros
from triops.finops.service import FinOpsService

JOURNAL_SUFFIX = ".jsonl"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class QuickPricer:
    """Unit prices of one environment on one day, in micros, for pricing single records in memory."""

    def __init__(self, book: PriceBook, environment: str, day: Any) -> None:
        self.currency = book.environment(environment).currency
        self.prices: dict[str, float] = {}
        for row in book.rows:
            if row.environment == environment and row.covers(day):
                self.prices[row.resource] = float(row.unit_price * MICROS)

    def _cost(self, resource: str, qty: float) -> int:
        if qty <= 0:
            return 0
        price = self.prices.get(resource)
        # a missing price is reported by the vectorised pricing at flush; the running total skips it
        return 0 if price is None else round(qty * price)

    def price(self, r: UsageRecord) -> int:
        cpu = max(r.requested_cpu * r.wall_s, r.cpu_s) / 3600.0
        mem = max(r.requested_memory_gb, r.memory_bytes / GIB) * r.wall_s / 3600.0
        total = self._cost("cpu_core_hour", cpu) + self._cost("memory_gib_hour", mem)
        total += self._cost("network_gib", (r.bytes_read + r.bytes_written) / GIB)
        if r.gpu_s > 0:
            total += self._cost(f"{GPU_PREFIX}{r.gpu_model}", r.gpu_s / 3600.0)
        return total


class Journal:
    """An append-only file of usage records not yet stored; one unbuffered write per record."""

    def __init__(self, directory: Path, run_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{run_id}-{os.getpid()}{JOURNAL_SUFFIX}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, record: UsageRecord) -> None:
        # orjson serialises the dataclass itself: the same keys as to_dict, without building the dict
        os.write(self.fd, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))

    def clear(self) -> None:
        os.ftruncate(self.fd, 0)

    def close(self, *, remove: bool) -> None:
        os.close(self.fd)
        if remove:
            self.path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_journals(service: FinOpsService, directory: Path) -> int:
    """Store the usage records that processes which have died left in their journals; returns how many.
    A journal is claimed by renaming it first, so two recovering processes never both store it."""
    if not directory.is_dir():
        return 0
    stored = 0
    for path in sorted(directory.glob(f"*{JOURNAL_SUFFIX}")):
        pid_text = path.stem.rpartition("-")[2]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        claimed = path.with_name(f"{path.name}.recovering-{os.getpid()}")
        try:
            path.rename(claimed)
        except OSError:
            continue  # another process claimed it
        records = []
        for line in claimed.read_bytes().splitlines():
            try:
                records.append(UsageRecord.from_dict(orjson.loads(line)))
            except (orjson.JSONDecodeError, TypeError, InvalidInputError):
                continue  # a line torn by the kill
        stored += service.store_missing_usage(records)
        claimed.unlink(missing_ok=True)
    return stored


class FinOpsHook:
    """Enforces budgets and turns every finished step into a priced usage record, in batches."""

    name = "finops"

    def __init__(
        self,
        service: FinOpsService,
        *,
        environment: str = "local",
        tags: Mapping[str, str] | None = None,
        override_reason: str | None = None,
        journal_dir: Path | None = None,
        batch_size: int = 500,
        flush_interval_s: float = 2.0,
        attribution: Callable[[str], Mapping[str, str]] | None = None,
        cache_enabled: bool = True,
    ) -> None:
        service.book.environment(environment)
        self.service = service
        self.environment = environment
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.journal_dir = journal_dir
        self.batch_size = max(1, int(batch_size))
        self.flush_interval_s = float(flush_interval_s)
        self.attribution = attribution
        self.cache_enabled = cache_enabled  # recorded so a recommendation knows the cache was off
        self._step_tags = {**self.tags, **({} if cache_enabled else {"cache": "off"})}
        # the pre-flight check (estimate + spent) and override recording are the budget rules' own
        self.budgets = BudgetHook(
            _Tagged(service, self.tags),
            service.clock,
            override_reason=override_reason,
            on_override=service.record_override,
        )
        self.alerts: list[Alert] = []
        self._reset()

    def _reset(self) -> None:
        self._pending: list[UsageRecord] = []
        self._journal: Journal | None = None
        self._watched: list[tuple[Budget, int]] = []  # (budget, spend in the store at the last read)
        self._pending_micros = 0  # priced in memory, not yet stored
        self._overridden: set[str] = set()
        self._last_flush = time.monotonic()
        self._pricer: QuickPricer | None = None

    # -- the run ---------------------------------------------------------------------------------------
    def before_run(self, ctx: Any) -> None:
        self._close_journal(remove=False)
        self._reset()
        missing = [t for t in self.service.required_tags if not self.tags.get(t, "").strip()]
        if missing:
            raise InvalidInputError(
                f"run lacks required tags: {', '.join(missing)}",
                hint="tag the run (triops run ... --tag "
                + " --tag ".join(f"{t}=VALUE" for t in missing)
                + ", or tags={...} in ws.run_pipeline); the rule is the setting finops.required_tags",
                detail={"missing_tags": missing},
            )
        self.budgets.before_run(self._ctx(ctx))
        now = self.service.clock.now()
        self._pricer = QuickPricer(self.service.book, self.environment, now.astimezone(UTC).date())
        self._read_spend(ctx.project, now)
        if self.journal_dir is not None:
            self._journal = Journal(self.journal_dir, ctx.run_id)

    def _read_spend(self, project: str, now: datetime) -> None:
        budgets = self.service.budgets_for(project, self.tags.get("team"), self.tags.get("cost_centre"))
        self._watched = [(b, self.service.spent(b, now)) for b in budgets]

    def before_step(self, ctx: Any) -> None:
        if not self._watched:
            return
        currency = self._pricer.currency if self._pricer else None
        for budget, spent in self._watched:
            pending = self._pending_micros
            if pending and currency and currency != budget.currency:
                pending = convert_micros(pending, currency, budget.currency, self.service.book.rates)
            total = spent + pending
            if total < budget.amount_micros or budget.id in self._overridden:
                continue
            label = current_period(budget.period, self.service.clock.now())[0]
            message = (
                f"step {ctx.step!r} of project {ctx.project!r} stopped: "
                f"{format_money(total, budget.currency)} spent of the {label} {budget.describe()}"
            )
            self.budgets.refuse_or_override(budget, "step", message, total, 0, self.budgets.override_reason)
            self._overridden.add(budget.id)  # an override is recorded once per run, not per step

    def usage_record(self, ctx: Any, result: Any) -> UsageRecord:
        usage = result.usage
        resources: Mapping[str, float] = getattr(ctx, "resources", None) or {}
        tags = dict(self._step_tags)
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
            step_memory_bytes=_optional_int(getattr(usage, "step_memory_bytes", None)),
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
        record = self.usage_record(ctx, result)
        if self._journal is not None:
            self._journal.append(record)
        self._pending.append(record)
        if self._pricer is not None:
            self._pending_micros += self._pricer.price(record)
        if (
            len(self._pending) >= self.batch_size
            or time.monotonic() - self._last_flush >= self.flush_interval_s
        ):
            self.flush(ctx.project)

    def flush(self, project: str | None = None) -> None:
        """Price and store the pending records in one transaction, raise their alerts, re-read spend."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        _, alerts = self.service.record_usage(batch)
        self.alerts.extend(alerts)
        self._pending_micros = 0
        if self._journal is not None:
            self._journal.clear()
        if project is not None and self._watched:
            self._read_spend(project, self.service.clock.now())

    def after_run(self, ctx: Any, outcome: Any) -> None:
        try:
            self.flush()  # the run is over: no step is left to stop, so its spend is not re-read
            if self.attribution is not None:
                values = self.attribution(ctx.run_id)
                if values:
                    self.service.attribute_run(ctx.run_id, values)
        finally:
            self._close_journal(remove=not self._pending)

    def on_failure(self, ctx: Any, result: Any) -> None:
        # a failed step still used (and costs) what it used; store everything so far at once
        if getattr(result, "started_ms", 0):
            record = self.usage_record(ctx, result)
            if self._journal is not None:
                self._journal.append(record)
            self._pending.append(record)
        self.flush(getattr(ctx, "project", None))

    def _close_journal(self, *, remove: bool) -> None:
        if self._journal is not None:
            self._journal.close(remove=remove)
            self._journal = None

    def _ctx(self, ctx: Any) -> dict[str, Any]:
        return {
            "project": getattr(ctx, "project", None),
            "pipeline": getattr(ctx, "pipeline", None),
            "step": getattr(ctx, "step", None),
            "team": self.tags.get("team"),
        }


class _Tagged:
    """The service as a SpendSource, with the hook's team (and cost-centre) tags applied to lookups."""

    def __init__(self, service: FinOpsService, tags: Mapping[str, str]) -> None:
        self.service = service
        self.team = tags.get("team")
        self.cost_centre = tags.get("cost_centre")

    def budgets_for(self, project: str, team: str | None) -> Sequence[Any]:
        return self.service.budgets_for(project, team or self.team, self.cost_centre)

    def spent(self, budget: Any, now: Any) -> int:
        return self.service.spent(budget, now)

    def estimate_run(
        self, project: str, pipeline: str | None, currency: str | None = None
    ) -> tuple[int | None, int]:
        return self.service.estimate_run(project, pipeline, currency)
