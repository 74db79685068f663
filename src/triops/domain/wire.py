"""JSON wire helpers shared by the server and the HTTP client: non-finite floats travel as strings
("NaN", "Infinity", "-Infinity") because JSON has no such numbers."""

from __future__ import annotations

import math
from typing import Any

from triops.errors import InvalidInputError

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_to_wire(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def float_from_wire(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise InvalidInputError(f"{where}: {value!r} is not a number", hint="send a JSON number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    raise InvalidInputError(
        f"{where}: {value!r} is not a number", hint='send a JSON number or "NaN", "Infinity", "-Infinity"'
    )


def run_to_wire(run_dict: dict[str, Any]) -> dict[str, Any]:
    run_dict["metrics"] = {k: float_to_wire(v) for k, v in run_dict["metrics"].items()}
    return run_dict
