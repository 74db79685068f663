"""Monitoring tables: monitors, their evaluated windows, delayed labels and alerts.

- ``monitors``: one per model version (name, version), with its reference (a dataset version id, by default
  the version's training dataset), window spec, features, sensitive attributes, bins, the training contract
  (ODCS YAML text, optional) and the alert policies (YAML text, optional); its schedule (``every_s``,
  ``next_due_ms``), the lease of the run in progress (``lease_owner``, ``lease_until_ms``) and the outcome
  of its last run.
- ``monitor_windows``: one per evaluated window: the prediction-log rows it covers (by time and by the first
  and last prediction id), its facts (the JSON the alert policies read) and the full report.
- ``prediction_labels``: a delayed label per prediction id (the prediction log's ``id``), written once.
- ``monitor_alerts``: one per (window, policy) breach: the facts seen, the webhook delivery, the action.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)

monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("model_version_id", ID, nullable=False),
    sa.Column("project", sa.String(250), nullable=False),
    sa.Column("reference_dataset_id", ID, nullable=False),
    sa.Column("window", sa.String(32), nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("sensitive", sa.JSON, nullable=False),
    sa.Column("bins", sa.Integer, nullable=False),
    sa.Column("contract", sa.Text),
    sa.Column("policies", sa.Text),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    # the schedule: run every ``every_s`` seconds, next at ``next_due_ms`` (NULL: run by hand only)
    sa.Column("every_s", sa.Integer),
    sa.Column("next_due_ms", sa.BigInteger),
    # one run at a time: whoever holds an unexpired lease runs the monitor; the others leave it alone
    sa.Column("lease_owner", sa.String(250)),
    sa.Column("lease_until_ms", sa.BigInteger),
    sa.Column("last_run_ms", sa.BigInteger),
    sa.Column("last_run", sa.JSON),
    # labelled production rows in clear, kept as a governed dataset with a ``prediction_id`` column: the
    # feedback loop re-scores the logged predictions whose inputs the log holds masked from it
    sa.Column("evaluation_dataset", sa.String(250)),
    sa.UniqueConstraint("model", "version", name="uq_monitors_model_version"),
)

monitor_windows = sa.Table(
    "monitor_windows",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("monitor_id", ID, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("start_ms", sa.BigInteger, nullable=False),
    sa.Column("end_ms", sa.BigInteger, nullable=False),
    sa.Column("first_id", sa.String(64), nullable=False),
    sa.Column("last_id", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("labelled", sa.Integer, nullable=False),
    sa.Column("facts", sa.JSON, nullable=False),
    sa.Column("report", sa.JSON, nullable=False),
    sa.Column("evaluated_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("monitor_id", "seq", name="uq_monitor_windows_seq"),
)

prediction_labels = sa.Table(
    "prediction_labels",
    metadata,
    sa.Column("prediction_id", sa.String(64), primary_key=True),
    sa.Column("label", sa.JSON, nullable=False),
    sa.Column("logged_ms", sa.BigInteger, nullable=False),
    sa.Column("logged_by", sa.String(250), nullable=False),
)

monitor_alerts = sa.Table(
    "monitor_alerts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("monitor_id", ID, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("window_id", ID, sa.ForeignKey("monitor_windows.id"), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("policy", sa.String(250), nullable=False),
    sa.Column("expr", sa.Text, nullable=False),
    sa.Column("severity", sa.String(32), nullable=False),
    sa.Column("on_breach", sa.String(32), nullable=False),
    sa.Column("facts", sa.JSON, nullable=False),
    sa.Column("webhook", sa.Text),
    sa.Column("delivery", sa.JSON),
    sa.Column("action", sa.JSON),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_monitor_alerts_model_created", "model", "created_ms"),
)
