"""The facts each policy gate sees, read from the store (the pillars do not read each other's records; the
workspace joins them here).

A model version's gates (``model.stage``, ``model.alias.champion``, ``deployment``) see its latest
evaluation (``metrics``, ``intervals``), its fairness gaps and their interval upper ends, its card's
completeness, the quality and contract status of the dataset versions it was trained on, and the cost per
1,000 predictions FinOps priced for serving it. ``dataset.publish`` sees the dataset version about to be
stored: its quality score and dimensions, its contract status and row count. docs/governance.md lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from triops.governance.facts import GateFacts, Interval
from triops.governance.policies import Gate
from triops.store.engine import Store

if TYPE_CHECKING:
    from triops.mlops.registry.records import ChangeRequest, ModelVersion
    from triops.mlops.registry.service import ModelRegistry


def training_data_facts(store: Store, dataset_version_ids: Sequence[str]) -> tuple[float | None, str | None]:
    """(quality 0–1, contract status) of the dataset versions a model was trained on.

    Quality is the lowest quality score (0–100, divided by 100) among them; None when none is recorded, or
    when one of them has none (unchecked data does not borrow another's score). The status is ``failed``
    when any failed its contract check, ``none`` when any had no contract, else ``passed``; None when the
    version names no training data (or the rows are gone)."""
    from triops.store.tables_dataops import dataset_versions as dv

    ids = list(dict.fromkeys(dataset_version_ids))
    if not ids:
        return None, None
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(dv.c.score, dv.c.passed, dv.c.contract_id).where(dv.c.id.in_(ids))
        ).all()
    if len(rows) != len(ids):
        return None, None
    scores = [r.score for r in rows]
    quality = None if any(s is None for s in scores) else min(float(s) for s in scores) / 100.0
    if any(r.contract_id is not None and not r.passed for r in rows):
        status = "failed"
    elif any(r.contract_id is None for r in rows):
        status = "none"
    else:
        status = "passed"
    return quality, status


def serving_cost_facts(store: Store, ref: str) -> tuple[Decimal | None, str | None]:
    """(cost per 1,000 predictions, currency) of serving version ``ref``, from the ``serving`` pipeline's
    priced cost records; (None, None) before any serving was priced, or when it was priced in more than one
    currency (no rate is assumed)."""
    from triops.mlops.serving.metering import SERVING_PIPELINE
    from triops.store.repositories.finops import pipeline_cost_of

    with store.connect() as conn:
        found = pipeline_cost_of(conn, ref, SERVING_PIPELINE)
    if len(found) != 1 or found[0][2] <= 0:
        return None, None
    currency, micros, predictions = found[0]
    return Decimal(micros) * 1000 / Decimal(predictions) / Decimal(1_000_000), currency


def version_gate_facts(
    registry: ModelRegistry,
    version: ModelVersion,
    *,
    gate: Gate,
    change: dict[str, str],
    project: str | None,
) -> GateFacts:
    """Everything a rule may read about a model version at ``gate`` for ``change``."""
    from triops.mlops.evaluation.records import version_facts

    facts: dict[str, Any] = version_facts(registry, version.ref, version)
    card = facts.get("card_completeness")
    quality, status = training_data_facts(registry.store, version.training_datasets)
    cost, currency = serving_cost_facts(registry.store, version.ref)
    return GateFacts(
        gate=gate.value,
        subject_type="model_version",
        subject_id=version.ref,
        project=project,
        change=change,
        metrics={k: float(v) for k, v in facts.get("metrics", {}).items()},
        intervals={
            k: Interval(float(v["low"]), float(v["high"])) for k, v in facts.get("intervals", {}).items()
        },
        fairness_gaps={k: float(v) for k, v in facts.get("fairness_gaps", {}).items()},
        fairness_gap_upper={k: float(v) for k, v in facts.get("fairness_gap_upper", {}).items()},
        data_quality_score=quality,
        contract_status=status,
        card_completeness=None if card is None else float(card),
        cost_per_1k_predictions=cost,
        currency=currency,
        labels={"model": str(facts.get("model")), "author": str(facts.get("created_by"))},
    )


def alias_of(change: ChangeRequest) -> str:
    """The alias an alias change sets or removes: the registry writes ``after`` as
    ``"<alias>→<model>/<version>"`` (``"<alias>→"`` for a removal; ``before`` holds a version)."""
    return str(change.after or "").partition("→")[0]


def gate_facts(registry: ModelRegistry, change: ChangeRequest, project: str | None) -> GateFacts:
    """The facts a registry change (a stage change, an alias set or removed) shows to its gate."""
    if change.action == "stage":
        gate = Gate.MODEL_STAGE
        moved = {"from_stage": str(change.before), "to_stage": str(change.after)}
    elif change.action == "alias_remove":
        gate = Gate.MODEL_ALIAS_CHAMPION
        moved = {"alias": alias_of(change), "action": "remove", "from": change.before or "", "to": ""}
    else:
        gate = Gate.MODEL_ALIAS_CHAMPION
        moved = {
            "alias": alias_of(change),
            "action": "set",
            "from": change.before or "",
            "to": change.version.ref,
        }
    return version_gate_facts(registry, change.version, gate=gate, change=moved, project=project)


def guards_alias(store: Store, facts: GateFacts) -> bool:
    """Whether setting or removing an alias goes through the ``model.alias.champion`` gate: always for
    ``champion``; for another alias, when a policy of that gate names it in a condition on
    ``change.alias`` that holds (``when: change.alias == "production"``)."""
    from triops.governance.gates import gate_policies
    from triops.governance.policies import evaluate

    if facts.change.get("alias") == "champion":
        return True
    naming = [
        p
        for p in gate_policies(store, Gate.MODEL_ALIAS_CHAMPION, facts.project)
        if p.when is not None and "change.alias" in p.when
    ]
    return bool(naming) and bool(evaluate(naming, facts).policies)


def deployment_facts(
    registry: ModelRegistry, version: ModelVersion, endpoint: str, project: str | None
) -> GateFacts:
    """The ``deployment`` gate's facts for serving ``version`` at ``endpoint`` (``model@alias``)."""
    change = {"endpoint": endpoint, "version": version.ref}
    return version_gate_facts(registry, version, gate=Gate.DEPLOYMENT, change=change, project=project)


def dataset_publish_facts(
    *,
    project: str,
    name: str,
    content_hash: str,
    row_count: int,
    contract: str | None,
    passed: bool | None,
    score: float | None,
    dimensions: dict[str, float],
) -> GateFacts:
    """The ``dataset.publish`` gate's facts for the version of ``name`` about to be stored. ``passed`` is
    the contract check's verdict (None: no contract); ``score`` the 0–100 quality score."""
    status = "none" if contract is None else ("passed" if passed else "failed")
    return GateFacts(
        gate=Gate.DATASET_PUBLISH.value,
        subject_type="dataset",
        subject_id=name,
        project=project,
        change={"dataset": name, "content_hash": content_hash, "contract": contract or ""},
        metrics={**{k: float(v) for k, v in dimensions.items()}, "row_count": float(row_count)},
        data_quality_score=None if score is None else score / 100.0,
        contract_status=status,
        labels={"dataset": name, "contract": contract or ""},
    )


__all__ = [
    "alias_of",
    "dataset_publish_facts",
    "deployment_facts",
    "gate_facts",
    "guards_alias",
    "serving_cost_facts",
    "training_data_facts",
    "version_gate_facts",
]
