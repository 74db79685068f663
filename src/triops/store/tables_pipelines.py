"""Pipeline tables: how a pipeline run was started, its step runs with their metering, the lineage edges
between step runs and artifacts, and the step cache.

A pipeline run itself is a row of ``runs`` (kind ``pipeline``); these tables hang off it.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)
SHA = sa.String(64)

STEP_STATUSES = ("PENDING", "RUNNING", "CACHED", "DONE", "FAILED", "SKIPPED", "KILLED")

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("pipeline", sa.String(250), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("executor", sa.String(20), nullable=False),
    sa.Column("on_failure", sa.String(10), nullable=False),
    sa.Column("use_cache", sa.Boolean, nullable=False),
    sa.Column("resumed_from", ID),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_pipeline_runs_pipeline", "pipeline", "created_ms"),
)

step_runs = sa.Table(
    "step_runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("step", sa.String(250), nullable=False),
    sa.Column("function", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("upstream", sa.JSON, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cache_key", SHA),
    sa.Column("cached_from", ID),
    sa.Column("started_ms", sa.BigInteger),
    sa.Column("ended_ms", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("traceback", sa.Text),
    sa.Column("wall_s", sa.Float(precision=53)),
    sa.Column("cpu_s", sa.Float(precision=53)),
    sa.Column("peak_rss_bytes", sa.BigInteger),
    sa.Column("bytes_read", sa.BigInteger),
    sa.Column("bytes_written", sa.BigInteger),
    sa.Column("gpu_s", sa.Float(precision=53)),
    sa.Column("gpu_model", sa.String(100)),
    # seconds the worker spent importing the step's module before the step started (not part of wall_s)
    sa.Column("import_s", sa.Float(precision=53)),
    # the step's own peak memory (peak RSS while it ran minus RSS when it started); peak_rss_bytes is the
    # whole process's
    sa.Column("step_memory_bytes", sa.BigInteger),
    sa.Column("resources", sa.JSON, nullable=False),
    sa.Column("executor", sa.String(20), nullable=False),
    sa.CheckConstraint(
        "status IN ('PENDING', 'RUNNING', 'CACHED', 'DONE', 'FAILED', 'SKIPPED', 'KILLED')", name="status"
    ),
    sa.UniqueConstraint("run_id", "step"),
    sa.Index("ix_step_runs_cache_key", "cache_key"),
)

lineage_edges = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("step_run_id", ID, sa.ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("direction", sa.String(3), primary_key=True),
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("sha256", SHA, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(200), nullable=False),
    sa.Column("materializer", sa.String(250), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
    sa.Index("ix_lineage_edges_sha256", "sha256", "direction"),
)

cache_entries = sa.Table(
    "cache_entries",
    metadata,
    sa.Column("cache_key", SHA, primary_key=True),
    sa.Column("step", sa.String(250), nullable=False),
    sa.Column("step_run_id", ID, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

__all__ = ["STEP_STATUSES", "cache_entries", "lineage_edges", "pipeline_runs", "step_runs"]
