"""The OpenLineage spec as JSON Schema documents, and validation of RunEvents against them.

The spec's own JSON files (``OpenLineage.json`` and ``facets/*.json``) ship with no package on the
registries we install from; openlineage-python ships the model generated from them
(``openlineage.client.generated``): one attrs class per ``$defs`` entry, each naming its document and
definition through ``_get_schema()``. ``spec_documents()`` walks those classes and rebuilds the documents
at the same URLs — properties with their JSON types, required properties, enumerations, nested
definitions — so the schema always matches the installed client (2-0-2 for the core today). Facets are
checked against the definition their ``_schemaURL`` names; a facet nobody defines (a custom one) is
checked as a plain facet, as the spec does. Format checks (date-time, UUID, URI) run the validators the
generated classes carry map to the spec's ``date-time``, ``uri`` and ``uuid`` formats, checked by
jsonschema's strict checkers (RFC 3339 with an offset, RFC 3986), exactly as the spec's own files are.

``validate_event`` and ``validate_lines`` return problems with a JSON path; an installed copy of the
spec's JSON files can be used instead through ``documents_from_directory``.
"""

from __future__ import annotations

import enum
import functools
import importlib
import json
import pkgutil
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attr

from triops.errors import InvalidInputError

_GENERATED = "openlineage.client.generated"
_SPEC_FILLED_IN = frozenset({"producer", "schemaURL", "_producer", "_schemaURL"})
"""Required by the spec; the generated classes default them and fill them in after init."""
_FACET_KINDS = ("RunFacet", "JobFacet", "DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet")
_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One way an event departs from the spec: where (a JSON path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Definition:
    cls: type
    document: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.document}#/$defs/{self.name}"


def _module_classes() -> Iterator[tuple[types.ModuleType, type]]:
    package = importlib.import_module(_GENERATED)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{_GENERATED}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                yield module, value


def _own_schema_url(cls: type) -> str | None:
    getter = cls.__dict__.get("_get_schema")
    if getter is None:
        return None
    url: str = getter.__func__() if isinstance(getter, staticmethod) else getter()
    return url


@functools.cache
def _definitions() -> dict[type, _Definition]:
    """Every generated class with the document and definition name it stands for."""
    classes = [(m, c) for m, c in _module_classes() if attr.has(c) or issubclass(c, enum.Enum)]
    module_document: dict[str, str] = {}
    for module, cls in classes:
        url = _own_schema_url(cls)
        if url is not None and module.__name__ not in module_document:
            module_document[module.__name__] = url.split("#", 1)[0]
    result: dict[type, _Definition] = {}
    for module, cls in classes:
        url = _own_schema_url(cls)
        if url is not None and "#/$defs/" in url:
            document, name = url.split("#/$defs/", 1)
        elif module.__name__ in module_document:
            document, name = module_document[module.__name__], cls.__name__
        else:
            continue
        result[cls] = _Definition(cls, document, name)
    return result


def _facet_dispatch(kind: type, defs: dict[type, _Definition]) -> dict[str, Any]:
    """A facet of ``kind``: the base facet's rules, plus the rules of the facet its _schemaURL names."""
    known = [d for c, d in defs.items() if c is not kind and issubclass(c, kind)]
    checks: list[dict[str, Any]] = [{"$ref": defs[kind].ref}]
    for definition in sorted(known, key=lambda d: d.ref):
        checks.append(
            {
                "if": {"properties": {"_schemaURL": {"const": definition.ref}}, "required": ["_schemaURL"]},
                "then": {"$ref": definition.ref},
            }
        )
    return {"allOf": checks}


def _type_schema(hint: Any, defs: dict[type, _Definition], facet_kinds: set[type]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if hint is Any:
        return {}
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _type_schema(options[0], defs, facet_kinds)
        return {"anyOf": [_type_schema(a, defs, facet_kinds) for a in options]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin is list:
        (item,) = typing.get_args(hint)
        return {"type": "array", "items": _type_schema(item, defs, facet_kinds)}
    if origin is dict:
        _, value = typing.get_args(hint)
        if value in facet_kinds:
            return {"type": "object", "additionalProperties": _facet_dispatch(value, defs)}
        return {"type": "object", "additionalProperties": _type_schema(value, defs, facet_kinds)}
    if hint in _JSON_TYPES:
        # JSON has one number type: an integral float such as 4.0 arrives as 4 and is a valid "number"
        return {"type": _JSON_TYPES[hint]}
    if isinstance(hint, type) and hint in defs:
        return {"$ref": defs[hint].ref}
    raise TypeError(f"no JSON Schema for the generated type {hint!r}")


_STANDARD_FORMATS = (("isoparse", "date-time"), ("urlparse", "uri"), ("UUID(", "uuid"))


def _format_name(validator: Any) -> str | None:
    """The JSON Schema format a generated validator stands for (the spec's own ``date-time``, ``uri`` and
    ``uuid``, checked by jsonschema's strict checkers as for the spec's files); any other validator is
    kept as a format of its own, run as the client runs it."""
    import inspect

    try:
        source = inspect.getsource(validator)
    except (OSError, TypeError):
        source = ""
    for marker, standard in _STANDARD_FORMATS:
        if marker in source:
            return standard
    name = getattr(validator, "__qualname__", None)
    return f"openlineage:{name}" if name else None


def _class_schema(
    cls: type, defs: dict[type, _Definition], facet_kinds: set[type], formats: dict[str, Callable[..., Any]]
) -> dict[str, Any]:
    if issubclass(cls, enum.Enum):
        return {"type": "string", "enum": [m.value for m in cls]}
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attr.fields(typing.cast(Any, cls)):
        schema = _type_schema(hints[field.name], defs, facet_kinds)
        if field.validator is not None and (name := _format_name(field.validator)) is not None:
            if name.startswith("openlineage:"):
                formats[name] = field.validator
            schema = {**schema, "format": name}
        properties[field.name] = schema
        if field.default is attr.NOTHING or field.name in _SPEC_FILLED_IN:
            required.append(field.name)
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    return result


@functools.cache
def _built() -> tuple[dict[str, dict[str, Any]], dict[str, Callable[..., Any]]]:
    defs = _definitions()
    facet_kinds = {c for c in defs if c.__name__ in _FACET_KINDS and c.__module__.endswith(".base")}
    formats: dict[str, Callable[..., Any]] = {}
    documents: dict[str, dict[str, Any]] = {}
    for cls, definition in defs.items():
        document = documents.setdefault(
            definition.document,
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": definition.document},
        )
        document.setdefault("$defs", {})[definition.name] = _class_schema(cls, defs, facet_kinds, formats)
    return documents, formats


def spec_documents() -> dict[str, dict[str, Any]]:
    """The spec's JSON Schema documents by ``$id``, rebuilt from the installed openlineage-python."""
    return _built()[0]


def core_schema_url() -> str:
    """The ``$id#/$defs/RunEvent`` of the installed client's core spec (``…/2-0-2/OpenLineage.json…``)."""
    from openlineage.client.generated.base import RunEvent

    url: str = RunEvent._get_schema()
    return url


def documents_from_directory(directory: Path) -> dict[str, dict[str, Any]]:
    """The spec's own JSON Schema files (``OpenLineage.json``, ``facets/*.json``) under a directory, by
    ``$id`` — the official ``spec/`` folder as it is: JSON that is not a schema (``registry/…/registry.json``,
    test events) is passed over."""
    if not directory.is_dir():
        raise InvalidInputError(f"--spec-dir {directory} is not a directory", hint="name the spec/ folder")
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(document, dict) or "json-schema.org" not in str(document.get("$schema", "")):
            continue
        documents.setdefault(str(document.get("$id", path.as_uri())), document)
    if not any(uri.endswith("/OpenLineage.json") for uri in documents):
        raise InvalidInputError(
            f"--spec-dir {directory} holds no OpenLineage.json schema",
            hint="point it at the spec's folder (the one with OpenLineage.json and facets/)",
        )
    return documents


def _core_ref(documents: dict[str, dict[str, Any]]) -> str:
    cores = sorted(uri for uri in documents if uri.endswith("/OpenLineage.json"))
    return f"{cores[-1]}#/$defs/RunEvent"


def format_checker() -> Any:
    """The format checker both our documents and the spec's files are validated with: jsonschema's own
    (RFC 3339 date-time with an offset, RFC 3986 URI, UUID), plus the client's validators for any other."""
    import jsonschema

    checker = jsonschema.FormatChecker()
    for name, check in _built()[1].items():
        checker.checks(name, raises=(ValueError, TypeError, OverflowError))(_format_check(check))
    return checker


@functools.cache
def _validator(source: Path | None) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    documents = spec_documents() if source is None else documents_from_directory(source)
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(doc)) for uri, doc in documents.items()
    )
    core = core_schema_url() if source is None else _core_ref(documents)
    return jsonschema.Draft202012Validator({"$ref": core}, registry=registry, format_checker=format_checker())


def _format_check(check: Callable[..., Any]) -> Callable[[object], bool]:
    def run(value: object) -> bool:
        # the generated validators never read the instance or the attribute
        check(None, None, value)
        return True

    return run


def validate_event(event: Mapping[str, Any], *, spec_directory: Path | None = None) -> list[SpecProblem]:
    """Every way ``event`` (a RunEvent as JSON) departs from the spec; empty when it conforms.

    With the spec's own files, each facet is also checked against the document its ``_schemaURL`` names (the
    core document only knows facets as base facets), as the rebuilt documents do through their dispatch."""
    problems: dict[SpecProblem, None] = {}  # a facet breaks its own rules and the base facet's: say it once
    found = [(list(e.absolute_path), e) for e in _validator(spec_directory).iter_errors(event)]
    if spec_directory is not None:
        for prefix, facet, url in _facets_in(event, []):
            if url.split("#", 1)[0] in _documents(spec_directory):
                found += [
                    (prefix + list(e.absolute_path), e)
                    for e in _facet_validator(spec_directory, url).iter_errors(facet)
                ]
    for where, error in sorted(found, key=lambda item: [str(p) for p in item[0]]):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)
        problems.setdefault(SpecProblem(path, _describe(error)))
    return list(problems)


def _facets_in(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], Mapping[str, Any], str]]:
    if isinstance(node, Mapping):
        url = node.get("_schemaURL")
        if isinstance(url, str) and "_producer" in node:
            yield path, node, url
        for key, value in node.items():
            yield from _facets_in(value, [*path, key])
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _facets_in(item, [*path, i])


@functools.cache
def _documents(source: Path) -> dict[str, dict[str, Any]]:
    return documents_from_directory(source)


@functools.cache
def _facet_validator(source: Path, url: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    documents = _documents(source)
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(doc)) for uri, doc in documents.items()
    )
    base = url.split("#", 1)[0]
    name = next(iter(documents[base].get("$defs", {})), None)
    ref = url if "#" in url else (f"{base}#/$defs/{name}" if name else base)
    return jsonschema.Draft202012Validator({"$ref": ref}, registry=registry, format_checker=format_checker())


def _describe(error: Any) -> str:
    if error.validator == "format":
        cause = f" ({error.cause})" if error.cause else ""
        return f"{error.instance!r} is not valid for {error.validator_value}{cause}"
    return str(error.message)


def read_event_lines(path: Path) -> list[str]:
    """The lines of a JSON Lines file of events; a missing or non-UTF-8 file is refused, saying which."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"no events file at {path}", hint="name the .jsonl file emit wrote") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text.splitlines()


def validate_lines(path: Path, *, spec_directory: Path | None = None) -> list[tuple[int, SpecProblem]]:
    """Validate a JSON Lines file of events (as ``emit`` writes them); problems come with line numbers."""
    return validate_event_lines(read_event_lines(path), spec_directory=spec_directory)


def validate_event_lines(
    lines: Iterable[str], *, spec_directory: Path | None = None
) -> list[tuple[int, SpecProblem]]:
    """The problems of already-read JSON Lines (blank lines skipped), with their 1-based line numbers."""
    return list(_problems_by_line(lines, spec_directory))


def _problems_by_line(lines: Iterable[str], spec_directory: Path | None) -> Iterator[tuple[int, SpecProblem]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, SpecProblem("$", f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(event, dict):
            yield number, SpecProblem("$", f"expected a JSON object, found {type(event).__name__}")
            continue
        for problem in validate_event(event, spec_directory=spec_directory):
            yield number, problem
