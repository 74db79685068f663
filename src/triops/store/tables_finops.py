"""FinOps tables: usage records, priced cost records, budgets, alerts, overrides and imported FOCUS rows.

Money is integer micro-units (``*_micros``) with its ISO 4217 currency beside it; times are unix ms.
``project`` holds the project *name*, as the usage record carries it: FOCUS rows from a cloud bill can
name projects that triops has never seen, and costs must not be lost for want of a projects row.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)
NAME = sa.String(250)

finops_usage = sa.Table(
    "finops_usage",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("run_id", ID, nullable=False),
    sa.Column("step_run_id", ID),
    sa.Column("project", NAME, nullable=False),
    sa.Column("pipeline", NAME),
    sa.Column("step", NAME),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("ended_ms", sa.BigInteger, nullable=False),
    sa.Column("wall_s", sa.Float(precision=53), nullable=False),
    sa.Column("cpu_s", sa.Float(precision=53), nullable=False),
    sa.Column("peak_rss_bytes", sa.BigInteger, nullable=False),
    sa.Column("bytes_read", sa.BigInteger, nullable=False),
    sa.Column("bytes_written", sa.BigInteger, nullable=False),
    sa.Column("gpu_s", sa.Float(precision=53), nullable=False),
    sa.Column("gpu_model", sa.String(100)),
    sa.Column("requested_cpu", sa.Float(precision=53), nullable=False),
    sa.Column("requested_memory_gb", sa.Float(precision=53), nullable=False),
    sa.Column("environment", sa.String(100), nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("predictions", sa.BigInteger),
    # the step's own peak memory, priced as memory; NULL (serving, older records): peak_rss_bytes is
    sa.Column("step_memory_bytes", sa.BigInteger),
    sa.Index("ix_finops_usage_project_started", "project", "started_ms"),
    sa.Index("ix_finops_usage_run", "run_id"),
)

finops_costs = sa.Table(
    "finops_costs",
    metadata,
    sa.Column("usage_id", ID, sa.ForeignKey("finops_usage.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("run_id", ID, nullable=False),
    sa.Column("step_run_id", ID),
    sa.Column("project", NAME, nullable=False),
    sa.Column("pipeline", NAME),
    sa.Column("step", NAME),
    sa.Column("environment", sa.String(100), nullable=False),
    sa.Column("team", NAME),
    sa.Column("cost_centre", NAME),
    sa.Column("model_version", NAME),
    sa.Column("dataset", NAME),
    sa.Column("gpu_model", sa.String(100)),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("ended_ms", sa.BigInteger, nullable=False),
    sa.Column("cpu_core_hours", sa.Float(precision=53), nullable=False),
    sa.Column("cpu_price_micros", sa.Float(precision=53), nullable=False),
    sa.Column("cpu_micros", sa.BigInteger, nullable=False),
    sa.Column("memory_gib_hours", sa.Float(precision=53), nullable=False),
    sa.Column("memory_price_micros", sa.Float(precision=53), nullable=False),
    sa.Column("memory_micros", sa.BigInteger, nullable=False),
    sa.Column("gpu_hours", sa.Float(precision=53), nullable=False),
    sa.Column("gpu_price_micros", sa.Float(precision=53), nullable=False),
    sa.Column("gpu_micros", sa.BigInteger, nullable=False),
    sa.Column("network_gib", sa.Float(precision=53), nullable=False),
    sa.Column("network_price_micros", sa.Float(precision=53), nullable=False),
    sa.Column("network_micros", sa.BigInteger, nullable=False),
    sa.Column("cost_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("catalog_version", sa.String(50), nullable=False),
    sa.Column("predictions", sa.BigInteger),
    sa.Index("ix_finops_costs_project_started", "project", "started_ms"),
    sa.Index("ix_finops_costs_run", "run_id"),
    sa.Index("ix_finops_costs_team_started", "team", "started_ms"),
    sa.Index("ix_finops_costs_pipeline", "project", "pipeline", "run_id"),
    # the serving cost a model version's gates read (cost per 1,000 predictions) on every guarded change
    sa.Index("ix_finops_costs_model_version", "model_version", "pipeline"),
)

finops_budgets = sa.Table(
    "finops_budgets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("scope", sa.String(10), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("thresholds", sa.JSON, nullable=False),
    sa.Column("webhook_url", sa.String(2000)),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("scope", "name", "period"),
    sa.CheckConstraint("amount_micros > 0", name="amount_positive"),
)

finops_alerts = sa.Table(
    "finops_alerts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("budget_id", ID, sa.ForeignKey("finops_budgets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("period_label", sa.String(10), nullable=False),
    sa.Column("threshold_pct", sa.Integer, nullable=False),
    sa.Column("spent_micros", sa.BigInteger, nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("webhook_status", sa.String(200)),
    sa.UniqueConstraint("budget_id", "period_label", "threshold_pct"),
)

finops_overrides = sa.Table(
    "finops_overrides",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("budget_id", ID, sa.ForeignKey("finops_budgets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("stage", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("spent_micros", sa.BigInteger, nullable=False),
    sa.Column("estimate_micros", sa.BigInteger, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("user_name", NAME),
)

finops_focus_imports = sa.Table(
    "finops_focus_imports",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("source", sa.String(1000), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("imported_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_finops_focus_imports_sha256", "sha256"),
)

finops_focus_rows = sa.Table(
    "finops_focus_rows",
    metadata,
    sa.Column(
        "import_id", ID, sa.ForeignKey("finops_focus_imports.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("row_no", sa.Integer, primary_key=True),
    sa.Column("project", NAME, nullable=False),
    sa.Column("team", NAME),
    sa.Column("provider", NAME, nullable=False),
    sa.Column("service_name", NAME, nullable=False),
    sa.Column("service_category", sa.String(50), nullable=False),
    sa.Column("charge_category", sa.String(20), nullable=False),
    sa.Column("billing_account_id", NAME, nullable=False),
    sa.Column("sub_account_id", NAME),
    sa.Column("resource_id", sa.String(1000)),
    sa.Column("sku_id", sa.String(500)),
    sa.Column("description", sa.Text),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("charge_period_start_ms", sa.BigInteger, nullable=False),
    sa.Column("charge_period_end_ms", sa.BigInteger, nullable=False),
    sa.Column("billed_micros", sa.BigInteger, nullable=False),
    sa.Column("effective_micros", sa.BigInteger, nullable=False),
    sa.Column("list_micros", sa.BigInteger, nullable=False),
    sa.Column("contracted_micros", sa.BigInteger, nullable=False),
    sa.Column("tags", sa.Text),
    sa.Column("billing_period_start_ms", sa.BigInteger),
    sa.Index("ix_finops_focus_rows_project_start", "project", "charge_period_start_ms"),
    sa.Index("ix_finops_focus_rows_period", "provider", "billing_account_id", "billing_period_start_ms"),
)

finops_allocations = sa.Table(
    "finops_allocations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("label", NAME, nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("by", sa.String(20), nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("created_by", NAME),
    sa.UniqueConstraint("label", "period", "by"),
    sa.CheckConstraint("amount_micros >= 0", name="allocation_not_negative"),
)

finops_allocation_shares = sa.Table(
    "finops_allocation_shares",
    metadata,
    sa.Column(
        "allocation_id", ID, sa.ForeignKey("finops_allocations.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", NAME, primary_key=True),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
)
