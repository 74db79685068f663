"""Reading an answers file (YAML or JSON) for the quiz and the maturity questionnaire."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from triops.errors import InvalidInputError


def read_answer_mapping(path: Path, *, what: str, example: str) -> dict[str, Any]:
    """A mapping of question id to answer, optionally under an ``answers`` key; ``what`` names the values and
    ``example`` shows one line of a good file in the error."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read answers file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"answers file {path} is not valid YAML or JSON ({exc})") from exc
    if isinstance(doc, Mapping) and isinstance(doc.get("answers"), Mapping):
        doc = doc["answers"]
    if not isinstance(doc, Mapping):
        raise InvalidInputError(
            f"answers file {path} must map question ids to {what}", hint=f"e.g. {example}"
        )
    return {str(k): v for k, v in doc.items()}
