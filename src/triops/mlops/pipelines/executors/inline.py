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
        future.set_result(self.run_now(task, step))
        return future

    def run_now(self, task: StepTask, step: Step) -> TaskOutcome:
        """Run the step here and return its outcome (the runner's path: no Future to make and wait on)."""
        return execute_task(task, fn=step.fn, return_type=step.return_type, memory=self.memory)

    def cancel_running(self, reason: str) -> None:
        return None  # nothing runs concurrently

    def close(self) -> None:
        self.memory.clear()


__all__ = ["InlineExecutor"]
