"""A workshop group's simulation as a plain value in, a plain value out: the checked request
(:class:`GroupSimulation`, built by ``WorkshopService.plan_simulation``) and :func:`run_group_simulation`,
which reads no store and no workspace. So a server can run it in a process of its own (a 2,000-run
simulation is ~100 ms of CPU that holds the interpreter lock) while its own process goes on answering the
projector and the other learners; the service stores the outcome afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GroupSimulation:
    """What a group asked for, checked: the session's simulation level and seed, and the picked choices
    (levers at level intro, practices otherwise; empty: the siloed baseline only)."""

    code: str
    session_id: str
    learner_id: str
    group: str
    level: str
    seed: int
    runs: int
    choices: tuple[str, ...]


def run_group_simulation(plan: GroupSimulation) -> dict[str, Any]:
    """The group's mix beside the siloed baseline: header, assumptions line, currency and the metrics of
    both (what the learner's result page and the projector show)."""
    from triops.strategy.simulation import simulate
    from triops.workspace.strategy import resolve_approaches

    picked = list(plan.choices)
    practices = picked if plan.level != "intro" else []
    levers = picked if plan.level == "intro" else []
    chosen, lever_mixes = resolve_approaches(["siloed"], practices, levers)
    result = simulate(chosen, levers=lever_mixes, runs=plan.runs, seed=plan.seed, level=plan.level)
    return {
        "header": result.header(),
        "assumptions": result.assumptions_line(),
        "currency": result.currency,
        "mix": result.approaches[-1].to_dict()["metrics"],
        "baseline": result.approaches[0].to_dict()["metrics"],
    }


def warm() -> None:
    """Import the simulation and parse its parameters (a fresh worker process's first run would)."""
    from triops.strategy.simparams import load_parameters

    load_parameters()


__all__ = ["GroupSimulation", "run_group_simulation", "warm"]
