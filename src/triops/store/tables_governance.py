"""Governance tables: the audit chain and its head and checkpoints, policies, gate evaluations, approvals,
role bindings and the AI use-case inventory.

Audit rows name their project as text and carry no foreign keys on purpose: the record of a change must
outlive whatever it records (a deleted project, user or model). Payloads are canonical JSON text, hashed as
stored.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)
HASH = sa.String(64)
# On SQLite only "INTEGER PRIMARY KEY" makes the column the rowid, so the chain is stored, and read, in order.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1: the row writers lock
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", HASH, nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(100), nullable=False),
    sa.Column("object_id", sa.String(500), nullable=False),
    sa.Column("project", sa.String(100)),
    sa.Column("before_json", sa.Text, nullable=False),
    sa.Column("after_json", sa.Text, nullable=False),
    sa.Column("prev_hash", HASH, nullable=False),
    sa.Column("hash", HASH, nullable=False),
    sa.Index("ix_audit_events_object", "object_type", "object_id"),
    sa.Index("ix_audit_events_project_at", "project", "at_ms"),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_hash", HASH, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),  # hex Ed25519 signature
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("gate", sa.String(40), nullable=False),
    sa.Column("project", sa.String(100)),  # None: applies in every project
    sa.Column("source", sa.Text, nullable=False),  # the YAML document the policy came from
    sa.Column("sha256", HASH, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_policies_gate_active", "gate", "active"),
)

gate_evaluations = sa.Table(
    "gate_evaluations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("gate", sa.String(40), nullable=False),
    sa.Column("subject_type", sa.String(100), nullable=False),
    sa.Column("subject_id", sa.String(500), nullable=False),
    sa.Column("project", sa.String(100)),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_gate_evaluations_subject", "subject_type", "subject_id"),
)

approval_requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("gate", sa.String(40), nullable=False),
    sa.Column("subject_type", sa.String(100), nullable=False),
    sa.Column("subject_id", sa.String(500), nullable=False),
    sa.Column("project", sa.String(100)),
    sa.Column("change", sa.JSON, nullable=False),
    sa.Column("requested_by", sa.String(250), nullable=False),
    sa.Column("author", sa.String(250)),
    sa.Column("requirements", sa.JSON, nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | approved | rejected | cancelled
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger),
    sa.Column("closed_ms", sa.BigInteger),
    sa.Column("policy_digest", sa.String(64)),  # the policies of the gate the approval satisfies
    sa.Column("consumed_ms", sa.BigInteger),  # set when the approved change was made: never reused
    sa.Index("ix_approval_requests_subject", "gate", "subject_type", "subject_id"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("request_id", ID, sa.ForeignKey("approval_requests.id"), nullable=False),
    sa.Column("approver", sa.String(250), nullable=False),
    sa.Column("verdict", sa.String(10), nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("request_id", "approver"),
)

role_bindings = sa.Table(
    "role_bindings",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("principal", sa.String(250), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("project", sa.String(100), nullable=False),  # a project name, or "*" for every project
    sa.Column("granted_by", sa.String(250), nullable=False),
    sa.Column("granted_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("principal", "role", "project"),
)

use_cases = sa.Table(
    "use_cases",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(300), nullable=False, unique=True),
    sa.Column("project", sa.String(100)),
    sa.Column("stage", sa.String(40), nullable=False),
    sa.Column("high_impact", sa.String(60), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),  # every inventory field (see governance.inventory)
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

compliance_statements = sa.Table(
    "compliance_statements",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("framework", sa.String(40), nullable=False),
    sa.Column("item", sa.String(40), nullable=False),  # the official id, e.g. "GOVERN 2.2"
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("reference", sa.Text),  # where a supporting document is kept (a URL, a file, a ticket)
    sa.Column("recorded_by", sa.String(250), nullable=False),
    sa.Column("recorded_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_compliance_statements_item", "framework", "item", "recorded_ms"),
)
