"""What the DataOps hooks read of the runner's contexts, as protocols: the pillar never imports the runner.

The runner's ``RunContext``, ``StepContext``, ``StepResult``, ``RunOutcome`` and ``ArtifactLink`` satisfy
them; tests may pass any object with these fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class Link(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def media_type(self) -> str: ...


class StepCtx(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def step_run_id(self) -> str: ...
    @property
    def inputs(self) -> Sequence[Link]: ...
    @property
    def contracts(self) -> Mapping[str, str]: ...


class RunCtx(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def pipeline(self) -> str: ...


class StepOutcome(Protocol):
    @property
    def outputs(self) -> Sequence[Link]: ...
    @property
    def error(self) -> str | None: ...
    @property
    def cached(self) -> bool: ...


class RunEnd(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
