"""A retrainable pipeline for the feedback-loop tests: generate claimants, fit a logistic regression on the
inputs the prediction log holds in clear (age, tenure), so the paired comparison can run on logged rows."""

from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LogisticRegression
from tests.mlops.serving.helpers import claimants

from triops.mlops.pipelines.authoring import pipeline, step

FEATURES = ["age", "tenure"]


@step
def load(rows: int = 400, seed: int = 0, dataset_version: int = 0) -> pd.DataFrame:
    return claimants(rows, seed=seed + dataset_version)


@step
def train(data: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(data[FEATURES], data.ui)


@pipeline
def retrain_claims(rows: int = 400, seed: int = 0, dataset_version: int = 0) -> None:
    train(load(rows, seed, dataset_version))
