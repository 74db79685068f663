"""Rules for names and values that users log: keys, param values, metric values, project names."""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import Any

from triops.errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
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
    if not -(2**62) < step < 2**62:
        raise InvalidInputError(f"metric {key!r} has step {step} out of range", hint="steps fit in 63 bits")
    return step


def param_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidInputError(
            f"param {key!r} value is {len(text)} characters; the limit is {MAX_PARAM_VALUE_LENGTH}",
            hint="log long values as an artifact instead",
        )
    return text


def tag_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidInputError(
            f"tag {key!r} value is {len(text)} characters; the limit is {MAX_TAG_VALUE_LENGTH}",
            hint="log long values as an artifact instead",
        )
    return text


def check_project_name(name: object) -> str:
    if not isinstance(name, str) or not _PROJECT_PATTERN.match(name):
        raise InvalidInputError(f"invalid project name {name!r}", hint=PROJECT_RULE)
    return name


def is_finite(value: float) -> bool:
    return math.isfinite(value)
