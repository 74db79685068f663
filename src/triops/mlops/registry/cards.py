"""Model cards (Mitchell et al., 2019) generated from the store, as Markdown, HTML and JSON.

The nine sections: model details, intended use, factors, metrics, evaluation data, training data,
quantitative analyses, ethical considerations, caveats and recommendations. Sections the store can answer
(details, lineage, metrics with intervals, per-group results, comparisons, cost to train) are generated;
people write the others (``set_section``, or by editing the Markdown between its ``<!-- human:… -->``
markers and importing it with ``import_markdown``). Human text is stored apart from the generated part, so
regenerating a card never loses it. The completeness figure (share of the nine sections filled) is
stored with the card for policies to test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from triops.errors import InvalidInputError
from triops.mlops.registry.service import ModelRegistry, ModelVersion
from triops.mlops.registry.signature import Signature
from triops.store import audit
from triops.store.repositories import registry as repo
from triops.store.tables import projects, runs
from triops.store.tables_dataops import dataset_versions

SECTIONS: tuple[tuple[str, str], ...] = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats_and_recommendations", "Caveats and recommendations"),
)
SECTION_KEYS = tuple(k for k, _ in SECTIONS)
FORMATS = ("md", "html", "json")
METRIC_MEANINGS = {
    "accuracy": "share of rows classified correctly",
    "precision": "share of predicted positives that are positive",
    "recall": "share of positives found",
    "f1": "harmonic mean of precision and recall",
    "roc_auc": "probability a random positive scores above a random negative",
    "pr_auc": "average precision over the precision-recall curve",
    "log_loss": "mean negative log-likelihood of the true class (lower is better)",
    "brier": "mean squared error of the probabilities (lower is better)",
    "ece": "expected calibration error over 10 probability bins (lower is better)",
    "mae": "mean absolute error",
    "rmse": "root mean squared error",
    "r2": "share of variance explained",
    "mape": "mean absolute percentage error",
}
_MARKER = re.compile(r"<!-- human:([a-z_]+) -->\n?(.*?)\n?<!-- /human -->", re.S)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def money(micros: int | None, currency: str | None) -> str | None:
    if micros is None:
        return None
    return f"{micros / 1_000_000:.6f}".rstrip("0").rstrip(".") + (f" {currency}" if currency else "")


def _datasets(conn: Any, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    query = sa.select(dataset_versions).where(dataset_versions.c.id.in_(list(ids)))
    found = {str(r["id"]): r for r in conn.execute(query).mappings()}
    out = []
    for ident in ids:
        row = found.get(ident)
        if row is None:
            out.append({"id": ident, "name": None, "note": "not in this store"})
            continue
        out.append(
            {
                "id": ident,
                "name": row["name"],
                "version": row["version"],
                "rows": row["row_count"],
                "content_hash": row["content_hash"],
                "contract": row["contract_id"],
                "contract_version": row["contract_version"],
                "quality_score": row["score"],
                "passed": row["passed"],
            }
        )
    return out


def _run(conn: Any, run_id: str | None) -> dict[str, Any] | None:
    if run_id is None:
        return None
    query = (
        sa.select(runs.c.id, runs.c.name, runs.c.status, projects.c.name.label("project"))
        .join(projects, projects.c.id == runs.c.project_id)
        .where(runs.c.id == run_id)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else {"id": run_id, "note": "not in this store"}


def _generated(
    conn: Any,
    version: ModelVersion,
    evals: Sequence[Mapping[str, Any]],
    approvals: Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The generated part of each section (None where the store has nothing to say)."""
    own = [e for e in evals if e["kind"] == "evaluation" and e["model_version_id"] == version.id]
    latest = own[0] if own else None
    result: Mapping[str, Any] = latest["result"] if latest else {}
    comparisons = [e["result"] for e in evals if e["kind"] == "comparison"]
    sig = version.signature or Signature(())
    details = {
        "name": version.model,
        "version": version.version,
        "type": version.model_type,
        "stage": version.stage,
        "aliases": list(version.aliases),
        "created": _iso(version.created_ms),
        "registered_by": version.created_by,
        "description": version.description,
        "git_commit": version.git_commit,
        "run": _run(conn, version.run_id),
        "cost_to_train": money(version.cost_to_train_micros, version.currency),
        "cost_to_train_micros": version.cost_to_train_micros,
        "artifact_sha256": version.artifact_sha256,
        "onnx": version.onnx_sha256 is not None,
        "onnx_note": version.onnx_note,
        "approvals": [dict(a) for a in approvals] if approvals else [],
    }
    fairness: Mapping[str, Any] = result.get("fairness") or {}
    factors = (
        {
            "sensitive_attributes": list(fairness),
            "groups": {a: [g["group"] for g in r["groups"]] for a, r in fairness.items()},
        }
        if fairness
        else None
    )
    metrics = (
        {
            "task": result.get("task"),
            "definitions": {m: METRIC_MEANINGS.get(m, "") for m in result.get("metrics", {})},
            "confidence": result.get("confidence"),
            "resamples": result.get("resamples"),
            "threshold": result.get("threshold"),
            "positive_label": result.get("pos_label"),
        }
        if result
        else None
    )
    evaluation_data = (
        {
            "dataset": latest["dataset_name"] if latest else None,
            "dataset_versions": _datasets(
                conn, [latest["dataset_version_id"]] if latest and latest["dataset_version_id"] else []
            )
            or _datasets(conn, list(version.evaluation_datasets)),
            "rows": latest["n_rows"] if latest else None,
            "evaluated": _iso(latest["created_ms"]) if latest else None,
        }
        if latest or version.evaluation_datasets
        else None
    )
    training = (
        {
            "dataset_versions": _datasets(conn, list(version.training_datasets)),
            "inputs": [{"name": c.name, "type": c.kind} for c in sig.columns],
        }
        if version.training_datasets or sig.columns
        else None
    )
    quantitative = (
        {
            "metrics": result.get("metrics", {}),
            "confusion_matrix": result.get("confusion_matrix"),
            "fairness": fairness,
            "comparisons": comparisons,
        }
        if result or comparisons
        else None
    )
    return {
        "model_details": details,
        "factors": factors,
        "metrics": metrics,
        "evaluation_data": evaluation_data,
        "training_data": training,
        "quantitative_analyses": quantitative,
    }


def build_card(
    registry: ModelRegistry, ref: str, *, approvals: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The card of ``ref`` as plain data, with the human sections stored for it (nothing is written)."""
    version = registry.get(ref)
    with registry.store.connect() as conn:
        evals = [dict(r) for r in repo.evaluation_rows(conn, [version.id])]
        generated = _generated(conn, version, evals, approvals)
        stored = repo.card_row(conn, version.id)
    human: Mapping[str, str] = (stored["human"] if stored else None) or {}
    sections = []
    for key, title in SECTIONS:
        data, text = generated.get(key), (human.get(key) or "").strip() or None
        sections.append({"key": key, "title": title, "generated": data, "human": text})
    filled = sum(1 for s in sections if s["generated"] or s["human"])
    return {
        "model": version.model,
        "version": version.version,
        "ref": version.ref,
        "generated": _iso(registry.now_ms()),
        "sections": sections,
        "completeness": round(filled / len(SECTIONS), 4),
        "missing": [s["title"] for s in sections if not (s["generated"] or s["human"])],
    }


def generate_card(
    registry: ModelRegistry, ref: str, *, approvals: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Build the card and store it with its completeness; human sections are kept as they were."""
    card = build_card(registry, ref, approvals=approvals)
    version = registry.get(ref)
    now = registry.now_ms()

    def write(conn: Any) -> None:
        stored = repo.card_row(conn, version.id)
        repo.upsert_card(
            conn,
            version.id,
            {
                "human": (stored["human"] if stored else None) or {},
                "content": json.loads(json.dumps(card, default=str)),
                "completeness": card["completeness"],
                "generated_ms": now,
                "updated_ms": now,
                "updated_by": registry.actor,
            },
        )

    registry.store.write(write)
    return card


def set_sections(
    registry: ModelRegistry, ref: str, texts: Mapping[str, str], *, actor: str | None = None
) -> None:
    """Store human-written text for sections (an empty text clears one); audited."""
    unknown = [k for k in texts if k not in SECTION_KEYS]
    if unknown:
        raise InvalidInputError(
            f"unknown card section(s): {', '.join(unknown)}", hint="sections: " + ", ".join(SECTION_KEYS)
        )
    version = registry.get(ref)
    who = actor or registry.actor
    now = registry.now_ms()

    def write(conn: Any) -> None:
        stored = repo.card_row(conn, version.id)
        before = dict((stored["human"] if stored else None) or {})
        after = {k: v for k, v in (before | dict(texts)).items() if v and v.strip()}
        values = {"human": after, "updated_ms": now, "updated_by": who}
        if stored is None:
            values |= {"content": None, "completeness": None, "generated_ms": None}
        repo.upsert_card(conn, version.id, values)
        audit.append_event(
            conn,
            actor=who,
            action="model.card.edit",
            object_type="model_card",
            object_id=version.ref,
            before={"sections": sorted(before)},
            after={"sections": sorted(after)},
            at_ms=now,
        )

    registry.store.write(write)


def set_section(
    registry: ModelRegistry, ref: str, section: str, text: str, *, actor: str | None = None
) -> None:
    set_sections(registry, ref, {section: text}, actor=actor)


def human_sections_in(markdown: str) -> dict[str, str]:
    """The text between ``<!-- human:KEY -->`` and ``<!-- /human -->`` markers of an edited card."""
    found = {key: text.strip() for key, text in _MARKER.findall(markdown)}
    unknown = [k for k in found if k not in SECTION_KEYS]
    if unknown:
        raise InvalidInputError(
            f"unknown card section marker(s): {', '.join(unknown)}",
            hint="sections: " + ", ".join(SECTION_KEYS),
        )
    return {k: v for k, v in found.items() if not v.startswith("_Not written yet")}


def import_markdown(
    registry: ModelRegistry, ref: str, markdown: str, *, actor: str | None = None
) -> dict[str, str]:
    """Keep the human sections of an edited Markdown card; returns what was stored."""
    texts = human_sections_in(markdown)
    if texts:
        set_sections(registry, ref, texts, actor=actor)
    return texts


def render(card: Mapping[str, Any], fmt: str) -> str:
    """The card as ``md``, ``html`` or ``json`` text."""
    if fmt == "json":
        return json.dumps(card, indent=2, default=str, allow_nan=False)
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown card format {fmt!r}", hint="formats: " + ", ".join(FORMATS))
    from triops.mlops.registry.card_templates import render_html, render_markdown

    return render_markdown(card) if fmt == "md" else render_html(card)
