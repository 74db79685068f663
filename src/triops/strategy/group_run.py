"""A workshop group's simulation as a plain value in, a plain value out: the checked request
(:class:`GroupSimulation`, built by ``WorkshopService.plan_simulation``) and :func:`run_group_simulation`,
which reads no store and no workspace. So a server can run it in a process of its own (a 2,000-run
simulation is ~100 ms of CPU that holds the interpreter lock) while its own process goes on answering the
projector and the other learners; the service stores the outcome afterwards. :func:`worker_start` starts
such a process; this module imports only the simulation, so a worker starts in a fraction of a second.
"""

from __future__ import annotations

import os
import threading
import time
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
    from triops.strategy.simulation import resolve_approaches, simulate

    # the choices are levers at level intro, practices at the others; none: the siloed baseline alone
    intro = plan.level == "intro"
    chosen, levers = resolve_approaches(
        ["siloed"], () if intro else plan.choices, plan.choices if intro else ()
    )
    result = simulate(chosen, levers=levers, runs=plan.runs, seed=plan.seed, level=plan.level)
    return {
        "header": result.header(),
        "assumptions": result.assumptions_line(),
        "currency": result.currency,
        "mix": result.approaches[-1].to_dict()["metrics"],
        "baseline": result.approaches[0].to_dict()["metrics"],
    }


def worker_start(server_pid: int) -> None:
    """A simulation worker process's start: import the simulation and parse its parameters, and exit once
    the server process ``server_pid`` is gone (a server killed, or ended by a re-raised SIGTERM, runs no
    exit hook that would stop its workers)."""
    from triops.strategy.simparams import load_parameters

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()
    load_parameters()


__all__ = ["GroupSimulation", "run_group_simulation", "worker_start"]
