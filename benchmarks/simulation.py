"""Benchmark: the portfolio simulation (10,000 runs x 5 projects x 104 weeks must take <= 2 s).

Ours is the vectorised numpy kernel of ``triops.strategy.simulation``. No published tool runs this model,
so the baseline is the same weekly model written as a plain Python loop over every project (the obvious
implementation), timed in the same process on a smaller sample and extrapolated linearly to the full size.

    .venv-bench/bin/python benchmarks/simulation.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from rich.console import Console
from rich.table import Table

from triops.strategy.sensitivity import sensitivity
from triops.strategy.simparams import Effective, effective_parameters, load_parameters
from triops.strategy.simulation import simulate

TARGET_S = 2.0


def python_loop(eff: Effective, runs: int, projects: int, weeks: int, seed: int) -> float:
    """The same weekly model, one project at a time, without shocks; returns the mean total cost."""
    rng = random.Random(seed)
    plan = eff["plan_weeks"]
    waste = 1.0 + eff["compute_share"] * eff["cloud_waste"]
    dev_weekly = eff["dev_cost"] * waste + eff.weekly_overhead
    run_weekly = eff["run_cost"] * waste + eff.weekly_overhead
    planned = eff.setup_cost + eff["dev_cost"] * plan / eff["planning_bias"]
    approval = round(eff["approval_weeks"])
    fix_weeks = max(round(eff["fix_weeks"]), 1)
    p_detect = eff.detection_probability
    total = 0.0
    for _ in range(runs):
        for _ in range(projects):
            required = plan * rng.lognormvariate(0.0, eff["plan_spread"])
            progress, stage, wait, blocked, cost, value = 0.0, 0, 0, 0.0, eff.setup_cost, 0.0
            degraded = noticed = False
            repair = 0
            for _w in range(weeks):
                u = [rng.random() for _ in range(6)]
                incident = stage != 3 and u[0] < eff["data_incident_rate"]
                finding = stage < 2 and u[1] < eff["finding_rate"]
                if stage == 0:
                    step = (eff["speed"] if blocked <= 0 else 0.0) - incident * eff["incident_weeks_lost"]
                    progress = max(progress + step, 0.0)
                blocked = max(blocked - 1.0, 0.0) + finding * eff["finding_delay"]
                if stage == 0 and u[2] < eff["cancel_rate"]:
                    stage = 3
                elif stage == 0 and progress >= required:
                    stage, wait = 1, approval
                if stage == 1:
                    if wait <= 0:
                        stage = 2
                    wait -= 1
                if stage == 2:
                    value += eff["weekly_value"] * (eff["degraded_value"] if degraded else 1.0)
                    if not degraded and u[3] < eff["degradation_rate"]:
                        degraded = True
                    if degraded and not noticed and u[4] < p_detect:
                        noticed, repair = True, fix_weeks
                    if noticed:
                        repair -= 1
                        if repair <= 0:
                            degraded = noticed = False
                cost += dev_weekly if stage < 2 else run_weekly if stage == 2 else 0.0
                cost += incident * eff["incident_cost"] + finding * eff["finding_cost"]
                if eff.hard_stops and stage < 2 and cost > planned * (1.0 + eff["hard_stop_margin"]):
                    stage = 3
            total += cost
    return total / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    args = parser.parse_args()
    runs, projects, weeks = (1_000, 5, 104) if args.quick else (10_000, 5, 104)
    loop_runs = 20 if args.quick else 200
    console = Console(width=120)

    simulate(["integrated"], runs=100, projects=projects, weeks=weeks)  # warm-up: imports, data file
    times, cpu = [], []
    for seed in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        simulate(["integrated"], runs=runs, projects=projects, weeks=weeks, seed=seed)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ours = statistics.median(times)
    t0 = time.perf_counter()
    simulate(["siloed", "partial", "integrated"], runs=runs, projects=projects, weeks=weeks)
    three = time.perf_counter() - t0

    eff = effective_parameters(load_parameters(), load_parameters().approaches["integrated"])
    t0 = time.perf_counter()
    python_loop(eff, loop_runs, projects, weeks, 0)
    loop = (time.perf_counter() - t0) * runs / loop_runs

    table = Table(title=f"simulation: {runs:,} runs x {projects} projects x {weeks} weeks")
    for col in ("measure", "ours (numpy)", "baseline (Python loop)", "ratio", "target", "result"):
        table.add_column(col)
    table.add_row(
        "one approach, seconds (median of 3)",
        f"{ours:.3f}",
        f"{loop:.1f} (from {loop_runs} runs, extrapolated)",
        f"{loop / ours:.0f}x faster",
        f"<= {TARGET_S:.0f} s",
        "PASS" if ours <= TARGET_S else "FAIL",
    )
    table.add_row(
        "ours against the 2 s target",
        f"{ours / TARGET_S:.0%} of target",
        "-",
        "-",
        "<= 100%",
        "PASS" if ours <= TARGET_S else "FAIL",
    )
    table.add_row(
        "one approach, CPU seconds (median of 3)", f"{statistics.median(cpu):.3f}", "-", "-", "-", "info"
    )
    table.add_row("three approaches compared, seconds", f"{three:.3f}", "-", "-", "-", "info")
    t0 = time.perf_counter()
    sensitivity(
        ["siloed", "integrated"], runs=2_000 if not args.quick else 200, projects=projects, weeks=weeks
    )
    table.add_row(
        "--sensitivity (2,000 runs, 18 effects x 2), seconds",
        f"{time.perf_counter() - t0:.3f}",
        "-",
        "-",
        "-",
        "info",
    )
    console.print(table)
    if ours > TARGET_S:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
