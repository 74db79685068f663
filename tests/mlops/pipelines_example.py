"""Example pipelines for the pipeline tests: module-level, so every executor can import their steps."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from triops.mlops.pipelines import pipeline, step


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


# ---- a small ML pipeline: load → split → train two models (parallel branches) → evaluate ----
@step
def load(rows: int = 200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    return pl.DataFrame({"x1": x1, "x2": x2, "y": (x1 + 0.5 * x2 > 0).astype(np.int64)})


@step(outputs=["train", "test"])
def split(data: pl.DataFrame, share: float = 0.75) -> tuple[pl.DataFrame, pl.DataFrame]:
    cut = int(data.height * share)
    return data.head(cut), data.tail(data.height - cut)


@step(resources={"cpu": 1, "memory_gb": 0.5})
def train_logistic(train: pl.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(train.select("x1", "x2").to_numpy(), train["y"].to_numpy())


@step(resources={"cpu": 1, "memory_gb": 0.5})
def train_tree(train: pl.DataFrame) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(
        train.select("x1", "x2").to_numpy(), train["y"].to_numpy()
    )


@step
def evaluate(logistic: LogisticRegression, tree: DecisionTreeClassifier, test: pl.DataFrame) -> dict[str, float]:
    x, y = test.select("x1", "x2").to_numpy(), test["y"].to_numpy()
    return {"logistic": float(logistic.score(x, y)), "tree": float(tree.score(x, y))}


@step
def predictions(model: LogisticRegression, test: pl.DataFrame) -> np.ndarray:
    return model.predict_proba(test.select("x1", "x2").to_numpy())[:, 1]


@pipeline
def train_models(rows: int = 200, seed: int = 0) -> None:
    data = load(rows, seed)
    train, test = split(data)
    logistic = train_logistic(train)
    tree = train_tree(train)
    evaluate(logistic, tree, test)
    predictions(logistic, test)


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
    fail_if(make_numbers(2), marker)
    slow_square(3, seconds)


@step
def allocate_and_die(megabytes: int) -> int:
    block = np.ones(megabytes * 2**20 // 8)
    block += 1
    os.kill(os.getpid(), signal.SIGKILL)
    return int(block[0])


@pipeline
def oom(megabytes: int = 200) -> None:
    allocate_and_die(megabytes)
    slow_square(2, 0.2)


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
