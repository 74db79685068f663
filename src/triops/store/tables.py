"""Foundation tables: projects, runs with their params/tags/metrics, artifacts, users and API tokens.

Times are integer unix milliseconds (``*_ms``): portable, compact and fast to compare on both backends.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False, server_default="tracked"),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("start_ms", sa.BigInteger, nullable=False),
    sa.Column("end_ms", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("user_name", sa.String(250)),
    # last sign of life of the process running a pipeline run; RUNNING past the timeout becomes LOST
    sa.Column("heartbeat_ms", sa.BigInteger),
    # the run this one is nested under (an MLflow nested run). No foreign key: runs are never deleted, the
    # services check the parent exists, and SQLite could only add one by rebuilding the runs table
    sa.Column("parent_id", ID),
    # newest-first listings and searches read runs in (start, id) order from an index and stop after a page
    sa.Index("ix_runs_project_start_id", "project_id", "start_ms", "id"),
    sa.Index("ix_runs_start_id", "start_ms", "id"),
    sa.Index("ix_runs_status_heartbeat", "status", "heartbeat_ms"),
    sa.Index("ix_runs_kind_start_id", "kind", "start_ms", "id"),  # the pipeline runs page
    sa.Index("ix_runs_parent_start_id", "parent_id", "start_ms", "id"),
    # a name LIKE/ILIKE with a literal prefix reads its range of names case-folded (search_plans); SQLite only:
    # PostgreSQL's ILIKE folds case by locale, so the range would not hold every match there
    sa.Index("ix_runs_name_nocase", sa.literal_column("name").collate("NOCASE")).ddl_if(dialect="sqlite"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    # counts a filter's matches, drives a search from a rare value and reads an ordering by value (covering);
    # on PostgreSQL the value is indexed in the "C" collation the searches compare with
    sa.Index("ix_params_key_value", "key", "value", "run_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key_value", "key", "value", "run_id"),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=False),
    # SQLite cannot store NaN (it becomes NULL), so NaN is a flag with value 0 on both backends
    sa.Column("is_nan", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Float(precision=53), nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(200), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(500), primary_key=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(250), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False, server_default="user"),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("disabled_ms", sa.BigInteger),  # a disabled user's tokens stop working at once
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger),
    sa.Column("revoked_ms", sa.BigInteger),
    sa.Column("last_used_ms", sa.BigInteger),
)

assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id")),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
)
