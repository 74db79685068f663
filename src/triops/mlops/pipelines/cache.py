"""Step cache keys: a hash of the step's source (and of the same-module functions it calls), its literal
parameters and its input artifacts' hashes. Input hashes were computed once, at materialisation, so a check
costs a few microseconds whatever the size of the inputs."""

from __future__ import annotations

import hashlib
import inspect
import json
import types
from collections.abc import Callable, Mapping
from typing import Any

CACHE_KEY_VERSION = 1
_FINGERPRINTS: dict[Callable[..., Any], str] = {}


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _source(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):  # no source file (e.g. defined in a REPL): the bytecode still identifies it
        code = getattr(fn, "__code__", None)
        return repr((code.co_code, code.co_consts)) if code is not None else repr(fn)


def _unwrap(obj: Any) -> Any:
    inner = getattr(obj, "fn", None)  # a Step (or Pipeline) wraps the plain function
    return inner if inspect.isfunction(inner) else obj


def function_fingerprint(fn: Callable[..., Any]) -> str:
    """sha256 over the source of ``fn`` and of every function of its module that it calls, transitively."""
    fn = _unwrap(fn)
    cached = _FINGERPRINTS.get(fn)
    if cached is not None:
        return cached
    module = getattr(fn, "__module__", None)
    seen: dict[str, str] = {}
    stack = [fn]
    while stack:
        current = stack.pop()
        key = f"{current.__module__}.{current.__qualname__}"
        if key in seen:
            continue
        seen[key] = _source(current)
        code = getattr(current, "__code__", None)
        if code is None:
            continue
        for name in _code_names(code):
            target = _unwrap(current.__globals__.get(name))
            if inspect.isfunction(target) and target.__module__ == module:
                stack.append(target)
    digest = hashlib.sha256()
    for key in sorted(seen):
        digest.update(key.encode())
        digest.update(b"\0")
        digest.update(seen[key].encode())
        digest.update(b"\0")
    value = digest.hexdigest()
    _FINGERPRINTS[fn] = value
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_default)


def _default(obj: Any) -> Any:
    if type(obj).__module__ == "numpy" and getattr(obj, "ndim", None) == 0:  # numpy scalars
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON-able")


def cache_key(fingerprint: str, params: Mapping[str, Any], inputs: Mapping[str, str]) -> str:
    """The key under which a step's outputs are cached. ``inputs`` maps argument name → artifact sha256."""
    payload = {"v": CACHE_KEY_VERSION, "fn": fingerprint, "params": params, "inputs": inputs}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


__all__ = ["cache_key", "canonical_json", "function_fingerprint"]
