"""Request bodies against a signature: the three JSON shapes agree, every bad column is named, JSON types
map to signature kinds strictly (a boolean is not an integer), and Parquet bodies are checked the same."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import InvalidInputError
from triops.mlops.registry.signature import ColumnSpec, Signature
from triops.mlops.serving.inputs import from_arrow, from_json

SIG = Signature((ColumnSpec("age", "integer"), ColumnSpec("rr", "double"), ColumnSpec("state", "string")))
ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "age": st.integers(-(2**62), 2**62),
            "rr": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-1000, 1000)),
            "state": st.text(max_size=4),
        }
    ),
    min_size=1,
    max_size=30,
)


@given(ROWS)
def test_rows_and_columns_give_the_same_typed_columns(rows: list[dict[str, object]]) -> None:
    by_rows, n, _ = from_json({"inputs": rows}, SIG)
    by_cols, m, _ = from_json({"columns": {k: [r[k] for r in rows] for k in rows[0]}}, SIG)
    assert n == m == len(rows)
    assert by_rows["age"].dtype == np.int64 and by_rows["rr"].dtype == np.float64
    for name in SIG.names():
        assert list(by_rows[name]) == list(by_cols[name])


def test_one_row_is_a_single_object() -> None:
    cols, n, logged = from_json({"inputs": {"age": 3, "rr": 0.5, "state": "CA"}}, SIG)
    assert n == 1 and logged == [{"age": 3, "rr": 0.5, "state": "CA"}] and cols["state"][0] == "CA"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"inputs": {"age": 3, "rr": 0.5}}, "missing: state"),
        ({"inputs": {"age": 3, "rr": 0.5, "state": "CA", "zip": "1"}}, "extra: zip"),
        ({"inputs": {"age": True, "rr": 0.5, "state": "CA"}}, "age (expected integer, got boolean)"),
        ({"inputs": {"age": 3.5, "rr": 0.5, "state": "CA"}}, "age (expected integer, got double)"),
        ({"inputs": {"age": 3, "rr": "x", "state": 1}}, "rr (expected double, got string), state"),
        ({"inputs": [{"age": 3, "rr": 0.5, "state": "CA"}, {"age": 3, "rr": 0.5}]}, "missing: state"),
        ({"columns": {"age": [1], "rr": [0.5, 0.1], "state": ["a"]}}, "different lengths"),
        ({"inputs": []}, "no rows"),
        ({"rows": []}, "exactly one of 'inputs' or 'columns'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_bodies_name_what_is_wrong(body: object, named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        from_json(body, SIG)
    assert named in str(caught.value)


def test_null_is_nan_in_a_double_column_and_refused_elsewhere() -> None:
    cols, _, _ = from_json({"columns": {"age": [1, 2], "rr": [None, 0.5], "state": ["a", "b"]}}, SIG)
    assert np.isnan(cols["rr"][0])
    with pytest.raises(InvalidInputError, match=r"age \(expected integer, got null\)"):
        from_json({"columns": {"age": [None, 2], "rr": [0.1, 0.5], "state": ["a", "b"]}}, SIG)


def test_parquet_tables_are_checked_like_json() -> None:
    good = pa.table({"age": [1, 2], "rr": [1, 2], "state": ["a", "b"]})  # integers widen to double
    cols, n, logged = from_arrow(good, SIG)
    assert n == 2 and cols["rr"].dtype == np.float64 and logged["state"] == ["a", "b"]
    with pytest.raises(InvalidInputError, match=r"age \(expected integer, got string\)"):
        from_arrow(pa.table({"age": ["1"], "rr": [1.0], "state": ["a"]}), SIG)
    with pytest.raises(InvalidInputError, match="missing: state"):
        from_arrow(pa.table({"age": [1], "rr": [1.0]}), SIG)
