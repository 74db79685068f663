"""Prediction-log records and the prediction-id rule (pure: no I/O).

A prediction id is what delayed labels join on: the request id for a single-row request, and
``<request id>/<row index>`` for each row of a batch request (``prediction_ids``). ``PredictionRecord`` is
one logged prediction as the read API (``ws.serving.predictions``) returns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Columns of the prediction log, in the order the writer inserts them.
LOG_COLUMNS = (
    "id",
    "request_id",
    "model",
    "version",
    "model_version_id",
    "alias",
    "time_ms",
    "inputs",
    "output",
    "score",
    "latency_ms",
    "principal",
)


def prediction_ids(request_id: str, rows: int) -> list[str]:
    """The prediction ids of a request of ``rows`` rows (see the module docstring)."""
    if rows == 1:
        return [request_id]
    return [f"{request_id}/{i}" for i in range(rows)]


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One logged prediction.

    ``inputs`` maps input column → value (restricted columns hashed as ``[masked:…]`` or absent) and is
    ``None`` when input sampling left this row out; ``output`` is the prediction; ``score`` the
    positive-class probability of a binary classifier (``None`` otherwise); ``latency_ms`` the time the
    server spent on the whole request."""

    id: str
    request_id: str
    model: str
    version: int
    model_version_id: str
    alias: str | None
    time_ms: int
    inputs: Mapping[str, Any] | None
    output: Any
    score: float | None
    latency_ms: float
    principal: str | None

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "model": self.model,
            "version": self.version,
            "model_version_id": self.model_version_id,
            "alias": self.alias,
            "time_ms": self.time_ms,
            "inputs": None if self.inputs is None else dict(self.inputs),
            "output": self.output,
            "score": self.score,
            "latency_ms": self.latency_ms,
            "principal": self.principal,
        }
