"""Model evaluation: metrics with 95 % bootstrap intervals, per-group fairness, champion vs challenger.

``evaluate_model`` takes a fitted model and a frame holding the features, the target and the sensitive
columns; ``evaluate_classification`` / ``evaluate_regression`` take arrays. Point estimates come from
scikit-learn; intervals from the vectorised bootstrap in ``triops.mlops.evaluation.bootstrap``. Champion versus
challenger lives in ``triops.mlops.evaluation.comparison``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.evaluation.bootstrap import (
    classification_replicates,
    percentile_interval,
    regression_replicates,
)
from triops.mlops.evaluation.fairness import FairnessReport, fairness_report
from triops.mlops.registry.signature import Signature, to_pandas

TASKS = ("classification", "regression")
HIGHER_IS_BETTER = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2"}


@dataclass(frozen=True, slots=True)
class MetricValue:
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    task: str
    n_rows: int
    metrics: dict[str, MetricValue]
    confidence: float
    resamples: int
    seed: int
    bootstrap_exact: bool = True
    pos_label: str | None = None
    threshold: float | None = None
    confusion_matrix: list[list[int]] | None = None
    labels: list[str] | None = None
    fairness: dict[str, FairnessReport] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = json_safe(asdict(self))
        return cleaned

    def metric(self, name: str) -> float | None:
        found = self.metrics.get(name)
        return found.value if found else None


def evaluation_from_dict(data: dict[str, Any]) -> EvaluationResult:
    """The result ``EvaluationResult.to_dict`` wrote (as the API sends it) read back into its types."""
    from triops.mlops.evaluation.fairness import FairnessReport, GroupMetrics

    fairness = {
        name: FairnessReport(
            **(
                report
                | {
                    "groups": [GroupMetrics(**g) for g in report["groups"]],
                    "excluded_groups": tuple(report.get("excluded_groups", ())),
                }
            )
        )
        for name, report in data.get("fairness", {}).items()
    }
    return EvaluationResult(
        **(
            data
            | {"metrics": {k: MetricValue(**v) for k, v in data["metrics"].items()}, "fairness": fairness}
        )
    )


def json_safe(value: Any) -> Any:
    """NaN and infinities become None, numpy scalars plain numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def evaluate_classification(
    y_true: Sequence[Any] | npt.NDArray[Any],
    proba: npt.NDArray[np.float64],
    *,
    pos_label: Any = 1,
    threshold: float = 0.5,
    sensitive: Mapping[str, Sequence[Any] | npt.NDArray[Any]] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 30,
) -> EvaluationResult:
    """Binary classification metrics of positive-class probabilities ``proba`` against ``y_true``."""
    from sklearn import metrics as skm

    truth = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64).ravel()
    check_lengths(truth, p)
    y = (truth == pos_label).astype(np.float64)
    if y.min(initial=1.0) == y.max(initial=0.0):
        raise InvalidInputError(
            f"the target holds only one class ({'all' if y.any() else 'no'} rows are {pos_label!r})",
            hint="evaluate on data with both classes, or check pos_label",
        )
    yhat = (p >= threshold).astype(np.float64)
    # counts with numpy: scikit-learn's label checks cost more than the arithmetic at 100,000 rows
    tn, fp, fn, tp = (int(c) for c in np.bincount((2 * y + yhat).astype(np.int64), minlength=4))
    nan = float("nan")
    points = {
        "accuracy": (tp + tn) / len(y),
        "precision": tp / (tp + fp) if tp + fp else nan,
        "recall": tp / (tp + fn) if tp + fn else nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
        "roc_auc": skm.roc_auc_score(y, p),
        "pr_auc": skm.average_precision_score(y, p),
        "log_loss": skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0.0, 1.0]),
        "brier": skm.brier_score_loss(y, p),
    }
    reps, on_cells, exact = classification_replicates(
        y, p, threshold=threshold, resamples=resamples, seed=seed
    )
    points["ece"] = on_cells["ece"]
    metrics: dict[str, MetricValue] = {}
    for name, point in points.items():
        shifted = reps[name] + (float(point) - on_cells[name])
        low, high = percentile_interval(shifted, confidence) if resamples else (None, None)
        metrics[name] = MetricValue(_finite(float(point)), low, high)
    fairness = (
        fairness_report(
            y,
            yhat,
            sensitive,
            min_group_size=min_group_size,
            resamples=resamples,
            seed=seed,
            confidence=confidence,
        )
        if sensitive
        else {}
    )
    return EvaluationResult(
        task="classification",
        n_rows=len(y),
        metrics=metrics,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        bootstrap_exact=exact,
        pos_label=str(pos_label),
        threshold=threshold,
        confusion_matrix=[[tn, fp], [fn, tp]],
        labels=["negative", "positive"],
        fairness=fairness,
    )


def evaluate_regression(
    y_true: Sequence[float] | npt.NDArray[Any],
    y_pred: Sequence[float] | npt.NDArray[Any],
    *,
    sensitive: Mapping[str, Sequence[Any] | npt.NDArray[Any]] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 30,
) -> EvaluationResult:
    """MAE, RMSE, R² and MAPE of ``y_pred`` against ``y_true``."""
    from sklearn import metrics as skm

    y = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    check_lengths(y, pred)
    points = {
        "mae": skm.mean_absolute_error(y, pred),
        "rmse": math.sqrt(skm.mean_squared_error(y, pred)),
        "r2": skm.r2_score(y, pred) if len(y) > 1 else float("nan"),
        "mape": skm.mean_absolute_percentage_error(y, pred),
    }
    reps = regression_replicates(y, pred, resamples=resamples, seed=seed) if resamples else {}
    metrics = {}
    for name, point in points.items():
        low, high = percentile_interval(reps[name], confidence) if resamples else (None, None)
        metrics[name] = MetricValue(_finite(float(point)), low, high)
    fairness = (
        fairness_report(y, pred, sensitive, min_group_size=min_group_size, task="regression")
        if sensitive
        else {}
    )
    return EvaluationResult(
        task="regression",
        n_rows=len(y),
        metrics=metrics,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        fairness=fairness,
    )


def check_lengths(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> None:
    if len(a) != len(b):
        raise InvalidInputError(f"target has {len(a)} rows but predictions have {len(b)}")
    if len(a) == 0:
        raise InvalidInputError("cannot evaluate on zero rows", hint="pass a dataset with rows")


def require_columns(frame: Any, target: str, sensitive: Sequence[str]) -> None:
    """Refuse a frame without the target or a sensitive column, saying which."""
    present = [str(c) for c in to_pandas(frame).columns]
    if target not in present:
        raise InvalidInputError(
            f"target column {target!r} is not in the evaluation data",
            hint="columns present: " + ", ".join(present),
        )
    missing = [s for s in sensitive if s not in present]
    if missing:
        raise InvalidInputError(
            f"sensitive column(s) {', '.join(repr(m) for m in missing)} not in the evaluation data",
            hint="columns present: " + ", ".join(present),
        )


def features(frame: Any, target: str, signature: Signature | None, model: Any = None) -> Any:
    """The model's input columns: by signature, else by the names it was fitted on, else all but target."""
    data = to_pandas(frame)
    if signature is None:
        names = [str(n) for n in getattr(model, "feature_names_in_", [])]
        if not names:
            return data.drop(columns=[target])
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise InvalidInputError(
                f"evaluation data lacks the model's input column(s): {', '.join(missing)}",
                hint="columns present: " + ", ".join(str(c) for c in data.columns),
            )
        return data[names]
    signature.check(data[[c for c in data.columns if c != target and c in signature.names()]])
    return data[signature.names()]


def positive_proba(model: Any, x: Any, pos_label: Any) -> npt.NDArray[np.float64]:
    classes = [c.item() if isinstance(c, np.generic) else c for c in getattr(model, "classes_", [])]
    if len(classes) != 2:
        raise InvalidInputError(
            f"binary classification only; the model has classes {classes}",
            hint="evaluate multi-class models per class, or pass task='regression' for numeric targets",
        )
    if pos_label not in classes:
        raise InvalidInputError(
            f"pos_label {pos_label!r} is not a class of the model", hint=f"classes: {classes}"
        )
    return np.asarray(model.predict_proba(x), dtype=np.float64)[:, classes.index(pos_label)]


def evaluate_model(
    model: Any,
    frame: Any,
    *,
    target: str,
    task: str = "classification",
    sensitive: Sequence[str] = (),
    signature: Signature | None = None,
    pos_label: Any = None,
    **options: Any,
) -> EvaluationResult:
    """Evaluate a fitted model on a frame (pandas or polars) with features, target and sensitive columns."""
    if task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r}", hint="task is one of: " + ", ".join(TASKS))
    require_columns(frame, target, sensitive)
    data = to_pandas(frame)
    x = features(data, target, signature, model)
    groups = {s: data[s].astype(str).to_numpy() for s in sensitive}
    if task == "regression":
        return evaluate_regression(data[target].to_numpy(), model.predict(x), sensitive=groups, **options)
    if pos_label is None:
        pos_label = list(getattr(model, "classes_", [None, None]))[-1]
        pos_label = pos_label.item() if isinstance(pos_label, np.generic) else pos_label
    proba = positive_proba(model, x, pos_label)
    return evaluate_classification(
        data[target].to_numpy(), proba, pos_label=pos_label, sensitive=groups, **options
    )
