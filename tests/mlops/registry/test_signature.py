"""Signatures: inferred from pandas and polars training frames; wrong inputs named column by column."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import InvalidInputError
from triops.mlops.registry.signature import ColumnSpec, Signature, infer_signature


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"age": [30, 41], "rr": [0.2, 0.5], "sex": ["male", "female"], "married": [True, False]}
    )


def test_signature_inferred_from_pandas_frame() -> None:
    sig = infer_signature(_frame())
    assert sig.columns == (
        ColumnSpec("age", "integer"),
        ColumnSpec("rr", "double"),
        ColumnSpec("sex", "string"),
        ColumnSpec("married", "boolean"),
    )


def test_signature_inferred_from_polars_frame_matches_pandas() -> None:
    assert infer_signature(pl.from_pandas(_frame())) == infer_signature(_frame())


def test_signature_round_trips_through_json_dict() -> None:
    sig = infer_signature(_frame())
    assert Signature.from_dict(sig.to_dict()) == sig


def test_matching_frame_passes_and_integer_widens_to_double() -> None:
    sig = infer_signature(_frame())
    sig.check(_frame())
    sig.check(_frame().assign(rr=[1, 2]))


def test_missing_extra_and_mistyped_columns_are_all_named() -> None:
    sig = infer_signature(_frame())
    bad = _frame().drop(columns=["age"]).assign(sex=[1, 2], zip=["a", "b"])
    with pytest.raises(InvalidInputError) as info:
        sig.check(bad)
    text = str(info.value)
    assert "missing: age" in text
    assert "extra: zip" in text
    assert "sex (expected string, got integer)" in text
    assert info.value.detail["missing"] == ["age"]


def test_double_is_not_accepted_where_integer_was_trained() -> None:
    sig = infer_signature(_frame())
    with pytest.raises(InvalidInputError, match=r"age \(expected integer, got double\)"):
        sig.check(_frame().assign(age=[1.5, 2.0]))


def test_non_frame_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="pandas or polars DataFrame"):
        infer_signature([[1, 2]])


def test_malformed_signature_dict_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="malformed signature"):
        Signature.from_dict({"columns": []})


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, min_size=1))
def test_any_column_subset_reports_exactly_the_missing_ones(keep: list[str]) -> None:
    full = pd.DataFrame({"a": [1], "b": [2.0], "c": ["x"], "d": [True]})
    sig = infer_signature(full)
    problems = sig.problems(full[keep])
    assert problems["missing"] == [c for c in "abcd" if c not in keep]
    assert problems["extra"] == []
    assert problems["mistyped"] == []
