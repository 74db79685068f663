"""Finding pipelines by name: ``path/to/file.py:pipeline`` or ``package.module:pipeline`` (what ``triops run``
takes and what a run records so that ``triops runs resume`` can import the pipeline again)."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triops.errors import InvalidInputError
from triops.mlops.pipelines.authoring import Pipeline, Step


def target_of(obj: Pipeline | Step | Callable[..., Any]) -> str:
    """``module:qualname`` naming where ``obj`` is defined (what ``load_target`` takes back)."""
    module = sys.modules.get(obj.__module__)
    qualname = obj.__qualname__
    if obj.__module__ == "__main__" and module is not None and getattr(module, "__file__", None):
        return f"{module.__file__}:{qualname}"
    return f"{obj.__module__}:{qualname}"


def load_target(target: str) -> Pipeline:
    """Import ``path/to/file.py:name`` or ``package.module:name`` and return the pipeline it names."""
    location, sep, attr = target.rpartition(":")
    if not sep or not location or not attr:
        raise InvalidInputError(
            f"pipeline target {target!r} is not of the form module:name",
            hint="e.g. `triops run pipelines/train.py:train` or `triops run mypkg.flows:train`",
        )
    module = import_location(location)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            names = sorted(n for n, v in vars(module).items() if isinstance(v, Pipeline))
            raise InvalidInputError(
                f"{location} has no {attr!r}", hint=f"pipelines there: {', '.join(names) or '(none)'}"
            )
    if not isinstance(obj, Pipeline):
        raise InvalidInputError(
            f"{target} is a {type(obj).__name__}, not a pipeline", hint="decorate it with @pipeline"
        )
    return obj


def import_location(location: str, module_file: str | None = None) -> types.ModuleType:
    """Import a module by name or by file path. A file's directory is put on ``sys.path`` so that worker
    processes can import the same module by name."""
    looks_like_path = location.endswith(".py") or "/" in location or "\\" in location
    if looks_like_path:
        path = Path(location)
        if not path.is_file():
            raise InvalidInputError(f"pipeline file {location} does not exist", hint="check the path")
        directory = str(path.resolve().parent)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        location = path.stem
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        if module_file and Path(module_file).is_file():
            return import_location(module_file)
        raise InvalidInputError(
            f"cannot import module {location!r}: {exc}",
            hint="give a file path (pipelines/train.py:name) or make the module importable",
        ) from exc


__all__ = ["import_location", "load_target", "target_of"]
