"""The demo's pipeline on R's ``Ecdat::Benefits``: load → (contract gate) prepare → split → two models in
parallel branches → evaluate. Steps are module-level functions so the ``local`` executor's worker processes
can import them.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from triops.dataops.demo import benefits_contract_path, corrupt_batch, load_benefits
from triops.mlops.pipelines.authoring import pipeline, step

TARGET = "ui"
SENSITIVE = ("sex", "nwhite")
YES_NO = ("school12", "smsa", "married", "dkids", "dykids", "head")
JOB_LOST = ("slack_work", "position_abolished", "seasonal_job_ended")  # "other" is the baseline
FEATURES = (
    "stateur",
    "statemb",
    "age",
    "tenure",
    "yrdispl",
    "rr",
    "female",
    "nonwhite",
    *YES_NO,
    *(f"joblost_{j}" for j in JOB_LOST),
)
CONTRACT = str(benefits_contract_path())


@step
def load(corrupt: bool = False, seed: int = 7) -> pl.DataFrame:
    data = load_benefits()
    return corrupt_batch(data, seed) if corrupt else data


def encode(raw: pl.DataFrame) -> pl.DataFrame:
    """Numeric features, the 0/1 target, and ``sex`` / ``nwhite`` kept as labels for fairness slices."""
    return raw.select(
        "stateur",
        "statemb",
        "age",
        "tenure",
        "yrdispl",
        "rr",
        (pl.col("sex") == "female").cast(pl.Int8).alias("female"),
        (pl.col("nwhite") == "yes").cast(pl.Int8).alias("nonwhite"),
        *[(pl.col(c) == "yes").cast(pl.Int8).alias(c) for c in YES_NO],
        *[(pl.col("joblost") == j).cast(pl.Int8).alias(f"joblost_{j}") for j in JOB_LOST],
        (pl.col(TARGET) == "yes").cast(pl.Int8).alias(TARGET),
        "sex",
        "nwhite",
    )


@step(contracts={"raw": CONTRACT})
def prepare(raw: pl.DataFrame) -> pl.DataFrame:
    """Encode the features (the contract gate has checked ``raw`` before this runs)."""
    return encode(raw)


@step(outputs=["train", "test"])
def split(data: pl.DataFrame, test_share: float = 0.3, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame]:
    order = np.random.default_rng(seed).permutation(data.height)
    cut = int(data.height * (1 - test_share))
    return data[order[:cut]], data[order[cut:]]


@step(resources={"cpu": 1, "memory_gb": 0.5})
def train_logistic(train: pl.DataFrame) -> SkPipeline:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
    return model.fit(train.select(FEATURES).to_pandas(), train[TARGET].to_numpy())


@step(resources={"cpu": 1, "memory_gb": 1})
def train_forest(train: pl.DataFrame) -> RandomForestClassifier:
    model = RandomForestClassifier(n_estimators=50, max_depth=8, min_samples_leaf=5, random_state=0, n_jobs=1)
    return model.fit(train.select(FEATURES).to_pandas(), train[TARGET].to_numpy())


@step
def evaluate(logistic: SkPipeline, forest: RandomForestClassifier, test: pl.DataFrame) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    x, y = test.select(FEATURES).to_pandas(), test[TARGET].to_numpy()
    return {
        "logistic_auc": float(roc_auc_score(y, logistic.predict_proba(x)[:, 1])),
        "forest_auc": float(roc_auc_score(y, forest.predict_proba(x)[:, 1])),
    }


@pipeline(name="benefits-training")
def benefits_training(corrupt: bool = False, seed: int = 7) -> None:
    raw = load(corrupt, seed)
    data = prepare(raw)
    train, test = split(data)
    logistic = train_logistic(train)
    forest = train_forest(train)
    evaluate(logistic, forest, test)
