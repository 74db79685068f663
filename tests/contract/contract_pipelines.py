"""Pipelines the platform contract suite runs locally and submits to a server (which imports them by module
name, so they live in a module, not in a test file)."""

from __future__ import annotations

from pathlib import Path

from triops.mlops.pipelines.authoring import pipeline, step


@step
def make_numbers(n: int) -> list[int]:
    return list(range(n))


@step
def total(values: list[int], stop_file: str) -> int:
    if stop_file and Path(stop_file).exists():
        raise RuntimeError(f"stopped by {stop_file}")
    return sum(values)


@pipeline
def numbers(n: int = 4, stop_file: str = "") -> None:
    total(make_numbers(n), stop_file)
