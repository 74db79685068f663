"""The per-step pieces a pipeline run (``mlops/pipelines/run_state.py``) builds from explicit arguments: the initial
step rows, a step's inputs, cache key, hook context and executor task, the cache lookup, the row changes a
cache hit or a finished task makes, the cache entry, stored artifacts and hook result of a succeeded step.

Everything here takes what it needs as arguments and keeps no state, so ``RunState`` alone decides the
order of scheduling, recording and hook calls.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from triops.artifacts import ArtifactStore, StoredArtifact
from triops.domain.clock import Clock, utc_ms
from triops.domain.ids import new_id
from triops.mlops.pipelines.authoring import Dag, Node, Step
from triops.mlops.pipelines.cache import cache_key, canonical_json, function_fingerprint
from triops.mlops.pipelines.executors.task import StepTask, TaskOutcome
from triops.mlops.pipelines.hooks import StepContext, StepResult, StepUsage
from triops.mlops.pipelines.materializers import MaterializedRef
from triops.mlops.pipelines.run_records import link
from triops.store.engine import Store
from triops.store.repositories import pipelines as repo
from triops.store.repositories.pipelines import CacheEntry, StepRunRow

_ROW_FIELDS = tuple(f.name for f in fields(StepRunRow))
_row_values = operator.attrgetter(*_ROW_FIELDS)


def evolve_row(row: StepRunRow, changes: Mapping[str, Any]) -> StepRunRow:
    """``dataclasses.replace(row, **changes)`` at a fraction of its cost (twice per step): the fields are
    read by one C-level getter instead of a ``getattr`` and an init check each."""
    values = dict(zip(_ROW_FIELDS, _row_values(row), strict=True))
    values.update(changes)
    return StepRunRow(**values)


def json_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that are JSON-able, as kept on the pipeline run row (the others only as text)."""
    params: dict[str, Any] = {}
    for key, value in values.items():
        try:
            canonical_json(value)
            params[key] = value
        except (TypeError, ValueError):
            continue
    return params


def step_rows(
    dag: Dag, order: list[str], position: Mapping[str, int], run_id: str, executor_name: str, now: int
) -> dict[str, StepRunRow]:
    """One PENDING row per step, in run order."""
    rows: dict[str, StepRunRow] = {}
    for n in order:
        node = dag.nodes[n]
        rows[n] = StepRunRow(
            id=new_id(now),
            run_id=run_id,
            step=n,
            function=f"{node.step.fn.__module__}:{node.step.fn.__qualname__}",
            position=position[n],
            upstream=sorted(node.upstream, key=position.__getitem__),
            status="PENDING",
            resources=node.step.resources.to_dict(),
            executor=executor_name,
        )
    return rows


def step_inputs(
    spec: Node,
    artifact_literals: Mapping[str, MaterializedRef],
    outputs: Mapping[str, Mapping[str, MaterializedRef]],
) -> dict[str, MaterializedRef]:
    """A step's input artifacts: its non-JSON literals, then the upstream outputs it consumes."""
    inputs = dict(artifact_literals)
    for arg, placeholder in spec.inputs.items():
        inputs[arg] = outputs[placeholder.node][placeholder.output]
    return inputs


def step_cache_key(
    step: Step,
    literals: Mapping[str, Any],
    inputs: Mapping[str, MaterializedRef],
    fingerprints: dict[Any, str] | None = None,
) -> str:
    """The step's cache key. With ``fingerprints`` (one dict per run), each step function's fingerprint is
    worked out once per run, not once per call: a run executes the code (and module constants) it found
    when its first call of that function started."""
    fingerprint = None if fingerprints is None else fingerprints.get(step.fn)
    if fingerprint is None:
        fingerprint = function_fingerprint(step.fn)
        if fingerprints is not None:
            fingerprints[step.fn] = fingerprint
    return cache_key(fingerprint, literals, {a: r.sha256 for a, r in inputs.items()})


def step_context(
    *,
    run_id: str,
    project: str,
    pipeline: str,
    executor: str,
    node: str,
    step_run_id: str,
    step: Step,
    inputs: Mapping[str, MaterializedRef],
    literals: Mapping[str, Any],
    key: str,
    resources: Mapping[str, float] | None = None,
) -> StepContext:
    return StepContext(
        run_id,
        project,
        pipeline,
        node,
        step_run_id,
        tuple(link(a, r) for a, r in inputs.items()),
        literals,
        step.resources.to_dict() if resources is None else resources,
        step.contracts,
        executor,
        key,
    )


def step_task(
    node: str,
    step_run_id: str,
    step: Step,
    literals: dict[str, Any],
    inputs: dict[str, MaterializedRef],
    artifact_root: str,
    store_url: str | None = None,
    trusted_types: tuple[str, ...] = (),
) -> StepTask:
    return StepTask(
        step_run_id=step_run_id,
        node=node,
        module=step.fn.__module__,
        qualname=step.fn.__qualname__,
        module_file=getattr(sys.modules.get(step.fn.__module__), "__file__", None),
        literals=literals,
        inputs=inputs,
        output_names=step.output_names,
        multiple=step.multiple_outputs,
        retries=step.retries,
        retry_delay_s=step.retry_delay_s,
        timeout_s=step.timeout,
        gpus=step.resources.gpu,
        artifact_root=artifact_root,
        memory_bytes=int(step.resources.memory_gb * 2**30),
        store_url=store_url,
        trusted_types=trusted_types,
    )


def worker_settings(executor: Any, store: Store, artifacts: ArtifactStore) -> tuple[str, str | None]:
    """(artifact root, store URL) for the executor's workers: what the executor was told they reach them
    by (``artifact_root=``, ``store_url=``), else the driver's own, made absolute. The store URL is only
    handed to executors whose workers may run on other machines (``checks_reach``), which check both."""
    root = getattr(executor, "artifact_root", None) or artifacts.root
    if "://" not in root:
        root = str(Path(root).resolve())
    if not getattr(executor, "checks_reach", False):
        return root, None
    return root, getattr(executor, "store_url", None) or store.url


def lookup_cache(
    store: Store,
    artifacts: ArtifactStore,
    reuse: Mapping[str, tuple[str, dict[str, MaterializedRef]]],
    key: str,
    *,
    use_cache: bool,
) -> tuple[str, dict[str, MaterializedRef]] | None:
    """(source step run id, outputs) to reuse for ``key``: a resumed run's outputs, else the cache."""
    found = reuse.get(key)
    if found is None and use_cache:
        with store.connect() as conn:
            entry = repo.get_cache_entry(conn, key)
        if entry is not None:
            found = (entry.step_run_id, {o["name"]: MaterializedRef.from_dict(o) for o in entry.outputs})
    if found is None:
        return None
    if not all(artifacts.exists(ref.sha256) for ref in found[1].values()):
        return None  # an artifact was removed by hand: run the step again
    return found


def cached_changes(key: str, source: str, now: int) -> dict[str, Any]:
    """The row changes of a cache hit: no time and no resources used."""
    return {
        "status": "CACHED",
        "cache_key": key,
        "cached_from": source,
        "started_ms": now,
        "ended_ms": now,
        "wall_s": 0.0,
        "cpu_s": 0.0,
        "peak_rss_bytes": 0,
        "step_memory_bytes": 0,
        "bytes_read": 0,
        "bytes_written": 0,
        "gpu_s": 0.0,
    }


def outcome_changes(outcome: TaskOutcome) -> dict[str, Any]:
    """The row changes of a task the executor finished (done, failed or killed)."""
    u = outcome.usage
    return {
        "status": outcome.status,
        "attempt": outcome.attempts,
        "started_ms": outcome.started_ms,
        "ended_ms": outcome.ended_ms,
        "error": outcome.error,
        "traceback": outcome.traceback,
        "wall_s": u.wall_s,
        "cpu_s": u.cpu_s,
        "peak_rss_bytes": u.peak_rss_bytes,
        "bytes_read": u.bytes_read,
        "bytes_written": u.bytes_written,
        "gpu_s": u.gpu_s,
        "gpu_model": u.gpu_model,
        "import_s": u.import_s,
        "step_memory_bytes": u.step_memory_bytes,
    }


def cache_entry(
    row: StepRunRow,
    node: str,
    row_id: str | None,
    outputs: Mapping[str, MaterializedRef],
    clock: Clock,
    *,
    cacheable: bool,
) -> CacheEntry | None:
    """The cache entry a succeeded step leaves, if it ran (``row_id``), may be cached and has a key."""
    if row_id is None or not cacheable or not row.cache_key:
        return None
    return CacheEntry(
        row.cache_key,
        node,
        row_id,
        [{"name": n, **r.to_dict()} for n, r in outputs.items()],
        utc_ms(clock.now()),
    )


def stored_artifacts(node: str, outputs: Mapping[str, MaterializedRef]) -> list[tuple[str, StoredArtifact]]:
    return [(f"{node}/{n}", StoredArtifact(r.sha256, r.size, r.media_type)) for n, r in outputs.items()]


def step_result(row: StepRunRow, outputs: Mapping[str, MaterializedRef], cached: bool) -> StepResult:
    """What ``after_step`` and ``on_failure`` hooks see of a step run."""
    usage = StepUsage(
        row.wall_s or 0.0,
        row.cpu_s or 0.0,
        row.peak_rss_bytes or 0,
        row.bytes_read or 0,
        row.bytes_written or 0,
        row.gpu_s or 0.0,
        row.gpu_model,
        row.import_s or 0.0,
        row.step_memory_bytes,
    )
    return StepResult(
        row.step,
        row.id,
        row.status,
        row.attempt,
        row.started_ms or 0,
        row.ended_ms or 0,
        tuple(link(n, r) for n, r in outputs.items()),
        usage,
        row.error,
        cached,
    )


__all__ = [
    "cache_entry",
    "cached_changes",
    "evolve_row",
    "json_params",
    "lookup_cache",
    "outcome_changes",
    "step_cache_key",
    "step_context",
    "step_inputs",
    "step_result",
    "step_rows",
    "step_task",
    "stored_artifacts",
    "worker_settings",
]
