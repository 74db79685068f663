"""Data contracts in ODCS v3: read and write the Open Data Contract Standard YAML.

The model is the ``open-data-contract-standard`` package's pydantic ``OpenDataContractStandard``; triops adds
no format of its own. This module loads a contract (naming the line and column of malformed YAML or of a
field that does not fit the model), writes it back, answers small questions about it (its columns, owner,
freshness SLA) and drafts a new contract from a data profile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml
from open_data_contract_standard.model import (
    DataQuality,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
    Team,
    TeamMember,
)

from triops.errors import DataContractError, NotFoundError

Contract = OpenDataContractStandard

LOGICAL_TYPES = ("string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean")
QUALITY_METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount")
SEVERITIES = ("error", "warning", "info")
_DOCS_HINT = "see docs/dataops.md#contracts and the ODCS v3 reference"


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
        data = yaml.safe_load(text)
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
            hint="start the file with `apiVersion: v3.0.2` and `kind: DataContract`",
        )
    try:
        contract = OpenDataContractStandard.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        loc = _loc_text(first["loc"])
        where_line = _line_of(text, first["loc"])
        at = f" (line {where_line})" if where_line else ""
        raise DataContractError(
            f"{where}: field {loc}{at} does not fit ODCS v3: {first['msg']}",
            hint=_DOCS_HINT,
            detail={"field": loc, "line": where_line, "errors": len(exc.errors())},
        ) from exc
    _check_semantics(contract, where)
    return contract


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


def _loc_text(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _line_of(text: str, loc: Sequence[int | str]) -> int | None:
    """Line (1-based) of the YAML node at ``loc``, or of its nearest existing parent."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line: int | None = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if getattr(k, "value", None) == part]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _check_semantics(contract: Contract, where: str) -> None:
    api = contract.apiVersion or ""
    if api and not api.startswith("v3"):
        raise DataContractError(
            f"{where}: apiVersion {api!r} is not ODCS v3", hint="set apiVersion to v3.0.2 (or another v3.x)"
        )
    if contract.kind not in (None, "DataContract"):
        raise DataContractError(f"{where}: kind {contract.kind!r} is not DataContract", hint=_DOCS_HINT)
    for obj in contract.schema_ or []:
        for prop in obj.properties or []:
            if not prop.name:
                raise DataContractError(
                    f"{where}: a property of schema {obj.name!r} has no name", hint=_DOCS_HINT
                )
            if prop.logicalType and prop.logicalType not in LOGICAL_TYPES:
                raise DataContractError(
                    f"{where}: column {prop.name!r} has unknown logicalType {prop.logicalType!r}",
                    hint=f"use one of: {', '.join(LOGICAL_TYPES)}",
                )
            for q in prop.quality or []:
                _check_quality(q, where, prop.name)
        for q in obj.quality or []:
            _check_quality(q, where, obj.name or "schema")


def _check_quality(q: DataQuality, where: str, owner: str) -> None:
    label = q.name or q.metric or q.rule or q.type or "rule"
    if q.severity and q.severity.lower() not in (*SEVERITIES, "warn"):
        raise DataContractError(
            f"{where}: quality rule {label!r} on {owner!r} has severity {q.severity!r}",
            hint=f"use one of: {', '.join(SEVERITIES)}",
        )
    if (q.type or "library") == "sql":
        if not q.query:
            raise DataContractError(f"{where}: SQL rule {label!r} on {owner!r} has no query", hint=_DOCS_HINT)
        return
    if (q.type or "library") != "library":
        return
    metric = q.metric or q.rule
    if metric not in QUALITY_METRICS:
        raise DataContractError(
            f"{where}: quality rule on {owner!r} has unknown metric {metric!r}",
            hint=f"use one of: {', '.join(QUALITY_METRICS)}",
        )


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


def columns(obj: SchemaObject) -> list[SchemaProperty]:
    return list(obj.properties or [])


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


@dataclass(frozen=True, slots=True)
class FreshnessSLA:
    column: str
    max_age_s: float
    severity: str


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def freshness_sla(contract: Contract, obj: SchemaObject) -> FreshnessSLA | None:
    """The ODCS ``slaProperties`` freshness entry (value + unit on ``element`` table.column), if any."""
    for sla in contract.slaProperties or []:
        if (sla.property or "").lower() not in ("freshness", "latency"):
            continue
        element = sla.element or contract.slaDefaultElement or ""
        table, _, column = element.rpartition(".")
        if not column or (table and obj.name and table != obj.name):
            continue
        unit = (sla.unit or "d").lower()[:1]
        if not isinstance(sla.value, int | float) or isinstance(sla.value, bool) or unit not in _UNIT_SECONDS:
            raise DataContractError(
                f"freshness SLA on {element!r} needs a numeric value and a unit (s, m, h, d, y)",
                hint="for example: property: freshness, value: 1, unit: d, element: benefits.updated_at",
            )
        severity = "error"
        for custom in sla.customProperties or []:
            if custom.property == "severity" and isinstance(custom.value, str):
                severity = custom.value.lower()
        return FreshnessSLA(column, float(sla.value) * _UNIT_SECONDS[unit], severity)
    return None


# -- drafting ------------------------------------------------------------------------------------------------


def draft_contract(
    name: str, profile: Mapping[str, Mapping[str, Any]], *, row_count: int, contract_id: str | None = None
) -> Contract:
    """A first contract from a profile (``profile.profile_frame(...).columns`` as dicts): types, required
    where no nulls were seen, observed ranges and small value sets. A draft for a person to review."""
    props: list[SchemaProperty] = []
    for col, stats in profile.items():
        logical = str(stats.get("logical_type", "string"))
        options: dict[str, Any] = {}
        if logical in ("integer", "number") and stats.get("min") is not None:
            options = {"minimum": stats["min"], "maximum": stats["max"]}
        prop = SchemaProperty(
            name=col,
            logicalType=logical,
            physicalType=str(stats.get("dtype", "")) or None,
            required=bool(stats.get("null_count", 1) == 0 and row_count > 0),
            logicalTypeOptions=options or None,
        )
        values = stats.get("valid_values")
        if values:
            prop.quality = [
                DataQuality(
                    name=f"{col}_valid_values",
                    metric="invalidValues",
                    arguments={"validValues": list(values)},
                    mustBe=0,
                    severity="error",
                )
            ]
        props.append(prop)
    obj = SchemaObject(name=name, physicalType="table", properties=props)
    obj.quality = [DataQuality(name="not_empty", metric="rowCount", mustBeGreaterThan=0, severity="error")]
    return OpenDataContractStandard(
        apiVersion="v3.0.2",
        kind="DataContract",
        id=contract_id or name,
        name=name,
        version="0.1.0",
        status="draft",
        **{"schema": [obj]},
    )
