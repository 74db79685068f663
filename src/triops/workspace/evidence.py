"""Reading what the store can show about practice (for the maturity assessment and the KPI views).

Each figure is a count of real records: runs tracked, pipeline runs, contract-checked dataset versions, priced
cost records, budgets, approvals, policies, registered models, cards, fairness evaluations.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.engine import Store
from triops.store.schema import metadata
from triops.strategy.maturity import StoreEvidence


def _count(conn: Connection, table_name: str, where: str | None = None) -> int:
    table = metadata.tables.get(table_name)
    if table is None:
        return 0
    query = sa.select(sa.func.count()).select_from(table)
    if where is not None and where in table.c:
        query = query.where(table.c[where].is_not(None))
    return int(conn.execute(query).scalar_one())


def collect_evidence(store: Store, audit_verified: bool | None = None) -> StoreEvidence:
    runs = metadata.tables["runs"]
    with store.connect() as conn:
        tracked = int(conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one())
        pipelines = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(runs).where(runs.c.kind == "pipeline")
            ).scalar_one()
        )
        return StoreEvidence(
            runs_tracked=tracked,
            pipelines_run=pipelines,
            contracts_enforced=_count(conn, "dataset_versions", where="contract_id"),
            dataset_versions=_count(conn, "dataset_versions"),
            lineage_edges=_count(conn, "lineage_edges"),
            costs_metered=_count(conn, "finops_costs"),
            budgets_defined=_count(conn, "finops_budgets"),
            approvals_used=_count(conn, "approvals"),
            policies_defined=_count(conn, "policies"),
            audit_verified=audit_verified,
            models_registered=_count(conn, "model_versions"),
            model_cards=_count(conn, "model_cards"),
            monitoring_configured=0,
            fairness_checks=_count(conn, "evaluations"),
        )
