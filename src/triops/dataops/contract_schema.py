"""Validation of a contract document against the official ODCS JSON Schema of its own ``apiVersion``.

The schemas are the standard's own documents, unchanged: v3.2.0 as the ``open-data-contract-standard``
package ships it, and v3.0.2 and v3.1.0 (which no installed package ships) copied into
``dataops/data/odcs/`` from bitol-io/open-data-contract-standard (Apache-2.0). A v3.0.x contract is checked
against v3.0.2, a v3.1.x one against v3.1.0, a v3.2.x one against v3.2.0; anything else is refused.

One addition makes the check stricter than the documents, never looser: an object the standard defines
with a fixed list of keys but without ``additionalProperties``/``unevaluatedProperties`` (v3.0.2's quality
rules, teams, SLA entries, …) is closed too, so a misspelt key (``requried``, ``mustBeGreaterThen``) is an
error wherever it sits. v3.0.2's documented ``validValues`` key of a ``rule: validValues`` entry (named in
the standard's text, not in its schema) stays allowed. Every problem comes with its JSON path and line.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from triops.errors import DataContractError

SUPPORTED = {"v3.0": "v3.0.2", "v3.1": "v3.1.0", "v3.2": "v3.2.0"}
"""apiVersion family → the official schema it is validated against."""
_EXTRA_KEYS = {"v3.0.2": {"DataQuality": {"validValues": {"type": "array"}}}}
_UNEXPECTED = re.compile(r"'([^']+)'")


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}, " if self.line else ""
        return f"{at}{self.path}: {self.message}"


class _TextLoader(yaml.SafeLoader):
    """YAML as JSON sees it: dates and timestamps stay text (the schema says ``type: string``)."""


_TextLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a SafeLoader subclass


def schema_version(api_version: str) -> str:
    """The official schema version a contract's ``apiVersion`` is checked against."""
    family = ".".join(str(api_version).split(".")[:2])
    if family not in SUPPORTED:
        raise DataContractError(
            f"apiVersion {api_version!r} is not a version triops reads",
            hint=f"use an ODCS v3.0.x, v3.1.x or v3.2.x apiVersion (v3.1.0 is what `contract init` writes); "
            f"read: {', '.join(sorted(SUPPORTED.values()))}",
            detail={"field": "apiVersion", "line": 1},
        )
    return SUPPORTED[family]


@functools.cache
def official_schema(version: str) -> dict[str, Any]:
    """The standard's JSON Schema document for ``version`` (v3.0.2, v3.1.0 or v3.2.0), unchanged."""
    if version == "v3.2.0":
        text = (resources.files("open_data_contract_standard") / "schema.json").read_text("utf-8")
    else:
        text = (resources.files("triops.dataops") / "data" / "odcs" / f"{version}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.cache
def _strict_schema(version: str) -> dict[str, Any]:
    schema = copy.deepcopy(official_schema(version))
    defs: dict[str, Any] = schema.get("$defs", {})
    bases = set(_composed_refs(schema))
    for name, definition in defs.items():
        if not isinstance(definition, dict) or "properties" not in definition or name in bases:
            continue
        if "additionalProperties" in definition or "unevaluatedProperties" in definition:
            continue
        for key, rule in _EXTRA_KEYS.get(version, {}).get(name, {}).items():
            definition["properties"].setdefault(key, rule)
        definition["unevaluatedProperties"] = False
    return schema


def _composed_refs(node: Any, composed: bool = False) -> Iterator[str]:
    """Definitions used as a part of another schema (through ``allOf``/``anyOf``/``oneOf``/``if``/``then``/
    ``else`` or a ``$ref`` beside other keywords): closing those would reject the keys the rest of the
    composition adds, so they stay open and only whole objects are closed."""
    if isinstance(node, list):
        for item in node:
            yield from _composed_refs(item, composed)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and (composed or len(node) > 1):
        yield ref.rsplit("/", 1)[-1]
    for key, value in node.items():
        yield from _composed_refs(value, key in ("allOf", "anyOf", "oneOf", "if", "then", "else"))


@functools.cache
def _validator(version: str) -> Any:
    """The (slow, descriptive) reference validator: it explains the problems the fast one finds."""
    import jsonschema

    schema = _strict_schema(version)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@functools.cache
def _fast_validator(version: str) -> Any:
    """jsonschema-rs (Rust, Draft 2019-09 with ``unevaluatedProperties``): ~0.3 ms per contract instead of
    ~50 ms, so validating on every load costs nothing next to a check."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(_strict_schema(version))


def validate_document(data: Mapping[str, Any], text: str) -> tuple[str, list[SchemaProblem]]:
    """(schema version used, every problem) for a contract read from ``text``."""
    for key in ("apiVersion", "kind", "id", "version", "status"):
        if data.get(key) in (None, ""):
            problem = SchemaProblem("<root>", 1, f"required key {key!r} is missing")
            return "", [problem]
    version = schema_version(str(data["apiVersion"]))
    if _fast_validator(version).is_valid(data):
        return version, []
    errors = list(_validator(version).iter_errors(data))
    if not errors:  # the two validators disagree: report what the fast one found, unexplained
        fast = list(_fast_validator(version).iter_errors(data))
        return version, [
            SchemaProblem(json_path(list(e.instance_path)), line_of(text, list(e.instance_path)), e.message)
            for e in fast
        ]
    problems: dict[tuple[str, str], SchemaProblem] = {}
    for error in errors:
        for problem in _describe(error, version, text):
            problems.setdefault((problem.path, problem.message), problem)
    return version, sorted(problems.values(), key=lambda p: (p.line or 0, p.path))


def valid_under_newer(data: Mapping[str, Any], version: str) -> str | None:
    """A later official schema that accepts this document (their ``apiVersion`` enums admit older
    versions), for a hint when a contract labelled e.g. v3.0.2 is written in v3.1 forms."""
    for newer in sorted(set(SUPPORTED.values())):
        if newer <= version:
            continue
        document = dict(data) | {"apiVersion": newer}
        if _fast_validator(newer).is_valid(document):
            return newer
    return None


def _describe(error: Any, version: str, text: str) -> Iterator[SchemaProblem]:
    path = list(error.absolute_path)
    where = json_path(path)
    if error.validator in ("unevaluatedProperties", "additionalProperties"):
        declared = _declared_keys(error.schema, official_schema(version))
        for key in _UNEXPECTED.findall(error.message):
            if isinstance(error.instance, dict) and key in error.instance and key not in declared:
                yield SchemaProblem(
                    json_path([*path, key]),
                    line_of(text, [*path, key]),
                    f"unknown key {key!r} (not in ODCS {version})",
                )
        return
    if error.validator in ("oneOf", "anyOf") and error.context:
        import jsonschema

        best = jsonschema.exceptions.best_match(error.context)
        if best is not None and best.validator == "required":
            yield SchemaProblem(where, line_of(text, path), _operator_hint(best.message, error))
            return
    yield SchemaProblem(where, line_of(text, path), str(error.message))


def _operator_hint(message: str, error: Any) -> str:
    options = [
        next(iter(part.get("required", [])), None)
        for part in error.validator_value
        if isinstance(part, dict) and part.get("required")
    ]
    names = [o for o in options if o]
    if names:
        return f"needs exactly one of {', '.join(names)}"
    return message


def _declared_keys(schema: Any, root: Mapping[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
    """Every key a (sub)schema declares anywhere in itself, its ``$ref``s and its combinators."""
    keys: set[str] = set()
    if not isinstance(schema, dict):
        return keys
    keys |= set(schema.get("properties", {}))
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in seen:
        keys |= _declared_keys(root["$defs"].get(ref.rsplit("/", 1)[-1]), root, seen | {ref})
    for word in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(word, []):
            keys |= _declared_keys(part, root, seen)
    for word in ("then", "else"):
        keys |= _declared_keys(schema.get(word), root, seen)
    return keys


def json_path(path: Sequence[int | str]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def line_of(text: str, path: Sequence[int | str]) -> int | None:
    """Line (1-based) of the YAML node at ``path`` (the key itself when the last part is a key), or of its
    nearest existing parent."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line: int | None = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
            continue
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
