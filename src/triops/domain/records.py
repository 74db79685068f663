"""Frozen records that cross layers: runs, metrics, params, tags, artifacts, projects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    #: the run's process stopped sending heartbeats (killed, machine lost); it can be resumed
    LOST = "LOST"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """An immutable blob in the artifact store: its sha256, size and media type."""

    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """A named artifact of a run: a content address plus where it came from."""

    name: str
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    project: str
    name: str
    status: RunStatus
    kind: str
    start_time: datetime
    end_time: datetime | None
    error: str | None
    user: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: tuple[ArtifactRef, ...] = ()
    parent_id: str | None = None  # the run this one is nested under

    @property
    def duration_s(self) -> float | None:
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "status": self.status.value,
            "kind": self.kind,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "duration_s": self.duration_s,
            "error": self.error,
            "user": self.user,
            "parent_id": self.parent_id,
            "params": dict(self.params),
            "tags": dict(self.tags),
            "metrics": dict(self.metrics),
            "artifacts": [
                {"name": a.name, "sha256": a.sha256, "size": a.size, "media_type": a.media_type}
                for a in self.artifacts
            ],
        }
