"""Bounded field types for request bodies and query parameters, so the OpenAPI document states every limit
and out-of-range input is a 422 naming the field (never a 500 from the database).

Names: 1-250 characters without control characters; free text: up to 10,000 characters, control characters
refused except tab and newline; integers that reach the store fit in a signed 64-bit column.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_NAME = 250
MAX_TEXT = 10_000
MAX_LIST = 1_000

# no C0/C1 control characters, no DEL (the pattern is also published in the OpenAPI document)
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
_TEXT = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=_NO_CONTROL)]
OptName = Annotated[str, StringConstraints(max_length=MAX_NAME, pattern=_NO_CONTROL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=_TEXT)]
Justification = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=_TEXT)]
ProjectName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,99}$")
]
ModelName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,99}$")
]
Sha256 = Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[0-9a-fA-F]+$")]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
NonNegInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
Depth = Annotated[int, Field(ge=1, le=50)]

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_LIST",
    "MAX_NAME",
    "MAX_TEXT",
    "Currency",
    "Depth",
    "Int64",
    "Justification",
    "ModelName",
    "Name",
    "NonNegInt64",
    "OptName",
    "ProjectName",
    "Sha256",
    "Text",
    "Version",
]
