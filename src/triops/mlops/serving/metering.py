"""Metering of predictions: per model version, how many rows were predicted and for how long the worker
was busy, turned into usage records the FinOps pillar prices like any step's.

A serving worker is charged for its *busy* time (the sum of the server-side time of the requests it
answered), as one requested core plus its resident memory, on the ``serving`` pipeline of the model's
project, tagged ``model_version`` = ``name/N``. Idle time between requests is not charged. Each record
also carries the ``predictions`` it covers, so cost per 1,000 predictions is exact per version (FinOps'
``model_costs`` and ``ws.serving.costs`` read it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord

SERVING_PIPELINE = "serving"


@dataclass(slots=True)
class _Tally:
    model: str
    version: int
    project: str
    run_id: str
    predictions: int = 0
    busy_s: float = 0.0
    first_ms: int = 0
    last_ms: int = 0


class ServingMeter:
    """Counts predictions and busy seconds per version; ``drain`` turns them into ``UsageRecord``s."""

    def __init__(self, environment: str = "local") -> None:
        self.environment = environment
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()

    def count(
        self,
        version_id: str,
        model: str,
        version: int,
        project: str,
        run_id: str,
        rows: int,
        busy_s: float,
        now_ms: int,
    ) -> None:
        with self._lock:
            tally = self._tallies.get(version_id)
            if tally is None:
                tally = self._tallies[version_id] = _Tally(model, version, project, run_id, first_ms=now_ms)
            tally.predictions += rows
            tally.busy_s += busy_s
            tally.last_ms = now_ms

    def drain(self, peak_rss_bytes: int) -> list[UsageRecord]:
        """Usage records for everything counted since the last drain (and reset the counts)."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        return [
            UsageRecord(
                id=new_id(),
                run_id=t.run_id,
                step_run_id=None,
                project=t.project,
                pipeline=SERVING_PIPELINE,
                step=f"predict {t.model}/{t.version}",
                started_ms=t.first_ms,
                ended_ms=max(t.last_ms, t.first_ms),
                wall_s=t.busy_s,
                cpu_s=t.busy_s,
                peak_rss_bytes=peak_rss_bytes,
                bytes_read=0,
                bytes_written=0,
                gpu_s=0.0,
                gpu_model=None,
                requested_cpu=1.0,
                requested_memory_gb=0.0,
                environment=self.environment,
                tags={"model_version": f"{t.model}/{t.version}"},
                predictions=t.predictions,
            )
            for t in tallies.values()
            if t.predictions
        ]
