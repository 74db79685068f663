"""The inline executor: each step runs in this process, one after another; outputs stay in memory too."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from triops.mlops.pipelines.authoring import Step
from triops.mlops.pipelines.executors.task import StepTask, TaskOutcome, execute_task


class InlineExecutor:
    name = "inline"
    remote = False

    def __init__(self) -> None:
        self.memory: dict[str, Any] = {}

    def submit(self, task: StepTask, step: Step) -> Future[TaskOutcome]:
        future: Future[TaskOutcome] = Future()
        future.set_result(execute_task(task, fn=step.fn, return_type=step.return_type, memory=self.memory))
        return future

    def cancel_running(self, reason: str) -> None:
        return None  # nothing runs concurrently

    def close(self) -> None:
        self.memory.clear()


__all__ = ["InlineExecutor"]
