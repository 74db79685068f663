"""DataOps tables: dataset versions (content hash, schema, profile, quality result and score, the contract
checked against and whether the check passed), one row per registered version of a named dataset; and the
workspace's secrets of the pillar (the salt that keys the hashes of masked cells)."""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("source_uri", sa.Text),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON),
    sa.Column("quality", sa.JSON),
    sa.Column("score", sa.Float),
    sa.Column("contract_id", sa.String(250)),
    sa.Column("contract_version", sa.String(50)),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.Column("artifact_sha256", sa.String(64)),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name", "version"),
    sa.Index("ix_dataset_versions_project_name_created", "project_id", "name", "created_ms"),
)

dataops_secrets = sa.Table(
    "dataops_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)
