"""Step cache keys: a hash of the step's code and of everything it reaches in its module, the versions of the
packages it uses, its literal parameters and its input artifacts' hashes. Input hashes were computed once, at
materialisation, so a check costs a few microseconds whatever the size of the inputs.

What the code fingerprint covers (docs/pipelines.md repeats it for users), starting from the step function
and following every global name its code (nested functions and comprehensions included) refers to:

- functions of the step's module: their source, followed transitively;
- classes of the step's module: their whole source (every method, class attribute and decorator), and the
  names their methods refer to, followed the same way;
- module-level constants of the step's module that the code names: their value (numbers, strings, bytes,
  booleans, None, enums, and tuples/lists/sets/dicts of these); any other object counts by its type only;
- modules, functions and classes imported from elsewhere: the name and version of the installed
  distribution that provides them (``numpy==2.1.3``); standard-library modules count by the Python version.

Not covered: the source of code in other modules of your own that are not installed distributions (their
changes do not invalidate the cache: bump a version, or pass ``use_cache=False``), files a step reads by
path, environment variables, and the contents of mutable objects other than the constants above.
"""

from __future__ import annotations

import enum
import hashlib
import importlib.metadata
import inspect
import json
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

CACHE_KEY_VERSION = 2
_MAX_CONSTANT_DEPTH = 4


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):  # no source file (e.g. defined in a REPL): the bytecode still identifies it
        code = getattr(obj, "__code__", None)
        if code is not None:
            return repr((code.co_code, code.co_consts))
        if inspect.isclass(obj):
            return repr(sorted((k, _source(v)) for k, v in vars(obj).items() if inspect.isfunction(v)))
        return repr(obj)


def _unwrap(obj: Any) -> Any:
    inner = getattr(obj, "fn", None)  # a Step (or Pipeline) wraps the plain function
    return inner if inspect.isfunction(inner) else obj


def _class_functions(cls: type) -> Iterator[types.FunctionType]:
    """The plain functions behind a class's methods, static/class methods and properties."""
    for value in vars(cls).values():
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property):
            yield from (f for f in (value.fget, value.fset, value.fdel) if inspect.isfunction(f))
        elif inspect.isfunction(value):
            yield value


@cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


@cache
def package_version(module_name: str) -> str:
    """``dist==version`` for the distribution(s) providing a top-level module; ``python==x.y.z`` for the
    standard library; the bare name when no installed distribution provides it."""
    top = module_name.split(".", 1)[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return "python==" + ".".join(map(str, sys.version_info[:3]))
    versions = []
    for dist in sorted(set(_distributions().get(top, []))):
        try:
            versions.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ",".join(versions) or top


def clear_version_cache() -> None:
    """Forget installed package versions (a long-lived process that upgrades packages calls this)."""
    _distributions.cache_clear()
    package_version.cache_clear()
    _REACH.clear()


def _stable(value: Any, depth: int = 0) -> str:
    """A representation of a constant that is the same in every process (no object addresses)."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}={_stable(value.value, depth)}"
    if depth < _MAX_CONSTANT_DEPTH:
        if isinstance(value, list | tuple):
            return f"{type(value).__name__}[" + ",".join(_stable(v, depth + 1) for v in value) + "]"
        if isinstance(value, set | frozenset):
            return f"{type(value).__name__}{{" + ",".join(sorted(_stable(v, depth + 1) for v in value)) + "}"
        if isinstance(value, dict):
            items = sorted(f"{_stable(k, depth + 1)}:{_stable(v, depth + 1)}" for k, v in value.items())
            return "dict{" + ",".join(items) + "}"
    kind = type(value)
    return f"<{kind.__module__}.{kind.__qualname__}>"


@dataclass(frozen=True, slots=True)
class _Reach:
    """What a step's code reaches: sources by qualified name, constants (read at each key), packages."""

    sources: tuple[tuple[str, str], ...]
    constants: tuple[tuple[str, dict[str, Any], str], ...]
    packages: tuple[str, ...]


_REACH: dict[Callable[..., Any], _Reach] = {}


def _reach(fn: Callable[..., Any]) -> _Reach:
    found = _REACH.get(fn)
    if found is not None:
        return found
    module = getattr(fn, "__module__", None)
    sources: dict[str, str] = {}
    constants: dict[str, tuple[dict[str, Any], str]] = {}
    packages: set[str] = set()
    stack: list[Any] = [fn]
    while stack:
        current = stack.pop()
        key = f"{current.__module__}.{current.__qualname__}"
        if key in sources:
            continue
        sources[key] = _source(current)
        if inspect.isclass(current):
            namespace = vars(sys.modules[current.__module__]) if current.__module__ in sys.modules else {}
            functions = list(_class_functions(current))
            stack.extend(b for b in current.__bases__ if b.__module__ == module)
            packages.update(b.__module__ for b in current.__bases__ if b.__module__ != module)
        else:
            namespace = current.__globals__
            functions = [current]
        names: set[str] = set()
        for function in functions:
            names |= _code_names(function.__code__)
        for name in sorted(names):
            if name not in namespace:
                continue  # a builtin, an attribute name, or a global not defined yet
            target = _unwrap(namespace[name])
            if inspect.ismodule(target):
                packages.add(target.__name__)
            elif inspect.isfunction(target) or inspect.isclass(target):
                if target.__module__ == module:
                    stack.append(target)
                else:
                    packages.add(str(target.__module__))
            elif callable(target) and isinstance(getattr(target, "__module__", None), str):
                packages.add(target.__module__)  # a builtin function or ufunc imported from a package
            else:
                constants[f"{current.__module__}.{name}"] = (namespace, name)
    reach = _Reach(
        tuple(sorted(sources.items())),
        tuple((k, ns, n) for k, (ns, n) in sorted(constants.items())),
        tuple(sorted({package_version(p) for p in packages if p and p != module})),
    )
    _REACH[fn] = reach
    return reach


def function_fingerprint(fn: Callable[..., Any]) -> str:
    """sha256 over the step's code, what it reaches in its module and the versions of what it imports."""
    reach = _reach(_unwrap(fn))
    digest = hashlib.sha256()
    for key, text in reach.sources:
        digest.update(f"src\0{key}\0{text}\0".encode())
    for key, namespace, name in reach.constants:
        digest.update(f"const\0{key}\0{_stable(namespace.get(name))}\0".encode())
    for package in reach.packages:
        digest.update(f"pkg\0{package}\0".encode())
    return digest.hexdigest()


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


__all__ = ["cache_key", "canonical_json", "clear_version_cache", "function_fingerprint", "package_version"]
