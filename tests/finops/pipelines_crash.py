"""A pipeline whose third step kills its own process (SIGKILL), for the metering-journal tests."""

from __future__ import annotations

import os
import signal

from triops.mlops.pipelines.authoring import pipeline, step


@step
def first(n: int) -> int:
    return n + 1


@step
def second(n: int) -> int:
    return n * 2


@step
def die(n: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return n


@pipeline
def crashes(n: int = 1) -> None:
    die(second(first(n)))


@pipeline
def fine(n: int = 1) -> None:
    second(first(n))
