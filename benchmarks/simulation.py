"""Benchmark: the portfolio simulation (10,000 runs x 5 projects x 104 weeks must take <= 2 s).

Ours is the vectorised numpy kernel of ``triops.strategy.simulation``. No published tool runs this model,
so the baseline is the same weekly model written as a plain Python loop over every project (the obvious
implementation), timed in the same process on a smaller sample and extrapolated linearly to the full size.

    .venv-bench/bin/python benchmarks/simulation.py [--quick]

The baseline is our own reference loop, not a published peer, so the row always has a figure.
"""

from __future__ import annotations

import random
import statistics
import time

from _report import Report, parse_args

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
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/simulation.py", args)
    runs, projects, weeks = (1_000, 5, 104) if args.quick else (10_000, 5, 104)
    loop_runs = 20 if args.quick else 200

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

    size = f"{runs:,} runs × {projects} projects × {weeks} weeks"
    report.row(
        f"simulate one approach, {size} (median of 3)",
        ours,
        "s",
        peer=loop,
        peer_name=f"Python loop ({loop_runs} runs, extrapolated)",
        limit=TARGET_S,
    )
    report.row("  CPU seconds of the same (median of 3)", statistics.median(cpu), "s")
    report.row(f"three approaches compared, {size}", three, "s")
    sensitivity_runs = 200 if args.quick else 2_000
    t0 = time.perf_counter()
    sensitivity(["siloed", "integrated"], runs=sensitivity_runs, projects=projects, weeks=weeks)
    report.row(f"--sensitivity ({sensitivity_runs:,} runs, 18 effects × 2)", time.perf_counter() - t0, "s")
    report.finish()


if __name__ == "__main__":
    main()
