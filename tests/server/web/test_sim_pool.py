"""The web simulation pool: work runs in another process, a group's simulation there answers exactly what it
answers in the server's own process (same seed, same numbers), and shutting the pool down ends its worker."""

from __future__ import annotations

import asyncio
import os

import pytest

from triops.server.web.sim_pool import run_cpu, shutdown, workers
from triops.strategy.group_run import GroupSimulation, run_group_simulation


def test_a_group_simulation_runs_in_a_worker_process_with_the_same_outcome() -> None:
    plan = GroupSimulation("C", "s", "l", "group 1", "standard", 7, 200, ("data_contracts",))

    async def both() -> tuple[int, dict[str, object]]:
        return await run_cpu(os.getpid), await run_cpu(run_group_simulation, plan)

    pid, outcome = asyncio.run(both())
    assert pid != os.getpid()
    assert outcome == run_group_simulation(plan)
    assert outcome["mix"] != outcome["baseline"]
    assert 1 <= workers() <= 4
    shutdown()  # as an app's shutdown does: the worker is gone, and the next use starts another
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert asyncio.run(run_cpu(os.getpid)) not in (pid, os.getpid())
    shutdown()
