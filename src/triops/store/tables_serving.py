"""Serving tables: the prediction log.

One row per predicted row. ``id`` is the prediction id that delayed labels join on: the request id for a
single-row request, ``<request id>/<row index>`` for the rows of a batch. ``inputs`` holds the row's input
columns (restricted columns hashed or dropped before they get here; ``NULL`` when input sampling left the
row out), ``output`` the prediction, ``score`` the positive-class probability of a binary classifier (else
``NULL``). Times are unix milliseconds; ``latency_ms`` is the whole request's server-side time.

Rows of one request are found by the primary key alone (``id = r OR id LIKE 'r/%'``), so the log carries
one secondary index only: every index costs the hot insert path.

``prediction_batches`` holds a batch request (``BATCH_FROM`` rows or more, inputs not sampled) as one row,
column-wise: ``inputs`` a JSON object of input column → values (restricted columns hashed or dropped),
``outputs`` and ``scores`` JSON lists. Its rows are the predictions ``<request id>/<row>``; the read API
expands them, so readers see one prediction per row either way. One row per request instead of a thousand
is what keeps logging off the cost of a batch prediction.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_id", ID, nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("model_version_id", ID, nullable=False),
    sa.Column("alias", sa.String(100)),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("inputs", sa.JSON),
    sa.Column("output", sa.JSON),
    sa.Column("score", sa.Float),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("principal", sa.String(250)),
    sa.Index("ix_predictions_model_version_time", "model", "version", "time_ms"),
)

prediction_batches = sa.Table(
    "prediction_batches",
    metadata,
    sa.Column("request_id", ID, primary_key=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("model_version_id", ID, nullable=False),
    sa.Column("alias", sa.String(100)),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("inputs", sa.Text),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("scores", sa.Text),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("principal", sa.String(250)),
    sa.Index("ix_prediction_batches_model_version_time", "model", "version", "time_ms"),
)
