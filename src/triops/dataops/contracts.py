"""Data contracts in ODCS v3: read and write the Open Data Contract Standard YAML.

Reading a contract first validates the document against the official ODCS JSON Schema of its own
``apiVersion`` (``contract_schema``): a missing ``apiVersion``/``kind``/``id``/``version``/``status``, an
unknown key or a value of the wrong type is refused with its path and line, before any rule is compiled.
The valid document then becomes the ``open-data-contract-standard`` package's pydantic model; triops adds no
format of its own. This module also writes contracts back and answers small questions about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml
from open_data_contract_standard.model import (
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
    Team,
    TeamMember,
)

from triops.dataops.contract_schema import (
    json_path,
    line_of,
    load_yaml,
    valid_under_newer,
    validate_document,
)
from triops.errors import DataContractError, NotFoundError

Contract = OpenDataContractStandard

WRITTEN_API_VERSION = "v3.1.0"
"""The ODCS version whose forms triops writes (``metric:`` quality rules, numeric exclusive bounds)."""
_DOCS_HINT = "see docs/dataops.md#contracts and the ODCS reference for the contract's apiVersion"
_SHOWN_PROBLEMS = 5


def load_contract(source: str | Path) -> Contract:
    """Read an ODCS contract from a file path or, when the string holds a newline, from YAML text."""
    if isinstance(source, str) and "\n" in source:
        return parse_contract(source, where="<text>")
    path = Path(source)
    if not path.exists():
        raise NotFoundError(
            f"contract file {path} does not exist",
            hint="check the path, or draft one with `triops contract init DATA`",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataContractError(
            f"contract file {path} is not UTF-8 (bad byte at offset {exc.start})", hint="save it as UTF-8"
        ) from exc
    return parse_contract(text, where=str(path))


def parse_contract(text: str, *, where: str = "<text>") -> Contract:
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = exc.problem or exc.context or "malformed YAML"
        raise DataContractError(
            f"{where}: malformed YAML at line {line}, column {column}: {problem}",
            hint="fix the YAML syntax there (indentation, a missing ':' or an unclosed quote)",
            detail={"line": line, "column": column},
        ) from exc
    except yaml.YAMLError as exc:
        raise DataContractError(f"{where}: malformed YAML: {exc}", hint=_DOCS_HINT) from exc
    if not isinstance(data, dict):
        raise DataContractError(
            f"{where}: a contract is a YAML mapping, got {type(data).__name__}",
            hint=f"start the file with `apiVersion: {WRITTEN_API_VERSION}` and `kind: DataContract`",
        )
    version, problems = validate_document(data, text)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more: " + "; ".join(map(str, problems[1:_SHOWN_PROBLEMS]))
        more = more + (" …)" if len(problems) > _SHOWN_PROBLEMS else ")") if len(problems) > 1 else ""
        against = f"ODCS {version}" if version else "ODCS"
        newer = valid_under_newer(data, version) if version else None
        hint = (
            f"it is valid under ODCS {newer}, whose forms it uses: set apiVersion: {newer}"
            if newer
            else "fix the field named (a misspelt key, a missing one, or a value of the wrong type); "
            + _DOCS_HINT
        )
        raise DataContractError(
            f"{where}: not a valid {against} contract: {first}{more}",
            hint=hint,
            detail={
                "field": first.path,
                "line": first.line,
                "schema": version,
                "problems": [{"path": p.path, "line": p.line, "message": p.message} for p in problems],
            },
        )
    try:
        return OpenDataContractStandard.model_validate(_normalised(data))
    except pydantic.ValidationError as exc:  # the schema passed; the package's model is narrower
        first_error = exc.errors()[0]
        loc = list(first_error["loc"])
        raise DataContractError(
            f"{where}: field {json_path(loc)} (line {line_of(text, loc)}) cannot be read: {first_error['msg']}",
            hint=_DOCS_HINT,
            detail={"field": json_path(loc), "line": line_of(text, loc)},
        ) from exc


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """v3.0.2 puts a ``rule: validValues`` list beside the rule; the model keeps arguments in
    ``arguments`` (as v3.1 does), so move it there instead of letting the model drop it."""

    def fix_quality(rules: Any) -> Any:
        if not isinstance(rules, list):
            return rules
        out = []
        for rule in rules:
            if isinstance(rule, dict) and "validValues" in rule:
                rule = dict(rule)
                args = dict(rule.get("arguments") or {})
                args.setdefault("validValues", rule.pop("validValues"))
                rule["arguments"] = args
            out.append(rule)
        return out

    def fix_property(prop: Any) -> Any:
        if not isinstance(prop, dict):
            return prop
        prop = dict(prop)
        if "quality" in prop:
            prop["quality"] = fix_quality(prop["quality"])
        if isinstance(prop.get("properties"), list):
            prop["properties"] = [fix_property(p) for p in prop["properties"]]
        if isinstance(prop.get("items"), dict):
            prop["items"] = fix_property(prop["items"])
        return prop

    result = dict(data)
    if isinstance(result.get("schema"), list):
        result["schema"] = [fix_property(obj) for obj in result["schema"]]
    return result


_FIRST_KEYS = ("apiVersion", "kind", "id", "name", "version", "status")


def dump_contract(contract: Contract) -> str:
    """ODCS YAML with the identifying keys first, as the standard's examples write them."""
    data = contract.model_dump(exclude_defaults=True, exclude_none=True, by_alias=True)
    ordered = {k: data[k] for k in _FIRST_KEYS if k in data} | {
        k: v for k, v in data.items() if k not in _FIRST_KEYS
    }
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)


def save_contract(contract: Contract, path: str | Path) -> Path:
    target = Path(path)
    target.write_text(dump_contract(contract), encoding="utf-8")
    return target


# -- questions about a contract ----------------------------------------------------------------------------


def schema_object(contract: Contract, name: str | None = None) -> SchemaObject:
    """The schema object (table) to check: the one named, or the only/first one."""
    objects = contract.schema_ or []
    if not objects:
        raise DataContractError(f"contract {contract_label(contract)} has no schema", hint=_DOCS_HINT)
    if name is None:
        return objects[0]
    for obj in objects:
        if obj.name == name:
            return obj
    names = ", ".join(str(o.name) for o in objects)
    raise NotFoundError(f"contract has no schema object {name!r}", hint=f"schema objects: {names}")


def schema_index(contract: Contract, obj: SchemaObject) -> int:
    return next(i for i, o in enumerate(contract.schema_ or []) if o is obj)


def columns(obj: SchemaObject) -> list[SchemaProperty]:
    return list(obj.properties or [])


PROTECTED_CLASSES = ("restricted", "confidential", "secret", "sensitive", "pii", "personal")
"""``classification`` values whose cells triops never stores or prints in clear (case-insensitive)."""


def protected_columns(contract: Contract | None, obj: SchemaObject | None = None) -> dict[str, str]:
    """Columns the contract classifies as restricted/confidential (top-level and nested), with the class."""
    if contract is None:
        return {}
    objects: Sequence[SchemaObject] = [obj] if obj is not None else list(contract.schema_ or [])
    out: dict[str, str] = {}

    def walk(props: Sequence[SchemaProperty], prefix: str) -> None:
        for prop in props:
            name = f"{prefix}{prop.name}"
            if (prop.classification or "").strip().lower() in PROTECTED_CLASSES:
                out[name] = str(prop.classification).lower()
                if prefix == "" and prop.properties:
                    continue
            walk(prop.properties or [], f"{name}.")

    for o in objects:
        walk(o.properties or [], "")
    return out


def contract_label(contract: Contract) -> str:
    return f"{contract.id or contract.name or '<unnamed>'}@{contract.version or '0.0.0'}"


def owner(contract: Contract) -> str | None:
    """The owner: the team member with role ``owner`` (ODCS has no top-level owner field)."""
    members = _members(contract)
    for member in members:
        if (member.role or "").lower() in ("owner", "data owner", "product owner"):
            return member.username or member.name
    return None


def team_name(contract: Contract) -> str | None:
    return contract.team.name if isinstance(contract.team, Team) else None


def _members(contract: Contract) -> list[TeamMember]:
    if isinstance(contract.team, Team):
        return list(contract.team.members or [])
    return list(contract.team or [])
