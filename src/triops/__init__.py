"""triops: DataOps, MLOps and FinOps as one auditable loop.

    import triops
    ws = triops.Workspace.open()
    with ws.start_run("benefits") as run:
        run.log_metric("auc", 0.91)

Importing this package does no I/O and imports no heavy library; names resolve on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from triops.domain.clock import FixedClock, SystemClock
    from triops.domain.records import Run, RunStatus
    from triops.errors import (
        ConflictError,
        InvalidInputError,
        NotFoundError,
        TriopsError,
    )
    from triops.mlops.pipelines.authoring import pipeline, step
    from triops.mlops.pipelines.hooks import BaseHook
    from triops.mlops.pipelines.materializers import register_materializer
    from triops.settings import Settings
    from triops.workspace import Workspace

_LAZY = {
    "step": "triops.mlops.pipelines.authoring",
    "pipeline": "triops.mlops.pipelines.authoring",
    "register_materializer": "triops.mlops.pipelines.materializers",
    "BaseHook": "triops.mlops.pipelines.hooks",
    "Workspace": "triops.workspace",
    "Settings": "triops.settings",
    "Run": "triops.domain.records",
    "RunStatus": "triops.domain.records",
    "SystemClock": "triops.domain.clock",
    "FixedClock": "triops.domain.clock",
    "TriopsError": "triops.errors",
    "NotFoundError": "triops.errors",
    "ConflictError": "triops.errors",
    "InvalidInputError": "triops.errors",
}

__all__ = [
    "BaseHook",
    "ConflictError",
    "FixedClock",
    "InvalidInputError",
    "NotFoundError",
    "Run",
    "RunStatus",
    "Settings",
    "SystemClock",
    "TriopsError",
    "Workspace",
    "__version__",
    "pipeline",
    "register_materializer",
    "step",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'triops' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
