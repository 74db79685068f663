"""MLflow's search syntax parsed by triops agrees with MLflow's own parser (``SearchUtils``, the reference):
every comparison MLflow reads from a generated filter, triops reads as the same field, operator and value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.utils import search_utils

from triops.domain.filters import BoolOp, Comparison, Field
from triops.domain.mlflow_filter import ATTRIBUTE_ALIASES, parse_mlflow_filter, parse_mlflow_order_by
from triops.errors import FilterSyntaxError


def _reference_reads_key(key: str) -> bool:
    """MLflow's parser (sqlparse underneath) refuses some SQL keywords as bare keys (``metrics.as = 0``);
    the comparison is defined only where the reference reads the key."""
    try:
        search_utils.SearchUtils.parse_search_filter(f"metrics.{key} = 0")
    except Exception:
        return False
    return True


KEYS = (
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
    .filter(lambda k: k not in {"and", "or", "not", "in", "is", "null", "like", "ilike"})
    .filter(_reference_reads_key)
)
TEXT = st.from_regex(r"[A-Za-z0-9_ %.-]{0,12}", fullmatch=True)
ENTITY = {"metric": "metric", "parameter": "param", "tag": "tag"}


@st.composite
def comparison(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["metrics", "params", "tags", "attr_text", "attr_time"]))
    if kind == "metrics":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"metrics.{draw(KEYS)} {op} {draw(st.integers(-1000, 1000))}"
    if kind in ("params", "tags"):
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE"]))
        key = draw(KEYS)
        key = f"`{key}.{draw(KEYS)}`" if draw(st.booleans()) else key
        return f"{kind}.{key} {op} '{draw(TEXT)}'"
    if kind == "attr_text":
        name = draw(st.sampled_from(["run_name", "status", "user_id"]))
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE"]))
        return f"attributes.{name} {op} '{draw(TEXT)}'"
    name = draw(st.sampled_from(["start_time", "end_time"]))
    return f"attributes.{name} {draw(st.sampled_from(['=', '<', '>=']))} {draw(st.integers(0, 10**12))}"


def _expected(item: dict[str, object]) -> Comparison:
    kind, key, op, value = item["type"], str(item["key"]), str(item["comparator"]).lower(), item["value"]
    if kind == "attribute":
        field = Field("attribute", ATTRIBUTE_ALIASES[key])
        value = float(value) if field.key in ("start_time", "end_time") else value  # type: ignore[arg-type]
    else:
        field = Field(ENTITY[str(kind)], key)
        value = float(value) if kind == "metric" else value  # type: ignore[arg-type]
    return Comparison(field, op, value)


@settings(max_examples=150, deadline=None)
@given(st.lists(comparison(), min_size=1, max_size=5))
def test_triops_reads_what_mlflow_reads(parts: list[str]) -> None:
    text = " and ".join(parts)
    reference = [_expected(c) for c in search_utils.SearchUtils.parse_search_filter(text)]
    node = parse_mlflow_filter(text)
    ours = list(node.items) if isinstance(node, BoolOp) else [node]
    assert ours == reference


def test_order_by_and_unsupported_fields() -> None:
    orders = parse_mlflow_order_by(["metrics.rmse DESC", "attributes.start_time", "params.`a.b` ASC"])
    assert [(o.field, o.descending) for o in orders] == [
        (Field("metric", "rmse"), True),
        (Field("attribute", "start_time"), False),
        (Field("param", "a.b"), False),
    ]
    for text in ("datasets.name = 'x'", "attributes.artifact_uri = 'x'", "attributes.nope = 1"):
        with pytest.raises(FilterSyntaxError) as info:
            parse_mlflow_filter(text)
        assert text.split(" ")[0].split(".")[-1] in str(info.value)
