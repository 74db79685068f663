"""The prediction-log writer: rows per request (ids, masking, dropping, sampling), batching off the caller's
thread, flush/close durability, back-pressure and retry after a failed write."""

from __future__ import annotations

import random
import threading
import time

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.mlops.serving.log_writer import (
    BATCH_FROM,
    LogEntry,
    LogPolicy,
    PredictionLogWriter,
    batch,
    count_rows,
    expand,
)
from triops.mlops.serving.records import prediction_ids
from triops.store.repositories.serving import expand_batch

SALT = b"s" * 32


def entry(rows: list[dict[str, object]], policy: LogPolicy, request_id: str = "r1") -> LogEntry:
    return LogEntry(
        request_id, "m", 2, "vid", "champion", 1000, rows, [1] * len(rows), [0.25] * len(rows), 1.5, "ann",
        policy,
    )  # fmt: skip


def test_prediction_ids_are_the_request_id_or_request_and_row() -> None:
    assert prediction_ids("r", 1) == ["r"]
    assert prediction_ids("r", 3) == ["r/0", "r/1", "r/2"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "age": st.integers(0, 120),
                "income": st.floats(0, 1e6, allow_nan=False),
                "zip": st.text(max_size=5),
            }
        ),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_rows_hash_or_drop_protected_columns_row_wise_and_column_wise(
    rows: list[dict[str, object]], drop: bool
) -> None:
    policy = LogPolicy(protected={"income": "classification: restricted"}, salt=SALT, drop=drop)
    logged = expand(entry(rows, policy))
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    as_columns = expand(entry(rows, policy)._replace(inputs=columns))
    assert len(logged) == len(rows) == len(as_columns)
    for row, out, col_out in zip(rows, logged, as_columns, strict=True):
        inputs = orjson.loads(out[7])
        assert inputs == orjson.loads(col_out[7])
        assert inputs["age"] == row["age"] and inputs["zip"] == row["zip"]
        if drop:
            assert "income" not in inputs
        else:
            assert inputs["income"] == policy.mask(row["income"])
            assert inputs["income"].startswith("[masked:") and str(row["income"]) not in inputs["income"]
        assert (out[8], out[9], out[10], out[11]) == ("1", 0.25, 1.5, "ann")


def test_equal_values_give_equal_tokens_and_other_salts_other_tokens() -> None:
    one = LogPolicy(salt=SALT)
    assert one.mask(30_000.0) == one.mask(30_000) != LogPolicy(salt=b"t" * 32).mask(30_000)


def test_sampling_keeps_outputs_and_drops_inputs_of_unsampled_rows() -> None:
    rows = [{"age": i} for i in range(200)]
    logged = expand(entry(rows, LogPolicy(sample_rate=0.25)), random.Random(1))
    kept = [r for r in logged if r[7] is not None]
    assert 20 < len(kept) < 80 and all(r[8] == "1" for r in logged)
    assert all(r[7] is None for r in expand(entry(rows, LogPolicy(sample_rate=0.0))))


def test_the_writer_batches_in_its_own_thread_and_close_flushes() -> None:
    batches: list[tuple[str, int]] = []

    def write(rows: list[tuple[object, ...]]) -> None:
        batches.append((threading.current_thread().name, len(rows)))

    writer = PredictionLogWriter(write, flush_interval_s=60, flush_every=10)
    for i in range(25):
        writer.log(entry([{"age": i}], LogPolicy(), request_id=f"r{i}"))
    deadline = time.monotonic() + 30
    while sum(n for _, n in batches) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batches and batches[0][0] == "triops-prediction-log"  # never the caller's thread
    writer.close()
    assert sum(n for _, n in batches) == 25 and writer.pending == 0


def test_a_failed_write_keeps_the_rows_for_the_next_flush() -> None:
    stored: list[tuple[object, ...]] = []
    fail = [True]

    def write(rows: list[tuple[object, ...]]) -> None:
        if fail[0]:
            raise OSError("disk full")
        stored.extend(rows)

    writer = PredictionLogWriter(write, flush_interval_s=60)
    writer.log(entry([{"age": 1}, {"age": 2}], LogPolicy()))
    with pytest.raises(OSError, match="disk full"):
        writer.flush()
    fail[0] = False
    writer.flush()
    assert [r[0] for r in stored] == ["r1/0", "r1/1"]
    writer.close()


def test_a_writer_far_behind_makes_the_caller_wait_instead_of_growing() -> None:
    release = threading.Event()
    written: list[int] = []

    def write(rows: list[tuple[object, ...]]) -> None:
        release.wait(30)
        written.append(len(rows))

    writer = PredictionLogWriter(write, flush_interval_s=0.01, max_pending=5)
    for i in range(5):
        writer.log(entry([{"age": i}], LogPolicy(), request_id=f"r{i}"))
    blocked = threading.Thread(target=writer.log, args=(entry([{"age": 9}], LogPolicy(), request_id="late"),))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()  # waits for the writer, memory stays bounded
    release.set()
    blocked.join(30)
    writer.close()
    assert sum(written) == 6


def test_inputs_holding_unicode_line_separators_stay_one_row_each() -> None:
    # U+2028, U+2029 and U+0085 are legal unescaped in JSON text; a row must never be split at them
    rows = [{"age": i, "income": 1.0, "zip": "a\u2028b\u2029c\x85d"} for i in range(50)]
    policy = LogPolicy(protected={"income": "classification: restricted"}, salt=SALT, drop=True)
    logged = expand(entry(rows, policy))
    assert len(logged) == 50
    assert [orjson.loads(out[7]) for out in logged] == [{"age": r["age"], "zip": r["zip"]} for r in rows]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"age": st.integers(0, 120), "income": st.floats(0, 1e6), "zip": st.text(max_size=5)}
        ),
        min_size=BATCH_FROM,
        max_size=60,
    ),
    st.booleans(),
)
def test_a_batch_record_reads_back_as_the_rows_it_stands_for(
    rows: list[dict[str, object]], drop: bool
) -> None:
    policy = LogPolicy(protected={"income": "classification: restricted"}, salt=SALT, drop=drop)
    one = entry(rows, policy)
    record = batch(one)
    assert record is not None and record.rows == len(rows) == count_rows([record])
    as_rows = [
        {"id": r[0], "inputs": orjson.loads(r[7]), "output": orjson.loads(r[8]), "score": r[9]}
        for r in expand(one)
    ]
    read = [{k: r[k] for k in ("id", "inputs", "output", "score")} for r in expand_batch(record._asdict())]
    assert orjson.dumps(read) == orjson.dumps(as_rows)  # NaN compares equal as JSON null
    assert batch(entry(rows[: BATCH_FROM - 1], policy)) is None  # few rows: row by row
    assert batch(entry(rows, LogPolicy(sample_rate=0.5))) is None  # sampled: row by row
