"""Evaluating registered model versions and storing the results as evaluation records.

``evaluate_version`` loads a version, evaluates it on a frame (checked against its signature) and stores
the result linked to the version and the dataset version; ``compare_versions`` does the same for a
champion and a challenger on the same rows and stores one comparison record linked to both versions.
"""

from __future__ import annotations

from typing import Any

from triops.domain.ids import new_id
from triops.mlops.evaluation.comparison import Comparison, compare_models
from triops.mlops.evaluation.evaluate import (
    EvaluationResult,
    evaluate_model,
    features,
    positive_proba,
    require_columns,
)
from triops.mlops.registry.service import ModelRegistry, ModelVersion
from triops.mlops.registry.signature import to_pandas
from triops.store.repositories import registry as repo


def record_evaluation(
    registry: ModelRegistry,
    ref: str,
    result: EvaluationResult,
    *,
    dataset_version_id: str | None = None,
    dataset_name: str | None = None,
    run_id: str | None = None,
    actor: str | None = None,
) -> str:
    """Store ``result`` as an evaluation of ``ref``; returns the record id."""
    version = registry.get(ref)
    now = registry.now_ms()
    record_id = new_id(now)
    values = {
        "id": record_id,
        "kind": "evaluation",
        "model_version_id": version.id,
        "compared_version_id": None,
        "dataset_version_id": dataset_version_id,
        "dataset_name": dataset_name,
        "run_id": run_id,
        "task": result.task,
        "n_rows": result.n_rows,
        "result": result.to_dict(),
        "created_ms": now,
        "created_by": actor or registry.actor,
    }
    registry.store.write(lambda conn: repo.insert_evaluation(conn, values))
    return record_id


def record_comparison(
    registry: ModelRegistry,
    champion_ref: str,
    challenger_ref: str,
    comparison: Comparison,
    *,
    task: str = "classification",
    dataset_version_id: str | None = None,
    dataset_name: str | None = None,
    actor: str | None = None,
) -> str:
    champion, challenger = registry.get(champion_ref), registry.get(challenger_ref)
    now = registry.now_ms()
    record_id = new_id(now)
    result = comparison.to_dict() | {"champion": champion.ref, "challenger": challenger.ref}
    values = {
        "id": record_id,
        "kind": "comparison",
        "model_version_id": challenger.id,
        "compared_version_id": champion.id,
        "dataset_version_id": dataset_version_id,
        "dataset_name": dataset_name,
        "run_id": None,
        "task": task,
        "n_rows": comparison.n_rows,
        "result": result,
        "created_ms": now,
        "created_by": actor or registry.actor,
    }
    registry.store.write(lambda conn: repo.insert_evaluation(conn, values))
    return record_id


def evaluations_of(
    registry: ModelRegistry, ref: str, version: ModelVersion | None = None
) -> list[dict[str, Any]]:
    """Every evaluation and comparison involving ``ref`` (``version``, when the caller has read it), newest
    first."""
    version = version or registry.get(ref)
    with registry.store.connect() as conn:
        return [dict(row) for row in repo.evaluation_rows(conn, [version.id])]


def latest_evaluation(
    registry: ModelRegistry, ref: str, version: ModelVersion | None = None
) -> dict[str, Any] | None:
    version = version or registry.get(ref)
    for row in evaluations_of(registry, ref, version):
        if row["kind"] == "evaluation" and row["model_version_id"] == version.id:
            return row
    return None


def evaluate_version(
    registry: ModelRegistry,
    ref: str,
    frame: Any,
    *,
    target: str,
    task: str = "classification",
    sensitive: tuple[str, ...] | list[str] = (),
    dataset_version_id: str | None = None,
    dataset_name: str | None = None,
    run_id: str | None = None,
    **options: Any,
) -> tuple[EvaluationResult, str]:
    """Evaluate a registered version on ``frame`` and store the result; returns it and the record id."""
    loaded = registry.load(ref)
    result = evaluate_model(
        loaded.model,
        frame,
        target=target,
        task=task,
        sensitive=sensitive,
        signature=loaded.version.signature,
        **options,
    )
    record = record_evaluation(
        registry,
        loaded.version.ref,
        result,
        dataset_version_id=dataset_version_id,
        dataset_name=dataset_name,
        run_id=run_id,
    )
    return result, record


def compare_versions(
    registry: ModelRegistry,
    champion_ref: str,
    challenger_ref: str,
    frame: Any,
    *,
    target: str,
    task: str = "classification",
    pos_label: Any = None,
    dataset_version_id: str | None = None,
    dataset_name: str | None = None,
    **options: Any,
) -> tuple[Comparison, str]:
    """Compare two registered versions on the same rows; store and return the comparison."""
    require_columns(frame, target, ())
    data = to_pandas(frame)
    champion, challenger = registry.load(champion_ref), registry.load(challenger_ref)
    x_a = features(data, target, champion.version.signature, champion.model)
    x_b = features(data, target, challenger.version.signature, challenger.model)
    y = data[target].to_numpy()
    if task == "classification":
        label = pos_label if pos_label is not None else list(champion.model.classes_)[-1]
        label = label.item() if hasattr(label, "item") else label
        a, b = positive_proba(champion.model, x_a, label), positive_proba(challenger.model, x_b, label)
        comparison = compare_models(y, a, b, task=task, pos_label=label, **options)
    else:
        a, b = champion.model.predict(x_a), challenger.model.predict(x_b)
        comparison = compare_models(y, a, b, task=task, **options)
    record = record_comparison(
        registry,
        champion.version.ref,
        challenger.version.ref,
        comparison,
        task=task,
        dataset_version_id=dataset_version_id,
        dataset_name=dataset_name,
    )
    return comparison, record


def version_facts(registry: ModelRegistry, ref: str, version: ModelVersion | None = None) -> dict[str, Any]:
    """What policy gates read about a version, as plain data (the workspace maps it to ``GateFacts``).

    ``metrics`` and ``intervals`` come from the latest evaluation; ``fairness_gaps`` holds, per gap
    (``demographic_parity_difference``, ``equalized_odds_difference``), the largest over the sensitive
    attributes, and ``fairness_gap_upper`` the largest high end of their bootstrap intervals; ``card_completeness`` is the stored card's figure (None before a card is generated).
    """
    version = version or registry.get(ref)
    with registry.store.connect() as conn:  # the latest evaluation and the card's completeness: one read
        latest, completeness = repo.latest_evaluation_and_card(conn, version.id)
    result: dict[str, Any] = latest["result"] if latest else {}
    metrics = {k: v["value"] for k, v in result.get("metrics", {}).items() if v.get("value") is not None}
    intervals = {
        k: {"low": v["low"], "high": v["high"]}
        for k, v in result.get("metrics", {}).items()
        if v.get("low") is not None and v.get("high") is not None
    }
    gaps: dict[str, float] = {}
    upper: dict[str, float] = {}
    for report in (result.get("fairness") or {}).values():
        for key in ("demographic_parity_difference", "equalized_odds_difference"):
            value = report.get(key)
            if value is not None:
                gaps[key] = max(gaps.get(key, value), value)
            high = ((report.get("intervals") or {}).get(key) or {}).get("high")
            if high is not None:
                upper[key] = max(upper.get(key, high), high)
    return {
        "model": version.model,
        "version": version.version,
        "ref": version.ref,
        "stage": version.stage,
        "aliases": list(version.aliases),
        "created_by": version.created_by,
        "evaluation_id": latest["id"] if latest else None,
        "metrics": metrics,
        "intervals": intervals,
        "fairness_gaps": gaps,
        "fairness_gap_upper": upper,
        "card_completeness": completeness,
        "training_datasets": list(version.training_datasets),
        "cost_to_train_micros": version.cost_to_train_micros,
    }
