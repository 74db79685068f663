"""Contract diff: which changes between two ODCS contracts are breaking, with semantic-versioning advice.

A change is *breaking* when data that satisfied the old contract can fail the new one, or when a consumer
loses a column it relied on: a column removed, a type narrowed, a range or length tightened, a column made
required or unique, valid values removed, a pattern or an error-severity rule added. Loosening any of these
and adding optional columns is *non-breaking* (a minor version); descriptions and metadata are a patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from open_data_contract_standard.model import DataQuality, SchemaObject, SchemaProperty

from triops.dataops.contracts import Contract

BREAKING, NON_BREAKING, PATCH = "breaking", "non-breaking", "patch"
_WIDER = {("integer", "number"), ("date", "timestamp")}
_LOWER = ("minimum", "exclusiveMinimum", "minLength")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength")


@dataclass(frozen=True, slots=True)
class Change:
    level: str
    object: str
    column: str | None
    what: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "object": self.object, "column": self.column, "what": self.what}


@dataclass(frozen=True, slots=True)
class ContractDiff:
    old_version: str
    new_version: str
    changes: tuple[Change, ...]

    @property
    def breaking(self) -> bool:
        return any(c.level == BREAKING for c in self.changes)

    @property
    def bump(self) -> str:
        levels = {c.level for c in self.changes}
        if BREAKING in levels:
            return "major"
        if NON_BREAKING in levels:
            return "minor"
        return "patch" if levels else "none"

    @property
    def suggested_version(self) -> str:
        return bump_version(self.old_version, self.bump)

    @property
    def version_ok(self) -> bool:
        """True when the new contract's declared version is at least the suggested one."""
        return _parse(self.new_version) >= _parse(self.suggested_version)

    def advice(self) -> str:
        if self.bump == "none":
            return "no changes; keep the version"
        verdict = "fits" if self.version_ok else f"is too small; use at least {self.suggested_version}"
        suggested = self.suggested_version
        return f"{self.bump} change: suggested version {suggested}; declared {self.new_version} {verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "breaking": self.breaking,
            "bump": self.bump,
            "suggested_version": self.suggested_version,
            "version_ok": self.version_ok,
            "advice": self.advice(),
            "changes": [c.to_dict() for c in self.changes],
        }


def _parse(version: str) -> tuple[int, int, int]:
    parts = [*version.lstrip("v").split("-")[0].split("+")[0].split("."), "0", "0", "0"][:3]
    try:
        return int(parts[0]), int(parts[1]), int(parts[2])
    except ValueError:
        return 0, 0, 0


def bump_version(version: str, bump: str) -> str:
    major, minor, patch = _parse(version)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor}.{patch}"


def diff_contracts(old: Contract, new: Contract) -> ContractDiff:
    changes: list[Change] = []
    old_objs = {o.name or "": o for o in old.schema_ or []}
    new_objs = {o.name or "": o for o in new.schema_ or []}
    for name in old_objs.keys() - new_objs.keys():
        changes.append(Change(BREAKING, name, None, "schema object removed"))
    for name in new_objs.keys() - old_objs.keys():
        changes.append(Change(NON_BREAKING, name, None, "schema object added"))
    for name in sorted(old_objs.keys() & new_objs.keys()):
        changes += _diff_object(old_objs[name], new_objs[name])
    skip = {"version", "schema_", "contractCreatedTs"}
    for field in sorted(set(type(old).model_fields) - skip):
        if getattr(old, field) != getattr(new, field):
            changes.append(Change(PATCH, "contract", None, f"{field} changed"))
    return ContractDiff(old.version or "0.0.0", new.version or "0.0.0", tuple(changes))


def _diff_object(old: SchemaObject, new: SchemaObject) -> list[Change]:
    name = old.name or ""
    out: list[Change] = []
    old_props = {p.name or "": p for p in old.properties or []}
    new_props = {p.name or "": p for p in new.properties or []}
    for col in sorted(old_props.keys() - new_props.keys()):
        out.append(Change(BREAKING, name, col, "column removed"))
    for col in sorted(new_props.keys() - old_props.keys()):
        required = bool(new_props[col].required)
        out.append(
            Change(
                BREAKING if required else NON_BREAKING,
                name,
                col,
                "required column added" if required else "optional column added",
            )
        )
    for col in sorted(old_props.keys() & new_props.keys()):
        out += [
            Change(level, name, col, what) for level, what in _diff_property(old_props[col], new_props[col])
        ]
    out += [Change(level, name, None, what) for level, what in _diff_quality(old.quality, new.quality)]
    for field in ("description", "businessName", "physicalName", "tags", "dataGranularityDescription"):
        if getattr(old, field) != getattr(new, field):
            out.append(Change(PATCH, name, None, f"{field} changed"))
    return out


def _diff_property(old: SchemaProperty, new: SchemaProperty) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if old.logicalType != new.logicalType:
        a: str = old.logicalType or "any"
        b: str = new.logicalType or "any"
        wider = b in ("any", "string") or (a, b) in _WIDER
        out.append(
            (NON_BREAKING if wider else BREAKING, f"type {'widened' if wider else 'narrowed'} {a} → {b}")
        )
    for flag, label in (("required", "nullable → required"), ("unique", "values must now be unique")):
        before, after = bool(getattr(old, flag)), bool(getattr(new, flag))
        if after and not before:
            out.append((BREAKING, label))
        elif before and not after:
            out.append((NON_BREAKING, f"{flag} dropped"))
    o_opts, n_opts = dict(old.logicalTypeOptions or {}), dict(new.logicalTypeOptions or {})
    for key in _LOWER + _UPPER:
        lo: Any = o_opts.get(key)
        hi: Any = n_opts.get(key)
        a, b = lo, hi
        if a == b:
            continue
        tighter = a is None or (b is not None and (b > a if key in _LOWER else b < a))
        what = f"{key} {'added' if a is None else 'removed' if b is None else 'changed'} ({a} → {b})"
        out.append(
            (
                BREAKING if tighter and b is not None else NON_BREAKING,
                f"range tightened: {what}" if tighter and b is not None else f"range loosened: {what}",
            )
        )
    if o_opts.get("pattern") != n_opts.get("pattern"):
        level = NON_BREAKING if n_opts.get("pattern") is None else BREAKING
        out.append((level, f"pattern {o_opts.get('pattern')!r} → {n_opts.get('pattern')!r}"))
    out += _diff_values(
        [e.value for e in old.enum] if old.enum else None,
        [e.value for e in new.enum] if new.enum else None,
        "valid values",
    )
    out += _diff_quality(old.quality, new.quality)
    for field in ("description", "businessName", "classification", "tags", "examples", "physicalType"):
        if getattr(old, field) != getattr(new, field):
            out.append((PATCH, f"{field} changed"))
    return out


def _diff_values(old: list[Any] | None, new: list[Any] | None, label: str) -> list[tuple[str, str]]:
    if old == new:
        return []
    if new is None:
        return [(NON_BREAKING, f"{label} rule removed")]
    if old is None:
        return [(BREAKING, f"{label} rule added")]
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    out: list[tuple[str, str]] = []
    if removed:
        out.append((BREAKING, f"{label} removed: {', '.join(map(str, removed))}"))
    if added:
        out.append((NON_BREAKING, f"{label} added: {', '.join(map(str, added))}"))
    return out


def _key(q: DataQuality, i: int) -> str:
    return q.name or q.id or f"{q.type or 'library'}:{q.metric or q.rule or q.query or i}"


def _diff_quality(old: list[DataQuality] | None, new: list[DataQuality] | None) -> list[tuple[str, str]]:
    o = {_key(q, i): q for i, q in enumerate(old or [])}
    n = {_key(q, i): q for i, q in enumerate(new or [])}
    out: list[tuple[str, str]] = []
    for key in sorted(o.keys() - n.keys()):
        out.append((NON_BREAKING, f"quality rule {key} removed"))
    for key in sorted(n.keys() - o.keys()):
        level = (
            NON_BREAKING if (n[key].severity or "error").lower() in ("warning", "warn", "info") else BREAKING
        )
        out.append((level, f"quality rule {key} added"))
    for key in sorted(o.keys() & n.keys()):
        a, b = o[key], n[key]
        va = (a.arguments or {}).get("validValues")
        vb = (b.arguments or {}).get("validValues")
        out += _diff_values(va, vb, f"rule {key} valid values")
        rest_a = a.model_dump(exclude={"arguments", "description", "name"}, exclude_none=True)
        rest_b = b.model_dump(exclude={"arguments", "description", "name"}, exclude_none=True)
        if rest_a != rest_b:
            out.append((BREAKING, f"quality rule {key} changed (threshold, metric or severity)"))
        elif a.description != b.description:
            out.append((PATCH, f"quality rule {key} description changed"))
    return out
