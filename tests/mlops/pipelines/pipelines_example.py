"""Example pipelines for the pipeline tests: module-level, so every executor can import their steps.

Kept light (stdlib and numpy only) so worker processes start fast; the ML example is in pipelines_ml.py."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from triops.mlops.pipelines.authoring import pipeline, step


def _double(values: list[int]) -> list[int]:
    return [2 * v for v in values]


@step
def make_numbers(n: int) -> list[int]:
    return list(range(n))


@step
def doubled(values: list[int]) -> list[int]:
    return _double(values)


@step
def total(values: list[int], offset: int = 0) -> int:
    return sum(values) + offset


@pipeline
def numbers(n: int = 5, offset: int = 0) -> None:
    total(doubled(make_numbers(n)), offset)


# ---- failures ----
@step
def fail_if(values: list[int], marker: str = "") -> list[int]:
    if marker and not Path(marker).exists():
        raise RuntimeError(f"marker {marker} is missing")
    return values


@step
def slow_square(x: int, seconds: float = 0.0) -> int:
    time.sleep(seconds)
    return x * x


@pipeline
def fails_unless_marker(marker: str, n: int = 3) -> None:
    values = make_numbers(n)
    checked = fail_if(doubled(values), marker)
    total(checked)


@pipeline
def branches(marker: str, seconds: float = 0.5) -> None:
    """One branch fails at once; the other takes ``seconds``."""
    total(fail_if([1, 2], marker))
    slow_square(3, seconds)


@step
def allocate_and_die(megabytes: int) -> int:
    block = np.ones(megabytes * 2**20 // 8)
    block += 1
    # hold the memory for a few of the executor's 50 ms RSS samples, as a real out-of-memory kill
    # comes after the growth; dying at once raced the sampler on a loaded machine
    time.sleep(0.4)
    os.kill(os.getpid(), signal.SIGKILL)
    return int(block[0])


@pipeline
def oom(megabytes: int = 200) -> None:
    allocate_and_die(megabytes)
    slow_square(2, 0.2)


@step(resources={"cpu": 1, "memory_gb": 0.1})
def allocate_over_limit(megabytes: int) -> int:
    return int(allocate_and_die.fn(megabytes))


@pipeline
def over_limit(megabytes: int = 300) -> None:
    allocate_over_limit(megabytes)


@step
def interrupt(values: list[int], marker: str) -> list[int]:
    if not Path(marker).exists():
        raise KeyboardInterrupt
    return values


@pipeline
def interrupted(marker: str) -> None:
    total(interrupt(doubled(make_numbers(4)), marker))


# ---- fan-out ----
@step(resources={"cpu": 1, "memory_gb": 0})
def burn(i: int, seconds: float = 1.0) -> int:
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        x += 1
    return i


@pipeline
def fan_out(width: int = 4, seconds: float = 0.2) -> None:
    for i in range(width):
        burn(i, seconds)


@step
def vector(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64)


@step
def scaled(values: np.ndarray, factor: float) -> np.ndarray:
    return values * factor


@step
def summary(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    return {"a": float(a.sum()), "b": float(b.sum())}


@pipeline
def diamond(n: int = 10) -> None:
    v = vector(n)
    summary(scaled(v, 2.0), scaled(v, 3.0))


@step
def rendezvous(me: str, other: str, directory: str, wait_s: float = 60.0) -> bool:
    """True only if the ``other`` step is running at the same time (it touches its file while we wait)."""
    Path(directory, me).touch()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if Path(directory, other).exists():
            return True
        time.sleep(0.01)
    return False


@pipeline
def meet(directory: str) -> None:
    rendezvous("a", "b", directory)
    rendezvous("b", "a", directory)
