"""The shared input rules: 64-bit integers, printable names, free text without control characters, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.domain.validation import (
    INT64_MAX,
    INT64_MIN,
    MAX_NAME_LENGTH,
    check_batch,
    check_int64,
    check_name,
    check_step,
    check_text,
    clean_text,
    param_text,
)
from triops.errors import InvalidInputError


@given(st.integers())
def test_int64_accepts_exactly_the_64_bit_range(value: int) -> None:
    if INT64_MIN <= value <= INT64_MAX:
        assert check_int64(value, "n") == value
    else:
        with pytest.raises(InvalidInputError, match=r"n is .* outside the 64-bit integer range"):
            check_int64(value, "n")


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_int64_refuses_what_is_not_an_integer(value: object) -> None:
    with pytest.raises(InvalidInputError, match="not an integer"):
        check_int64(value, "offset")


def test_steps_are_64_bit() -> None:
    assert check_step("loss", 2**63 - 1) == 2**63 - 1
    with pytest.raises(InvalidInputError, match="metric 'loss' step"):
        check_step("loss", 2**63)


@pytest.mark.parametrize("name", ["a\x00b", "esc\x1b[2J", "new\nline", "bidi\u202egnp.exe", "del\x7f"])
def test_names_refuse_control_characters_naming_the_field(name: str) -> None:
    with pytest.raises(InvalidInputError, match="run name contains the control character"):
        check_name(name, "run name")


def test_names_have_a_length_limit() -> None:
    assert check_name("x" * MAX_NAME_LENGTH, "run name")
    with pytest.raises(InvalidInputError, match="run name is 1,000,000 characters; the limit is 250"):
        check_name("x" * 1_000_000, "run name")
    with pytest.raises(InvalidInputError, match="is empty"):
        check_name("", "user name")
    assert check_name("", "run name", allow_empty=True) == ""


def test_names_keep_unicode_letters() -> None:
    assert check_name("Prüfung – 検証 ✓", "run name") == "Prüfung – 検証 ✓"


def test_free_text_keeps_tabs_and_newlines_but_not_nul_or_esc() -> None:
    assert check_text("a\tb\nc\r\n", "description") == "a\tb\nc\r\n"
    for bad in ("\x00", "\x1b", "\x9b"):
        with pytest.raises(InvalidInputError, match="description contains the control character"):
            check_text(f"x{bad}y", "description")
    with pytest.raises(InvalidInputError, match="param 'p' value"):
        param_text("p", "nul\x00")


@given(st.text())
def test_cleaned_text_always_passes_the_text_rule(text: str) -> None:
    assert check_text(clean_text(text), "error") == clean_text(text)


def test_cleaned_text_keeps_the_end_of_long_text() -> None:
    cleaned = clean_text("a" * 30_000 + "END", max_length=100)
    assert len(cleaned) == 100 and cleaned.endswith("END")


def test_batches_have_a_limit_naming_it() -> None:
    check_batch(10, "metrics", 10)
    with pytest.raises(InvalidInputError, match="metrics has 11 entries; the limit is 10"):
        check_batch(11, "metrics", 10)
