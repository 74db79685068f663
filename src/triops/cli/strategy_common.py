"""Small helpers the strategy commands share: reading JSON files, writing text files, splitting lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from triops.errors import InvalidInputError


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from exc


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{what} {path} is not JSON (line {exc.lineno}: {exc.msg})") from exc


def split(text: str | None) -> list[str]:
    """A comma-separated option as a list, blanks dropped."""
    return [x.strip() for x in (text or "").split(",") if x.strip()]
