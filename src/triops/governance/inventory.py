"""The AI use-case inventory: records with the fields of the US federal inventory (OMB M-25-21), pure.

Each use case says what it is for, where it stands, whether it is *high-impact* (in M-25-21, AI whose output
is a principal basis for decisions or actions with a legal, material, binding or significant effect on
rights or safety) and, if so, the state of each minimum risk practice. It links to the model and dataset
ids that implement it. ``gaps`` lists what a high-impact use case in use still lacks; ``to_csv`` and
``to_json`` export the inventory.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from triops.errors import InvalidInputError

MAX_TEXT = 10_000


class Stage(enum.StrEnum):
    INITIATED = "initiated"
    DEVELOPMENT = "acquisition-and-development"
    IMPLEMENTATION = "implementation-and-assessment"
    OPERATION = "operation-and-maintenance"
    RETIRED = "retired"


class HighImpact(enum.StrEnum):
    YES = "high-impact"
    NO = "not-high-impact"
    PRESUMED_NOT = "presumed-high-impact-but-determined-not"  # determination with a written justification
    UNDETERMINED = "undetermined"


class Practice(enum.StrEnum):
    PRE_DEPLOYMENT_TESTING = "pre_deployment_testing"
    IMPACT_ASSESSMENT = "impact_assessment"
    INDEPENDENT_REVIEW = "independent_review"
    ONGOING_MONITORING = "ongoing_monitoring"
    HUMAN_OVERSIGHT = "human_oversight"
    REMEDY_APPEAL = "remedy_appeal"


class PracticeStatus(enum.StrEnum):
    IMPLEMENTED = "implemented"
    IN_PROGRESS = "in-progress"
    NOT_STARTED = "not-started"
    WAIVED = "waived"  # a written waiver by the Chief AI Officer
    NOT_APPLICABLE = "not-applicable"


class Developer(enum.StrEnum):
    IN_HOUSE = "in-house"
    CONTRACTOR = "contractor"
    COMMERCIAL = "commercial-product"
    MIXED = "mixed"


IN_USE = (Stage.IMPLEMENTATION, Stage.OPERATION)


@dataclass(frozen=True, slots=True)
class UseCase:
    name: str
    purpose: str  # intended purpose and expected benefits
    stage: Stage = Stage.INITIATED
    high_impact: HighImpact = HighImpact.UNDETERMINED
    high_impact_justification: str = ""
    practices: dict[str, str] = field(default_factory=dict)  # Practice -> PracticeStatus
    outputs: str = ""
    topic_area: str = ""
    organization: str = ""
    involves_pii: bool = False
    data_description: str = ""  # training, fine-tuning and evaluation data
    developer: Developer = Developer.IN_HOUSE
    vendor: str = ""
    contact: str = ""
    model_ids: tuple[str, ...] = ()
    dataset_ids: tuple[str, ...] = ()
    project: str | None = None
    id: str = ""

    def gaps(self) -> list[str]:
        """What an inventory reviewer would flag: missing determinations and practices for use in service."""
        found: list[str] = []
        if self.high_impact is HighImpact.UNDETERMINED and self.stage in IN_USE:
            found.append("high-impact determination not made for a use case in use")
        if self.high_impact is HighImpact.PRESUMED_NOT and not self.high_impact_justification.strip():
            found.append(
                "determination that a presumed high-impact use case is not high-impact lacks a justification"
            )
        if self.high_impact is HighImpact.YES and self.stage in IN_USE:
            for practice in Practice:
                status = self.practices.get(practice.value, PracticeStatus.NOT_STARTED.value)
                if status not in (PracticeStatus.IMPLEMENTED, PracticeStatus.WAIVED):
                    found.append(f"minimum risk practice {practice.value} is {status}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "purpose": self.purpose,
            "outputs": self.outputs,
            "topic_area": self.topic_area,
            "organization": self.organization,
            "stage": self.stage.value,
            "high_impact": self.high_impact.value,
            "high_impact_justification": self.high_impact_justification,
            "practices": {
                p.value: self.practices.get(p.value, PracticeStatus.NOT_STARTED.value) for p in Practice
            },
            "involves_pii": self.involves_pii,
            "data_description": self.data_description,
            "developer": self.developer.value,
            "vendor": self.vendor,
            "contact": self.contact,
            "model_ids": list(self.model_ids),
            "dataset_ids": list(self.dataset_ids),
            "gaps": self.gaps(),
        }


def _enum(kind: type[enum.StrEnum], value: Any, what: str) -> Any:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInputError(f"{what} {value!r} is not allowed", hint=f"use one of: {allowed}") from None


def _text(data: Mapping[str, Any], key: str, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInputError(f"use case field {key!r} must be text, not {type(value).__name__}")
    if required and not value.strip():
        raise InvalidInputError(f"use case field {key!r} is required", hint=f"give a {key}")
    if len(value) > MAX_TEXT:
        raise InvalidInputError(f"use case field {key!r} is {len(value)} characters; the limit is {MAX_TEXT}")
    return value


def _ids(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidInputError(f"use case field {key!r} must be a list of ids")
    return tuple(dict.fromkeys(v.strip() for v in value))


KNOWN_FIELDS = frozenset(UseCase.__dataclass_fields__) | {"gaps"}


def use_case_from_dict(data: Mapping[str, Any]) -> UseCase:
    """Validate a use case given as plain data (a YAML/JSON file, a form, an API body)."""
    if not isinstance(data, Mapping):
        raise InvalidInputError("a use case must be a mapping of fields")
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"unknown use case field(s): {', '.join(unknown)}",
            hint=f"fields: {', '.join(sorted(KNOWN_FIELDS))}",
        )
    practices_in = data.get("practices") or {}
    if not isinstance(practices_in, Mapping):
        raise InvalidInputError("use case field 'practices' must map practice names to statuses")
    practices: dict[str, str] = {}
    for key, status in practices_in.items():
        practice = _enum(Practice, key, "minimum risk practice")
        practices[practice.value] = _enum(PracticeStatus, status, f"status of {practice.value}").value
    pii = data.get("involves_pii", False)
    if not isinstance(pii, bool):
        raise InvalidInputError("use case field 'involves_pii' must be true or false")
    project = data.get("project")
    return UseCase(
        id=_text(data, "id"),
        name=_text(data, "name", required=True).strip(),
        purpose=_text(data, "purpose", required=True),
        stage=_enum(Stage, data.get("stage", Stage.INITIATED.value), "stage"),
        high_impact=_enum(
            HighImpact, data.get("high_impact", HighImpact.UNDETERMINED.value), "high-impact determination"
        ),
        high_impact_justification=_text(data, "high_impact_justification"),
        practices=practices,
        outputs=_text(data, "outputs"),
        topic_area=_text(data, "topic_area"),
        organization=_text(data, "organization"),
        involves_pii=pii,
        data_description=_text(data, "data_description"),
        developer=_enum(Developer, data.get("developer", Developer.IN_HOUSE.value), "developer"),
        vendor=_text(data, "vendor"),
        contact=_text(data, "contact"),
        model_ids=_ids(data, "model_ids"),
        dataset_ids=_ids(data, "dataset_ids"),
        project=None if project in (None, "") else str(project),
    )


def with_id(use_case: UseCase, new_id: str) -> UseCase:
    return replace(use_case, id=new_id)


CSV_COLUMNS = (
    "id",
    "name",
    "project",
    "organization",
    "topic_area",
    "purpose",
    "outputs",
    "stage",
    "high_impact",
    "high_impact_justification",
    *(f"practice_{p.value}" for p in Practice),
    "involves_pii",
    "data_description",
    "developer",
    "vendor",
    "contact",
    "model_ids",
    "dataset_ids",
    "gaps",
)


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet; prefix it so it is shown, not run.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(use_cases: Iterable[UseCase]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for uc in use_cases:
        d = uc.to_dict()
        row: dict[str, Any] = {**d, **{f"practice_{k}": v for k, v in d["practices"].items()}}
        row["model_ids"] = ";".join(d["model_ids"])
        row["dataset_ids"] = ";".join(d["dataset_ids"])
        row["gaps"] = "; ".join(d["gaps"])
        row["involves_pii"] = "yes" if d["involves_pii"] else "no"
        writer.writerow([_csv_safe("" if row[c] is None else str(row[c])) for c in CSV_COLUMNS])
    return out.getvalue()


def to_json(use_cases: Iterable[UseCase]) -> str:
    return orjson.dumps([uc.to_dict() for uc in use_cases], option=orjson.OPT_INDENT_2).decode("utf-8")
