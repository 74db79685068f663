"""Executors run step tasks: ``inline`` (sequential, in this process), ``local`` (independent branches at once
in worker processes) and ``ray`` (each step a Ray task with its resources). All three call the same
``execute_task``, so a pipeline gives the same outputs, hashes and records on each."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Protocol

from triops.errors import InvalidInputError
from triops.mlops.pipelines.authoring import Step
from triops.mlops.pipelines.executors.task import StepTask, TaskOutcome

EXECUTORS = ("inline", "local", "ray")


class Executor(Protocol):
    name: str
    #: whether steps run in other processes (they must then be importable module-level functions)
    remote: bool

    def submit(self, task: StepTask, step: Step) -> Future[TaskOutcome]:
        """Start ``task``; the future always resolves to an outcome (DONE, FAILED or KILLED), never raises."""
        ...

    def cancel_running(self, reason: str) -> None:
        """Stop every task in flight; their futures resolve as KILLED with ``reason``."""
        ...

    def close(self) -> None: ...


def make_executor(name: str, **options: Any) -> Executor:
    """An executor by name: ``inline``, ``local`` (``max_workers=``) or ``ray`` (``address=``,
    ``num_cpus=``)."""
    if name == "inline":
        from triops.mlops.pipelines.executors.inline import InlineExecutor

        return InlineExecutor()
    if name == "local":
        from triops.mlops.pipelines.executors.local import LocalExecutor

        return LocalExecutor(**options)
    if name == "ray":
        from triops.mlops.pipelines.executors.ray import RayExecutor

        return RayExecutor(**options)
    raise InvalidInputError(f"unknown executor {name!r}", hint=f"choose one of: {', '.join(EXECUTORS)}")


def ray_options(executor: str, ray_address: str | None) -> dict[str, Any]:
    """Executor options for ``ray_address`` (``--ray-address``): only with the ray executor."""
    if ray_address is None:
        return {}
    if executor != "ray":
        raise InvalidInputError(
            f"ray_address is given but the executor is {executor!r}",
            hint="use executor='ray' (--executor ray) with a Ray address, or drop the address",
            detail={"parameter": "ray_address"},
        )
    if not ray_address.strip():
        raise InvalidInputError(
            "ray_address is empty", hint="give the head node as host:6379 or ray://host:10001"
        )
    return {"address": ray_address.strip()}


__all__ = ["EXECUTORS", "Executor", "make_executor", "ray_options"]
