"""SLA properties (``slaProperties``) as rules, with or without ``element``.

Which element an SLA applies to: its ``element`` (``table.column``, ``column`` or ``table``), else the
contract's ``slaDefaultElement`` (deprecated in v3.1, still read), else — a contract-level SLA — the schema
object being checked. An element naming another schema object concerns that object, not this check, and is
listed as not checked here.

| property | on a column | on the object (contract-level) |
|---|---|---|
| ``freshness``, ``latency`` | newest value at most ``value unit`` old | the source's age: a file's modification time, or ``delivered_at`` given to the check |
| ``retention`` | no value older than ``value unit`` (row-level: old rows fail) | refused: needs a column |
| ``endOfSupport``, ``endOfLife`` | — | the check's date is not past ``value`` (warning / error) |
| ``generalAvailability`` | — | the check's date is not before ``value`` (warning) |

Everything else (``frequency``, ``timeOfAvailability``, ``availability``, ``throughput``, ``errorRate``, …)
describes how the data is served, not what it holds: refused by name. A ``severity`` custom property
overrides the default severity (error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from open_data_contract_standard.model import SchemaObject, ServiceLevelAgreementProperty

from triops.dataops.contracts import Contract
from triops.dataops.rules import Rule, severity_of, unsupported

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("mo", "month", "months"), 30 * 86400),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * 86400),
}
_AGE = ("freshness", "latency")
_DATES = {
    "endofsupport": ("<=", "warning"),
    "endoflife": ("<=", "error"),
    "generalavailability": (">=", "warning"),
}


class NotForThisObject(Exception):
    """The SLA names another schema object: it is listed as not checked, never an error."""

    def __init__(self, location: str, what: str, reason: str) -> None:
        super().__init__(reason)
        self.location, self.what, self.reason = location, what, reason


def sla_rules(
    contract: Contract, obj: SchemaObject, sla: ServiceLevelAgreementProperty, where: str
) -> list[Rule]:
    prop = (sla.property or "").strip()
    key = prop.lower()
    severity = _severity(sla, where, _DATES.get(key, ("", "error"))[1])
    if key in _DATES:
        return [_date_rule(sla, prop, key, where, severity)]
    if key not in (*_AGE, "retention"):
        raise unsupported(
            f"{where}.property",
            prop,
            "describes how the data is served, not what it holds: triops cannot check it",
        )
    element = sla.element or contract.slaDefaultElement
    target, column = _target(element, obj, where, prop)
    seconds = _seconds(sla, where)
    applies = (
        f"{obj.name}.{column}"
        if column
        else f"object {obj.name}" + ("" if element else " (contract-level SLA)")
    )
    if column is None:
        if key == "retention":
            raise unsupported(
                f"{where}.element", prop, "retention needs an element naming a date or timestamp column"
            )
        return [
            Rule(
                f"{obj.name or 'table'}.{key}",
                "source_age",
                None,
                severity,
                f"{prop} of {applies}: the data at most {sla.value} {sla.unit or 'd'} old when checked",
                {"max_age_s": seconds, "property": prop, "element": target},
                location=where,
            )
        ]
    kind = "retention" if key == "retention" else "freshness"
    what = "oldest" if kind == "retention" else "newest"
    return [
        Rule(
            f"{column}.{key}",
            kind,
            column,
            severity,
            f"{prop} of {applies}: {what} value at most {sla.value} {sla.unit or 'd'} old",
            {"max_age_s": seconds, "property": prop, "path": tuple(column.split("."))},
            location=where,
        )
    ]


def _target(element: str | None, obj: SchemaObject, where: str, prop: str) -> tuple[str, str | None]:
    """(element, column or None for the object itself)."""
    names = {n for n in (obj.name, obj.physicalName) if n}
    if not element:
        return str(obj.name), None
    if "," in element:
        raise unsupported(
            f"{where}.element", element, "names more than one element; triops checks an SLA on one"
        )
    table, _, column = element.strip().rpartition(".")
    columns = {str(p.name) for p in obj.properties or []}
    if not table:
        if column in names:
            return element, None
        if column in columns:
            return element, column
        raise NotForThisObject(
            where,
            f"{prop} on {element}",
            f"applies to {element}, which is not {obj.name} nor one of its columns",
        )
    if table not in names:
        raise NotForThisObject(where, f"{prop} on {element}", f"applies to object {table}, not {obj.name}")
    return element, column


def _seconds(sla: ServiceLevelAgreementProperty, where: str) -> float:
    unit = (sla.unit or "d").strip().lower()
    if isinstance(sla.value, bool) or not isinstance(sla.value, int | float):
        raise unsupported(f"{where}.value", repr(sla.value), "needs a number (with unit)")
    if unit not in _UNITS:
        raise unsupported(
            f"{where}.unit", str(sla.unit), "is not a time unit triops reads (s, m, h, d, w, mo, y)"
        )
    return float(sla.value) * _UNITS[unit]


def _date_rule(sla: ServiceLevelAgreementProperty, prop: str, key: str, where: str, severity: str) -> Rule:
    op, _ = _DATES[key]
    moment = parse_moment(sla.value)
    if moment is None:
        raise unsupported(f"{where}.value", repr(sla.value), f"{prop} needs a date or timestamp")
    if op == "<=" and isinstance(sla.value, str) and len(sla.value.strip()) == 10:
        moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)  # a date: the whole day counts
    relation = "not after" if op == "<=" else "not before"
    return Rule(
        f"contract.{key}",
        "contract_date",
        None,
        severity,
        f"checked {relation} the {prop} date {sla.value} (contract-level SLA)",
        {"moment": moment.isoformat(), "op": op, "property": prop},
        location=where,
    )


def parse_moment(value: Any) -> dt.datetime | None:
    """An ISO date or timestamp as an aware datetime (UTC when no offset is given)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _severity(sla: ServiceLevelAgreementProperty, where: str, default: str) -> str:
    for i, custom in enumerate(sla.customProperties or []):
        if custom.property == "severity":
            return severity_of(str(custom.value), f"{where}.customProperties[{i}]")
    return default
