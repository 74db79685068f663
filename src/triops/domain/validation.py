"""Rules for names and values that users log, shared by the SDK, the CLI and every API route.

Integers fit in 64 bits (the store's BIGINT), names are short and printable, free text has no control
characters, batches have a size limit; a value outside is an ``InvalidInputError`` (HTTP 422) that names the
field and the limit. docs/tracking.md lists the limits.
"""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import Any

from triops.errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 250
MAX_TEXT_LENGTH = 20_000
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_METRIC_BATCH = 100_000
MAX_VALUES_BATCH = 1_000
MAX_SEARCH_LIMIT = 100_000
# free text may keep tab, newline and carriage return, not other C0 controls, DEL or C1 controls
_TEXT_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# names may not hide their spelling either: bidirectional overrides and isolates
_NAME_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-./ :]+$")
KEY_RULE = (
    f"keys are 1-{MAX_KEY_LENGTH} characters of letters, digits, '_', '-', '.', '/', ':' or space, "
    "and do not start or end with a space or '/'"
)
_PROJECT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,99}$")
PROJECT_RULE = "project names are 1-100 characters of letters, digits, '_', '-' or '.', starting alphanumeric"


def check_key(key: object, what: str = "key") -> str:
    if not isinstance(key, str):
        raise InvalidInputError(f"{what} {key!r} is a {type(key).__name__}, not a string", hint=KEY_RULE)
    if (
        not key
        or len(key) > MAX_KEY_LENGTH
        or not _KEY_PATTERN.match(key)
        or key[0] in " /"
        or key[-1] in " /"
        or "//" in key
    ):
        raise InvalidInputError(f"invalid {what} {key!r}", hint=KEY_RULE)
    return key


def check_metric_value(key: str, value: object) -> float:
    """Metric values are real numbers; NaN and ±inf are kept as they are."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(
            f"metric {key!r} has a value of type {type(value).__name__} ({value!r:.40}); metrics must be numbers",
            hint="log text as a param or tag instead, or convert the value with float()",
        )
    return float(value)


def check_step(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        raise InvalidInputError(
            f"metric {key!r} has step {step!r}; steps are integers", hint="pass step=int(...)"
        )
    return check_int64(step, f"metric {key!r} step")


def check_int64(value: object, field: str) -> int:
    """An integer the store can hold (a signed 64-bit BIGINT)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{field} is {value!r}, not an integer", hint="pass a whole number")
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInputError(
            f"{field} is {value}, outside the 64-bit integer range",
            hint=f"use a value from {INT64_MIN} to {INT64_MAX}",
        )
    return value


def check_name(
    value: object, field: str, *, max_length: int = MAX_NAME_LENGTH, allow_empty: bool = False
) -> str:
    """A display name (run, user, token, dataset …): printable, 1..max_length characters, no control or
    bidirectional-override characters."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} is a {type(value).__name__}, not text", hint="pass a string")
    if not value and not allow_empty:
        raise InvalidInputError(f"{field} is empty", hint="give it a name")
    if len(value) > max_length:
        raise InvalidInputError(
            f"{field} is {len(value):,} characters; the limit is {max_length}", hint="use a shorter name"
        )
    bad = _NAME_FORBIDDEN.search(value)
    if bad is not None:
        raise InvalidInputError(
            f"{field} contains the control character {bad.group()!r} at position {bad.start()}",
            hint="names are printable text: no NUL, ESC, newline or other control characters",
        )
    return value


def check_text(value: object, field: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text (a description, a param or tag value): at most ``max_length`` characters; tab, newline
    and carriage return are fine, other control characters (NUL, ESC …) are refused."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} is a {type(value).__name__}, not text", hint="pass a string")
    if len(value) > max_length:
        raise InvalidInputError(
            f"{field} is {len(value):,} characters; the limit is {max_length:,}",
            hint="log long values as an artifact instead",
        )
    bad = _TEXT_CONTROL.search(value)
    if bad is not None:
        raise InvalidInputError(
            f"{field} contains the control character {bad.group()!r} at position {bad.start()}",
            hint="remove control characters such as NUL and ESC (tab and newline are fine)",
        )
    return value


def clean_text(value: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Text triops records on its own account (a run's error, a traceback): control characters written as
    visible escapes, the end kept when it is too long. For text that must be kept, not refused."""
    cleaned = _TEXT_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return cleaned if len(cleaned) <= max_length else "…" + cleaned[-(max_length - 1) :]


def check_batch(size: int, field: str, limit: int) -> None:
    if size > limit:
        raise InvalidInputError(
            f"{field} has {size:,} entries; the limit is {limit:,} a request",
            hint="send it in smaller batches",
        )


def param_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return check_text(text, f"param {key!r} value", max_length=MAX_PARAM_VALUE_LENGTH)


def tag_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return check_text(text, f"tag {key!r} value", max_length=MAX_TAG_VALUE_LENGTH)


def check_project_name(name: object) -> str:
    if not isinstance(name, str) or not _PROJECT_PATTERN.match(name):
        raise InvalidInputError(f"invalid project name {name!r}", hint=PROJECT_RULE)
    return name


def is_finite(value: float) -> bool:
    return math.isfinite(value)
