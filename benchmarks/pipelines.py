"""Pipelines benchmark: orchestration overhead per step (beside Prefect 3 and Dagster in-process, the same N
trivial steps on every side: the wall time of one run of N steps divided by N, after a warm-up run, best of
three), a Ray fan-out's wall time, a cache-hit check with a 100 MB input, and the metering overhead.

On a machine shared with other work, wall time moves with the load; CPU time (user + system, of the process
and of every child it started: Prefect's ephemeral API server is a child process doing its share of each
task's work) moves less. The hooked row is therefore judged on both: wall per step against the fastest
peer's wall, and CPU per step against the fastest peer's CPU, both sides measured in the same run.

Run: ``.venv-bench/bin/python benchmarks/pipelines.py [--quick] [--allow-missing]`` (peers and Ray come from
the bench venv; a peer or Ray that cannot run is NOT MEASURED and fails the run unless ``--allow-missing``).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _report import Report, measure_peer, parse_args
from rich.console import Console

from triops.artifacts import ArtifactStore
from triops.dataops.demo import benefits_contract_path
from triops.mlops.pipelines.authoring import Pipeline, pipeline, step
from triops.mlops.pipelines.hooks import BaseHook, StepContext, StepResult
from triops.mlops.pipelines.metering import Meter
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store, create_store
from triops.store.migrate import upgrade

console = Console(width=max(140, Console().width))


def fresh_store(tmp: Path) -> tuple[Store, ArtifactStore]:
    store = create_store(f"sqlite:///{tmp}/store.db")
    upgrade(store)
    return store, ArtifactStore(tmp / "artifacts")


# ---- the steps (module level, so every executor can import them) ----
@step
def noop(i: int) -> int:
    return i


def many_steps(n: int) -> Pipeline:
    @pipeline(name=f"trivial_{n}")
    def trivial() -> None:
        for i in range(n):
            noop(i)

    return trivial


@step(cache=False)
def load_data() -> Any:
    from triops.dataops.demo import load_benefits

    return load_benefits()


@step(cache=False, contracts={"raw": str(benefits_contract_path())})
def checked(raw: Any) -> int:
    return int(raw.height)


def gated_steps(n: int) -> Pipeline:
    """N trivial steps of which the second reads the first's frame through a contract gate (the benefits
    demo contract): the issue's hooked row asks for a contract gate on the first step that has an input."""

    @pipeline(name=f"gated_{n}")
    def gated() -> None:
        checked(load_data())
        for i in range(n - 2):
            noop(i)

    return gated


@step(resources={"cpu": 1, "memory_gb": 0})
def burn(i: int, seconds: float = 1.0) -> int:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return i


@pipeline
def fan_out(width: int = 20, seconds: float = 1.0) -> None:
    for i in range(width):
        burn(i, seconds)


@step
def big_input(megabytes: int = 100) -> np.ndarray:
    return np.random.default_rng(0).random(megabytes * 2**20 // 8)


@step
def consume(values: np.ndarray) -> float:
    return float(values[:10].sum())


@pipeline
def cached_big(megabytes: int = 100) -> None:
    consume(big_input(megabytes))


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its live children (psutil), so far."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in (me, *me.children(recursive=True)):
        try:
            times = proc.cpu_times()
        except psutil.Error:  # a child that ended meanwhile
            continue
        total += times.user + times.system
    return total


# ---- ours ----
def bare_per_step(tmp: Path, n: int, flow_of: Callable[[int], Pipeline] = many_steps) -> tuple[float, float]:
    """(wall, CPU) seconds per step of the bare runner (no hook) on ``flow_of(n)``, after a warm-up run."""
    tmp.mkdir(parents=True, exist_ok=True)
    store, arts = fresh_store(tmp)
    run_pipeline(store, arts, flow_of(5), use_cache=False)  # warm imports and connections
    flow = flow_of(n)
    start, cpu = time.perf_counter(), time.process_time()
    result = run_pipeline(store, arts, flow, use_cache=False)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.status == "FINISHED", result.error
    store.dispose()
    return elapsed / n, cpu / n


def ours_with_hooks_per_step(tmp: Path, n: int) -> tuple[float, float]:
    """(wall, CPU) seconds per step of ``ws.run_pipeline`` (the path users take) with every built-in hook
    on: a project and a team budget set, the contract gate on the second step, OpenLineage events to a
    file, FinOps metering with its journal, the run's tracking records."""
    from triops import Workspace
    from triops.finops.budgets import new_budget
    from triops.settings import Settings

    tmp.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=tmp, openlineage_file=tmp / "lineage.jsonl")
    ws = Workspace.open(f"sqlite:///{tmp}/ws.db", artifact_root=tmp / "artifacts", settings=settings)
    ws.finops.set_budget(new_budget("project", "bench", "month", "1000000", "EUR"))
    ws.finops.set_budget(new_budget("team", "bench", "month", "1000000", "EUR"))
    ws.run_pipeline(gated_steps(5), project="bench", use_cache=False)  # warm imports and connections
    flow = gated_steps(n)
    start, cpu = time.perf_counter(), time.process_time()
    result = ws.run_pipeline(flow, project="bench", use_cache=False, tags={"team": "bench"})
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.status == "FINISHED", result.error
    assert ws.finops.costs(run_id=result.run_id).height == n, "every step is metered"
    events = (tmp / "lineage.jsonl").read_bytes().count(b"\n")
    assert events == 2 * (n + 1) + 2 * (5 + 1), (
        f"every step's START and COMPLETE is in the lineage file ({events})"
    )
    ws.close()
    return elapsed / n, cpu / n


# ---- peers ----
def prefect_per_task(tmp: Path, n: int) -> tuple[float, float]:
    """(wall, CPU) seconds per task; CPU counts Prefect's API server process too."""
    os.environ.setdefault("PREFECT_HOME", str(tmp / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # its ephemeral API server may take long to start on a busy machine; a time-out is NOT MEASURED
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from prefect import flow, task

    @task
    def p_noop(i: int) -> int:
        return i

    @flow
    def p_flow(count: int) -> None:
        for i in range(count):
            p_noop(i)

    p_flow(2)  # starts Prefect's ephemeral API once; not counted
    start, cpu = time.perf_counter(), cpu_seconds()
    p_flow(n)
    return (time.perf_counter() - start) / n, (cpu_seconds() - cpu) / n


def dagster_per_op(n: int) -> tuple[float, float]:
    """(wall, CPU) seconds per op, executed in process."""
    import dagster as dg

    warnings.filterwarnings("ignore")
    logging.getLogger("dagster").setLevel(logging.ERROR)

    @dg.op
    def d_noop() -> int:
        return 1

    def job_of(count: int) -> Any:
        @dg.job(name=f"fan_{count}")
        def fan() -> None:
            for i in range(count):
                d_noop.alias(f"noop_{i}")()

        return fan

    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    job_of(2).execute_in_process(run_config=quiet)  # warm Dagster's imports and instance
    large = job_of(n)
    start, cpu = time.perf_counter(), cpu_seconds()
    result = large.execute_in_process(run_config=quiet)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    assert result.success
    return elapsed / n, cpu / n


REPEATS = 3


def _best(measure: Any) -> tuple[float, float]:
    """The fastest wall and the least CPU of ``REPEATS`` (wall, CPU) timings."""
    runs = [measure() for _ in range(REPEATS)]
    return min(w for w, _ in runs), min(c for _, c in runs)


# ---- Ray fan-out ----
def ray_fan_out(tmp: Path, width: int, seconds: float) -> tuple[float, float, float]:
    """(run wall, Ray start-up, Σ step wall / 2): the last shows how busy the two CPUs were kept, so that a
    machine shared with other work (steps slower than 1 CPU-s each) can be told from scheduling gaps."""
    import ray

    from triops.mlops.pipelines.executors.ray import RayExecutor

    os.environ.setdefault("RAY_agent_register_timeout_ms", "180000")
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "180")
    start = time.perf_counter()
    executor = RayExecutor(num_cpus=2)
    startup = time.perf_counter() - start
    store, arts = fresh_store(tmp / "ray")
    run_pipeline(
        store, arts, fan_out, {"width": 2, "seconds": 0.01}, executor=executor, use_cache=False
    )  # warm
    start = time.perf_counter()
    result = run_pipeline(
        store, arts, fan_out, {"width": width, "seconds": seconds}, executor=executor, use_cache=False
    )
    wall = time.perf_counter() - start
    assert result.status == "FINISHED", result.error
    ray.shutdown()
    busy = sum(r.wall_s or 0.0 for r in result.steps) / 2
    return wall, startup, busy


# ---- cache hit with a large input ----
class CheckTimer(BaseHook):
    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def before_step(self, ctx: StepContext) -> None:
        self.started[ctx.step] = time.perf_counter()

    def after_step(self, ctx: StepContext, result: StepResult) -> None:
        self.seconds[ctx.step] = time.perf_counter() - self.started[ctx.step]


def cache_hit_check(tmp: Path, megabytes: int) -> tuple[float, str]:
    store, arts = fresh_store(tmp / "cache")
    run_pipeline(store, arts, cached_big, {"megabytes": megabytes})
    timer = CheckTimer()
    result = run_pipeline(store, arts, cached_big, {"megabytes": megabytes}, hooks=[timer])
    return timer.seconds["consume"], result.statuses["consume"]


def metering_overhead(n: int = 20_000) -> float:
    meter = Meter()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            meter.start()
            meter.stop(bytes_read=1, bytes_written=1)
        best = min(best, (time.perf_counter() - start) / n)
    return best


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/pipelines.py", args)
    steps = 50 if args.quick else 1000  # the same N on every side (the 1,000 steps)
    width, seconds = (4, 0.25) if args.quick else (20, 1.0)
    megabytes = 10 if args.quick else 100
    with tempfile.TemporaryDirectory(prefix="triops-bench-pipelines-") as name:
        tmp = Path(name)
        # best of three for every side: one timing of a sub-second loop moves by 10-20 % on a shared machine
        with console.status("orchestration overhead (ours)"):
            ours = min(bare_per_step(tmp / f"ours-{i}" / "ours", steps)[0] for i in range(REPEATS))
        measured: list[float] = []
        measured_cpu: list[float] = []
        for peer_name, measure in (
            ("Prefect 3 tasks", lambda: prefect_per_task(tmp, steps)),
            ("Dagster ops", lambda: dagster_per_op(steps)),
        ):
            with console.status(peer_name):
                figures, why = measure_peer(lambda m=measure: _best(m))
            peer = None if figures is None else figures[0]
            if figures is not None:
                measured.append(figures[0])
                measured_cpu.append(figures[1])
            report.row(
                f"overhead per trivial step, {steps} steps inline, vs {peer_name} ({steps} steps)",
                ours * 1e3,
                "ms",
                peer=None if peer is None else peer * 1e3,
                peer_name=peer_name,
                note=why,
                limit=2.0,
                min_ratio=10,
            )
        with console.status("ws.run_pipeline with the built-in hooks, and the bare runner on the same steps"):
            bare, bare_cpu, hooked, hooked_cpu = (float("inf"),) * 4
            for i in range(REPEATS):  # interleaved, so both sides see the same load
                wall, cpu = bare_per_step(tmp / f"bare-{i}", steps, gated_steps)
                bare, bare_cpu = min(bare, wall), min(bare_cpu, cpu)
                wall, cpu = ours_with_hooks_per_step(tmp / f"hooked-{i}", steps)
                hooked, hooked_cpu = min(hooked, wall), min(hooked_cpu, cpu)
        report.row(
            f"ws.run_pipeline per trivial step, every built-in hook on, {steps} steps "
            f"(bare runner {bare * 1e3:.3f} ms; hooks' share {(hooked - bare) * 1e3:.3f} ms wall, "
            f"{(hooked_cpu - bare_cpu) * 1e3:.3f} ms CPU)",
            hooked * 1e3,
            "ms",
            peer=min(measured) * 1e3 if measured else None,
            peer_name="fastest peer",
            note=None if measured else "no peer could be measured",
            limit=1.0,
            min_ratio=10,
        )
        report.row(
            f"ws.run_pipeline CPU per trivial step, every built-in hook on, {steps} steps "
            f"(bare runner {bare_cpu * 1e3:.3f} ms CPU; peer CPU includes its API server process)",
            hooked_cpu * 1e3,
            "ms CPU",
            peer=min(measured_cpu) * 1e3 if measured_cpu else None,
            peer_name="fastest peer, CPU",
            note=None if measured_cpu else "no peer could be measured",
            limit=1.0,
            min_ratio=10,
        )
        with console.status("Ray fan-out"):
            fan, why = measure_peer(lambda: ray_fan_out(tmp, width, seconds))
        ideal = width * seconds / 2
        wall, startup, busy = fan if fan is not None else (None, 0.0, 0.0)
        report.row(
            f"fan-out {width} × {seconds:g} CPU-s on local Ray, 2 CPUs"
            + ("" if fan is None else f" (start-up {startup:.1f} s apart; Σ step wall / 2 = {busy:.1f} s)"),
            wall,
            "s",
            peer=ideal,
            peer_name="ideal (work / 2 CPUs)",
            note=why,
            limit=1.2 * ideal,
        )
        with console.status("cache hit check"):
            check, status = cache_hit_check(tmp, megabytes)
        report.row(
            f"cache hit check, {megabytes} MB input ({status})",
            check * 1e3 if status == "CACHED" else None,
            "ms",
            limit=50,
        )
        overhead = metering_overhead()
        report.row("metering start+stop per step", overhead * 1e6, "µs", limit=50)
    report.note(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    report.finish()


if __name__ == "__main__":
    main()
