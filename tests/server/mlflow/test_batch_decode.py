"""The typed LogBatch decoding takes only plainly valid bodies, and gives the rows the general path gives."""

from __future__ import annotations

import orjson
import pytest

from triops.domain.validation import MAX_METRIC_BATCH, MAX_VALUES_BATCH
from triops.server.mlflow.batch import decode_log_batch, struct_rows
from triops.server.mlflow.tracking import metric_rows


def test_a_client_body_decodes_to_the_same_rows_as_the_general_path() -> None:
    metrics = [
        {"key": f"m{i % 3}", "value": v, "timestamp": 1_700_000_000_000 + i, "step": i - 1}
        for i, v in enumerate([0.5, -1.0, 1e308, 2, 0.0, -0.0, 9_007_199_254_740_993])
    ]
    metrics.append({"key": "defaults", "value": 3.25})
    body = {
        "run_id": "r1",
        "metrics": metrics,
        "params": [{"key": "p", "value": "v"}],
        "tags": [{"key": "t"}],
    }
    batch = decode_log_batch(orjson.dumps(body))
    assert batch is not None
    assert struct_rows(batch) == metric_rows(orjson.loads(orjson.dumps(metrics)))
    assert all(type(v) is float for _, v, _, _ in struct_rows(batch))
    assert (batch.run_id, batch.params[0].value, batch.tags[0].value) == ("r1", "v", "")


@pytest.mark.parametrize(
    "metric",
    [
        {"key": "a", "value": "NaN"},  # non-finite values come as strings: the general path reads them
        {"key": "a", "value": 1.0, "step": "5"},  # a string int64
        {"key": "a", "value": 1.0, "step": True},
        {"key": "a", "value": True},
        {"key": "a", "value": 1.0, "step": 1.5},
        {"key": "a", "value": 1.0, "timestamp": 2**63},
        {"key": 7, "value": 1.0},
        {"value": 1.0},
        {"key": "a"},
        {"key": "a", "value": None},
        {"key": "a", "value": 1.0, "model_id": "m"},  # a field the fast path does not know
    ],
)
def test_anything_but_a_plain_metric_takes_the_general_path(metric: dict[str, object]) -> None:
    assert decode_log_batch(orjson.dumps({"run_id": "r1", "metrics": [metric]})) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"metrics": [{"key": "a", "value": 1.0, "timestamp": -9223372036854775809}]}',
        b"",
        b"[]",
        b"not json",
        b'{"metrics": null}',
        b'{"metrics": [1]}',
        b'{"run_id": "r", "x": 1e999}',
    ],
)
def test_a_body_that_is_not_plainly_a_log_batch_takes_the_general_path(body: bytes) -> None:
    assert decode_log_batch(body) is None


def test_a_batch_over_the_proto_sizes_takes_the_general_path() -> None:
    too_many = [{"key": "a", "value": 1.0}] * (MAX_METRIC_BATCH + 1)
    assert decode_log_batch(orjson.dumps({"run_id": "r", "metrics": too_many})) is None
    assert decode_log_batch(orjson.dumps({"run_id": "r", "metrics": too_many[:-1]})) is not None
    tags = [{"key": "t", "value": ""}] * (MAX_VALUES_BATCH + 1)
    assert decode_log_batch(orjson.dumps({"run_id": "r", "tags": tags})) is None
