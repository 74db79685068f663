"""Model registry tables: models, their numbered versions, aliases, evaluation records and model cards.

A model version points at its skops artifact (and ONNX artifact when one agreed with the model), the run
that trained it, the dataset versions it was trained and evaluated on, the git commit, its input
signature and its cost to train in micro-units. Aliases are a (model, name) → version pointer; moving one
is a single row update made in the same transaction as its audit event.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id")),
    sa.Column("description", sa.Text),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.Column("artifact_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=False),
    sa.Column("onnx_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256")),
    sa.Column("onnx_note", sa.Text),
    sa.Column("model_type", sa.String(250), nullable=False),
    sa.Column("signature", sa.JSON),
    sa.Column("training_datasets", sa.JSON, nullable=False),
    sa.Column("evaluation_datasets", sa.JSON, nullable=False),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("cost_to_train_micros", sa.BigInteger),
    sa.Column("currency", sa.String(3)),
    sa.Column("description", sa.Text),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.UniqueConstraint("model_id", "version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("version_id", ID, sa.ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(250), nullable=False),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # "evaluation" or "comparison"
    sa.Column("model_version_id", ID, sa.ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False),
    # for a comparison: the champion the version above (the challenger) was compared with
    sa.Column("compared_version_id", ID, sa.ForeignKey("model_versions.id", ondelete="CASCADE")),
    sa.Column("dataset_version_id", ID),
    sa.Column("dataset_name", sa.String(250)),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.Column("task", sa.String(20), nullable=False),
    sa.Column("n_rows", sa.BigInteger, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Index("ix_evaluations_version_created", "model_version_id", "created_ms"),
)

model_cards = sa.Table(
    "model_cards",
    metadata,
    sa.Column(
        "model_version_id", ID, sa.ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("human", sa.JSON, nullable=False),  # sections written by people, kept across regenerations
    sa.Column("content", sa.JSON),  # the last generated card
    sa.Column("completeness", sa.Float),  # share of the nine sections filled, 0..1
    sa.Column("generated_ms", sa.BigInteger),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(250), nullable=False),
)

# MLflow registry tags: ``version`` 0 tags the registered model itself, n > 0 that version
model_tags = sa.Table(
    "model_tags",
    metadata,
    sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
