"""An ML example pipeline for the tests: load → split → train two models (parallel branches) → evaluate."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from triops.mlops.pipelines.authoring import pipeline, step


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
def evaluate(
    logistic: LogisticRegression, tree: DecisionTreeClassifier, test: pl.DataFrame
) -> dict[str, float]:
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
