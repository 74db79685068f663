"""The ``format`` values ODCS names for each logical type, as checks triops can run.

- ``string``: ``email``, ``uuid``, ``uri``, ``hostname``, ``ipv4``, ``ipv6`` and ``byte`` (base64) are
  patterns; ``password`` and ``binary`` describe content without constraining text, so they only ask for a
  text (or binary) column.
- ``integer``: ``i8`` … ``i128``, ``u8`` … ``u128`` are value ranges (Rust integer types).
- ``number``: ``f32`` asks values to fit a 32-bit float; ``f64`` anything finite or not.
- ``date``/``timestamp``/``time``: a JDK ``DateTimeFormatter`` pattern (``dd/MM/yyyy``) used to parse
  text; the pattern letters triops translates are listed in ``_JDK``, any other letter is refused by name.
"""

from __future__ import annotations

import re
from typing import Any

from triops.errors import DataContractError

STRING_PATTERNS: dict[str, str] = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$",
    "hostname": r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*\.?$",
    "ipv4": r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$",
    "ipv6": r"^(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|"
    r"(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|"
    r"(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|"
    r"(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|"
    r":(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:))$",
    "byte": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
}
FREE_TEXT_FORMATS = ("password", "binary")
INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    **{f"i{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    "i128": (None, None),
    **{f"u{b}": (0, 2**b - 1) for b in (8, 16, 32)},
    "u64": (0, None),
    "u128": (0, None),
}
"""Bounds of each integer format; ``None`` where a 64-bit column cannot exceed it anyway."""
FLOAT32_MAX = 3.4028234663852886e38
NUMBER_FORMATS = ("f32", "f64")

_JDK = [
    ("yyyy", "%Y"),
    ("uuuu", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("hh", "%I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSSSSSSSS", "%9f"),
    ("SSSSSS", "%6f"),
    ("SSS", "%3f"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("a", "%p"),
    ("XXX", "%:z"),
    ("xxx", "%:z"),
    ("Z", "%z"),
    ("VV", "%Z"),
    ("M", "%m"),
    ("d", "%d"),
    ("H", "%H"),
]


def jdk_to_strftime(pattern: str, where: str) -> str:
    """A JDK DateTimeFormatter pattern (``dd/MM/yyyy HH:mm``) as a chrono/strftime format."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise _bad(pattern, where, "an unclosed quote")
            out.append(pattern[i + 1 : end].replace("%", "%%") or "'")
            i = end + 1
            continue
        if ch.isalpha():
            for token, chrono in _JDK:
                if pattern.startswith(token, i) and (
                    len(pattern) == i + len(token) or pattern[i + len(token)] != ch
                ):
                    out.append(chrono)
                    i += len(token)
                    break
            else:
                run = re.match(rf"{re.escape(ch)}+", pattern[i:])
                raise _bad(pattern, where, f"the letters {run.group(0) if run else ch!r}")
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def _bad(pattern: str, where: str, what: str) -> DataContractError:
    return DataContractError(
        f"{where}: format {pattern!r} has {what}, which triops cannot translate",
        hint="use JDK DateTimeFormatter letters triops reads: yyyy yy MM MMM dd d HH hh mm ss SSS a XXX Z",
        detail={"field": where},
    )


def check_format(logical: str, fmt: Any, where: str) -> None:
    """Refuse a ``format`` ODCS does not name for the logical type (or one triops cannot read)."""
    text = str(fmt)
    known: tuple[str, ...]
    if logical == "string":
        known = (*STRING_PATTERNS, *FREE_TEXT_FORMATS)
    elif logical == "integer":
        known = tuple(INTEGER_RANGES)
    elif logical == "number":
        known = NUMBER_FORMATS
    elif logical in ("date", "timestamp", "time"):
        jdk_to_strftime(text, where)
        return
    else:
        raise DataContractError(
            f"{where}: logicalType {logical!r} has no format in ODCS", hint="remove the format"
        )
    if text.lower() not in known:
        raise DataContractError(
            f"{where}: format {text!r} is not one triops checks for logicalType {logical}",
            hint=f"formats for {logical}: {', '.join(known)}",
            detail={"field": where},
        )
