"""Framework evidence maps: NIST AI RMF 1.0 subcategories and EU AI Act obligations → evidence kinds.

``assess(framework, evidence)`` is pure: ``evidence`` maps an evidence kind (see ``EVIDENCE_KINDS``) to the
items of that kind found in the store, each with a link. Each framework item is *present* when every kind
it needs has at least one item, *partial* when some have, *missing* when none has. Titles are short
summaries of the official text, for orientation; the identifiers are the official ones.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from triops.errors import InvalidInputError

EVIDENCE_KINDS: Mapping[str, str] = {
    "policy": "policy files bound to gates",
    "gate_evaluation": "recorded gate evaluations (rules, reasons, facts)",
    "approval": "approval decisions with justifications",
    "role_binding": "project role bindings",
    "audit_log": "hash-chained audit events",
    "audit_checkpoint": "signed audit checkpoints",
    "inventory": "AI use-case inventory entries",
    "impact_assessment": "use cases with an impact assessment done",
    "independent_review": "use cases with an independent review done",
    "human_oversight": "use cases with human oversight in place",
    "remedy_appeal": "use cases with a remedy or appeal process",
    "model_card": "model cards",
    "model_version": "registered model versions with stages",
    "run_tracking": "tracked training runs (params, metrics, artifacts)",
    "evaluation": "model evaluations with confidence intervals",
    "fairness": "fairness reports across groups",
    "data_contract": "data contracts checked at ingestion",
    "data_quality": "data quality results",
    "dataset_version": "versioned datasets",
    "lineage": "lineage between datasets, runs and models",
    "monitoring": "production monitoring and drift reports",
    "prediction_log": "logged predictions",
    "cost": "priced cost records",
    "budget": "budgets with thresholds",
    "usage": "metered resource usage (CPU, memory, energy proxies)",
    "standards_statement": "a statement of harmonised standards applied (kept outside triops)",
    "declaration_of_conformity": "an EU declaration of conformity (kept outside triops)",
}


class Framework(enum.StrEnum):
    NIST_AI_RMF = "nist-ai-rmf"
    EU_AI_ACT = "eu-ai-act"


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    title: str
    kinds: tuple[str, ...]


def _i(id_: str, title: str, *kinds: str) -> Item:
    return Item(id_, title, kinds)


NIST_AI_RMF: tuple[Item, ...] = (
    _i(
        "GOVERN 1.1",
        "legal and regulatory requirements involving AI are understood, managed and documented",
        "policy",
        "inventory",
    ),
    _i("GOVERN 1.2", "trustworthy AI characteristics are built into policies and practices", "policy"),
    _i(
        "GOVERN 1.4",
        "risk management is set out in transparent policies, procedures and controls",
        "policy",
        "gate_evaluation",
    ),
    _i(
        "GOVERN 1.5",
        "ongoing monitoring and periodic review are planned; roles are defined",
        "monitoring",
        "role_binding",
    ),
    _i("GOVERN 1.6", "mechanisms are in place to inventory AI systems", "inventory"),
    _i("GOVERN 2.1", "roles, responsibilities and lines of communication are documented", "role_binding"),
    _i(
        "GOVERN 3.2",
        "roles for human-AI configurations and oversight are defined",
        "role_binding",
        "human_oversight",
    ),
    _i(
        "GOVERN 4.2",
        "risks and potential impacts of the AI technology are documented",
        "impact_assessment",
        "model_card",
    ),
    _i(
        "GOVERN 4.3",
        "practices enable AI testing, incident identification and information sharing",
        "evaluation",
        "audit_log",
    ),
    _i(
        "GOVERN 6.1",
        "policies address risks of third-party entities (vendors, data, software)",
        "inventory",
        "lineage",
    ),
    _i(
        "MAP 1.1",
        "intended purposes, context and settings of deployment are documented",
        "inventory",
        "model_card",
    ),
    _i(
        "MAP 2.1", "the tasks and methods the AI system implements are defined", "model_card", "model_version"
    ),
    _i(
        "MAP 2.2",
        "knowledge limits and how outputs are overseen by humans are documented",
        "model_card",
        "human_oversight",
    ),
    _i(
        "MAP 2.3",
        "TEVV considerations, incl. data collection and selection, are documented",
        "data_contract",
        "dataset_version",
        "evaluation",
    ),
    _i(
        "MAP 3.5",
        "processes for human oversight are defined, assessed and documented",
        "human_oversight",
        "approval",
    ),
    _i(
        "MAP 4.1",
        "legal risks of components, incl. third-party data and software, are mapped",
        "lineage",
        "inventory",
    ),
    _i("MAP 5.1", "likelihood and magnitude of each identified impact are documented", "impact_assessment"),
    _i(
        "MEASURE 1.1",
        "approaches and metrics for the most significant risks are selected",
        "evaluation",
        "policy",
    ),
    _i(
        "MEASURE 1.3",
        "independent assessors, not front-line developers, take part in assessments",
        "approval",
        "independent_review",
    ),
    _i("MEASURE 2.1", "test sets, metrics and TEVV tools are documented", "evaluation", "dataset_version"),
    _i("MEASURE 2.3", "performance is measured for conditions like the deployment setting", "evaluation"),
    _i(
        "MEASURE 2.4",
        "functionality and behaviour are monitored in production",
        "monitoring",
        "prediction_log",
    ),
    _i(
        "MEASURE 2.5",
        "the system is shown valid and reliable; limits of generalisation documented",
        "evaluation",
        "model_card",
    ),
    _i(
        "MEASURE 2.8",
        "transparency and accountability risks are examined and documented",
        "audit_log",
        "model_card",
    ),
    _i("MEASURE 2.10", "privacy risk is examined and documented", "data_contract", "inventory"),
    _i("MEASURE 2.11", "fairness and bias are evaluated and results documented", "fairness"),
    _i("MEASURE 2.12", "environmental impact of training and management is assessed", "usage"),
    _i("MEASURE 3.1", "existing, unanticipated and emergent risks are tracked in deployment", "monitoring"),
    _i("MEASURE 3.3", "end users can report problems and appeal outcomes", "remedy_appeal"),
    _i(
        "MANAGE 1.1",
        "a determination is made whether development or deployment should proceed",
        "gate_evaluation",
        "approval",
    ),
    _i("MANAGE 2.1", "resources required to manage AI risks are taken into account", "cost", "budget"),
    _i("MANAGE 2.2", "mechanisms sustain the value of deployed AI systems", "monitoring", "cost"),
    _i(
        "MANAGE 2.4",
        "mechanisms exist to supersede, disengage or deactivate AI systems",
        "model_version",
        "audit_log",
    ),
    _i(
        "MANAGE 4.1",
        "post-deployment monitoring, appeal, override and change management are implemented",
        "monitoring",
        "audit_log",
        "remedy_appeal",
    ),
)

EU_AI_ACT: tuple[Item, ...] = (
    _i("Art. 9", "risk management system", "policy", "gate_evaluation", "impact_assessment", "evaluation"),
    _i(
        "Art. 10",
        "data and data governance (quality, relevance, bias examination)",
        "data_contract",
        "data_quality",
        "dataset_version",
        "lineage",
        "fairness",
    ),
    _i(
        "Art. 11",
        "technical documentation drawn up before placing on the market",
        "model_card",
        "model_version",
        "run_tracking",
    ),
    _i("Annex IV(1)", "general description of the AI system", "inventory", "model_card"),
    _i(
        "Annex IV(2)",
        "elements and development process: data, training, validation and testing",
        "run_tracking",
        "dataset_version",
        "evaluation",
        "lineage",
    ),
    _i(
        "Annex IV(3)",
        "monitoring, functioning and control: capabilities, limits, oversight",
        "model_card",
        "human_oversight",
        "fairness",
    ),
    _i("Annex IV(4)", "appropriateness of the performance metrics", "evaluation"),
    _i("Annex IV(5)", "description of the risk management system", "policy", "impact_assessment"),
    _i("Annex IV(6)", "relevant changes made through the lifecycle", "audit_log", "model_version"),
    _i("Annex IV(7)", "harmonised standards or other specifications applied", "standards_statement"),
    _i("Annex IV(8)", "copy of the EU declaration of conformity", "declaration_of_conformity"),
    _i(
        "Annex IV(9)",
        "system to evaluate performance after placing on the market (Art. 72 plan)",
        "monitoring",
    ),
    _i(
        "Art. 12",
        "record-keeping: automatic logging of events over the lifetime",
        "audit_log",
        "audit_checkpoint",
        "prediction_log",
    ),
    _i("Art. 13", "transparency and information to deployers (instructions for use)", "model_card"),
    _i("Art. 14", "human oversight", "human_oversight", "approval", "role_binding"),
    _i("Art. 15", "accuracy, robustness and cybersecurity", "evaluation", "monitoring", "role_binding"),
    _i(
        "Art. 72", "post-market monitoring by providers and a monitoring plan", "monitoring", "prediction_log"
    ),
)

FRAMEWORKS: Mapping[Framework, tuple[Item, ...]] = {
    Framework.NIST_AI_RMF: NIST_AI_RMF,
    Framework.EU_AI_ACT: EU_AI_ACT,
}


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str
    label: str
    link: str


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    title: str
    status: str  # present | partial | missing
    evidence: tuple[Evidence, ...]
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "evidence": [{"kind": e.kind, "label": e.label, "link": e.link} for e in self.evidence],
            "missing": [{"kind": k, "what": EVIDENCE_KINDS[k]} for k in self.missing],
        }


@dataclass(frozen=True, slots=True)
class FrameworkReport:
    framework: str
    items: tuple[ItemResult, ...]

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "summary": {s: self.count(s) for s in ("present", "partial", "missing")},
            "items": [i.to_dict() for i in self.items],
        }


def parse_framework(value: str) -> Framework:
    try:
        return Framework(value)
    except ValueError:
        raise InvalidInputError(
            f"unknown framework {value!r}", hint=f"frameworks are {', '.join(f.value for f in Framework)}"
        ) from None


MAX_LINKS_PER_KIND = 5


def assess(framework: Framework | str, evidence: Mapping[str, Sequence[Evidence]]) -> FrameworkReport:
    """For each item of ``framework``: the evidence present (up to 5 links a kind) and the kinds missing."""
    unknown = sorted(set(evidence) - set(EVIDENCE_KINDS))
    if unknown:
        raise InvalidInputError(f"unknown evidence kind(s): {', '.join(unknown)}", hint="see EVIDENCE_KINDS")
    fw = parse_framework(str(framework))
    results: list[ItemResult] = []
    for item in FRAMEWORKS[fw]:
        found: list[Evidence] = []
        missing: list[str] = []
        for kind in item.kinds:
            items = list(evidence.get(kind, ()))
            if items:
                found.extend(items[:MAX_LINKS_PER_KIND])
            else:
                missing.append(kind)
        status = "present" if not missing else ("missing" if len(missing) == len(item.kinds) else "partial")
        results.append(ItemResult(item.id, item.title, status, tuple(found), tuple(missing)))
    return FrameworkReport(fw.value, tuple(results))
