"""The framework items and the evidence kinds they need: all 72 NIST AI RMF 1.0 subcategories (NIST AI 100-1,
Tables 1–4: GOVERN 1.1–6.2, MAP 1.1–5.2, MEASURE 1.1–4.3, MANAGE 1.1–4.3) and the EU AI Act obligations for
high-risk systems (Art. 9–15, Annex IV points 1–9, Art. 72).

An item names the evidence kinds the store can show for it and, where the outcome is about the organisation
(training, leadership, risk tolerance …) rather than a record triops keeps, the human statement it needs
(``statement``: what the statement should say). Titles are short summaries of the official text, for
orientation; the identifiers are the official ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# kind → (pillar, what it is)
EVIDENCE: Mapping[str, tuple[str, str]] = {
    "data_contract": ("dataops", "dataset versions checked against a data contract"),
    "data_quality": ("dataops", "quality results of dataset versions and contract gates of pipeline runs"),
    "dataset_version": ("dataops", "versioned datasets"),
    "lineage": ("dataops", "lineage of pipeline runs (inputs, outputs) and of models to their training data"),
    "run_tracking": ("mlops", "tracked runs (params, metrics, artifacts)"),
    "model_version": ("mlops", "registered model versions with stages"),
    "evaluation": ("mlops", "model evaluations with confidence intervals"),
    "fairness": ("mlops", "fairness reports across groups"),
    "model_card": ("mlops", "model cards"),
    "monitoring": ("mlops", "production monitors of model versions"),
    "monitor_window": ("mlops", "evaluated monitoring windows (drift, performance, quality)"),
    "alert": ("mlops", "alerts raised by monitors"),
    "prediction_log": ("mlops", "logged predictions"),
    "cost": ("finops", "priced cost records"),
    "budget": ("finops", "budgets with thresholds"),
    "usage": ("finops", "metered resource usage (CPU, memory, GPU hours as energy proxies)"),
    "policy": ("governance", "policy files bound to gates"),
    "gate_evaluation": ("governance", "recorded gate evaluations (rules, reasons, facts)"),
    "approval": ("governance", "approval decisions with justifications"),
    "role_binding": ("governance", "project role bindings"),
    "audit_log": ("governance", "hash-chained audit events"),
    "audit_checkpoint": ("governance", "signed audit checkpoints"),
    "audit_verified": ("governance", "the audit chain and its signed checkpoints verify"),
    "inventory": ("governance", "AI use-case inventory entries"),
    "impact_assessment": ("governance", "use cases with an impact assessment done"),
    "independent_review": ("governance", "use cases with an independent review done"),
    "human_oversight": ("governance", "use cases with human oversight in place"),
    "remedy_appeal": ("governance", "use cases with a remedy or appeal process"),
    "statement": ("governance", "a human statement recorded for the item (audited)"),
}
EVIDENCE_KINDS: Mapping[str, str] = {kind: what for kind, (_, what) in EVIDENCE.items()}
PILLARS: Mapping[str, tuple[str, ...]] = {
    pillar: tuple(k for k, (p, _) in EVIDENCE.items() if p == pillar)
    for pillar in ("dataops", "mlops", "finops", "governance")
}


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    title: str
    kinds: tuple[str, ...]
    statement: str | None = None  # what a human statement must say, when the store cannot show it


def _i(id_: str, title: str, *kinds: str, statement: str | None = None) -> Item:
    return Item(id_, title, kinds, statement)


def _s(id_: str, title: str, statement: str) -> Item:
    return Item(id_, title, (), statement)


# fmt: off
NIST_AI_RMF: tuple[Item, ...] = (
    # GOVERN 1: policies, processes, procedures and practices
    _i("GOVERN 1.1", "legal and regulatory requirements on AI are understood, managed, documented", "policy",
       "inventory", statement="which laws and regulations apply to the AI systems and who tracks them"),
    _i("GOVERN 1.2", "trustworthy-AI characteristics are built into policies and practices", "policy",
       "gate_evaluation"),
    _s("GOVERN 1.3", "the level of risk management follows the organisation's risk tolerance",
       "how the risk tolerance sets the depth of review per system"),
    _i("GOVERN 1.4", "risk management is set out in transparent policies, procedures and controls", "policy",
       "gate_evaluation", "approval"),
    _i("GOVERN 1.5", "ongoing monitoring and periodic review are planned; roles are defined", "monitoring",
       "monitor_window", "role_binding"),
    _i("GOVERN 1.6", "mechanisms are in place to inventory AI systems", "inventory"),
    _i("GOVERN 1.7", "AI systems are decommissioned and phased out safely", "model_version", "audit_log",
       statement="the decommissioning procedure and who signs it off"),
    # GOVERN 2: accountability structures
    _i("GOVERN 2.1", "roles, responsibilities and lines of communication are documented", "role_binding"),
    _s("GOVERN 2.2", "personnel and partners receive AI risk management training",
       "who is trained on AI risk, in what, and how often"),
    _s("GOVERN 2.3", "executive leadership takes responsibility for AI risk decisions",
       "which executive is accountable for AI risk decisions"),
    # GOVERN 3: workforce diversity, equity, inclusion and accessibility
    _s("GOVERN 3.1", "decisions on AI risk are informed by a diverse team",
       "the make-up of the teams that map, measure and manage AI risk"),
    _i("GOVERN 3.2", "roles for human-AI configurations and oversight are defined", "role_binding",
       "human_oversight"),
    # GOVERN 4: a culture that considers and communicates AI risk
    _s("GOVERN 4.1", "policies foster critical thinking and a safety-first mindset",
       "how teams are expected to challenge designs and raise safety concerns"),
    _i("GOVERN 4.2", "risks and potential impacts of the AI technology are documented", "impact_assessment",
       "model_card"),
    _i("GOVERN 4.3", "practices enable AI testing, incident identification and information sharing",
       "evaluation", "alert", "audit_log"),
    # GOVERN 5: engagement with relevant AI actors
    _i("GOVERN 5.1", "feedback from people outside the team is collected and integrated", "remedy_appeal",
       statement="how feedback from affected people and outside experts is gathered and weighed"),
    _i("GOVERN 5.2", "adjudicated feedback from AI actors is fed back into the system", "alert",
       statement="how adjudicated feedback reaches design and retraining decisions"),
    # GOVERN 6: third-party software, data and supply chain
    _i("GOVERN 6.1", "policies address risks of third-party entities (vendors, data, software, IP)",
       "inventory", "lineage", statement="how third-party data, models and software are vetted, incl. IP"),
    _s("GOVERN 6.2", "contingency processes handle failures of high-risk third-party data or AI",
       "the contingency plan when a third-party data source or model fails"),
    # MAP 1: context
    _i("MAP 1.1", "intended purposes, context and settings of deployment are documented", "inventory",
       "model_card"),
    _s("MAP 1.2", "interdisciplinary actors establish the context and their participation is documented",
       "who took part in establishing the context (disciplines, domain and user expertise)"),
    _s("MAP 1.3", "the organisation's mission and goals for AI are documented",
       "the mission and goals the AI systems serve"),
    _i("MAP 1.4", "the business value or context of use is defined or re-evaluated", "inventory"),
    _i("MAP 1.5", "organisational risk tolerances are determined and documented", "policy", "budget",
       statement="the risk tolerances the policies and budgets encode"),
    _i("MAP 1.6", "system requirements are elicited and socio-technical implications considered",
       "data_contract", "policy"),
    # MAP 2: categorisation
    _i("MAP 2.1", "the tasks and methods the AI system implements are defined", "model_card", "model_version"),
    _i("MAP 2.2", "knowledge limits and human oversight of outputs are documented", "model_card",
       "human_oversight"),
    _i("MAP 2.3", "TEVV considerations, incl. data collection and selection, are documented",
       "data_contract", "dataset_version", "evaluation"),
    # MAP 3: capabilities, benefits and costs
    _i("MAP 3.1", "potential benefits of the intended functionality are examined and documented",
       "inventory", "evaluation"),
    _i("MAP 3.2", "potential costs, incl. non-monetary costs of errors, are examined", "cost", "evaluation"),
    _i("MAP 3.3", "the targeted application scope is specified and documented", "inventory", "model_card"),
    _s("MAP 3.4", "operator proficiency and relevant standards and certifications are defined",
       "how operators are qualified and which standards or certifications apply"),
    _i("MAP 3.5", "processes for human oversight are defined, assessed and documented", "human_oversight",
       "approval"),
    # MAP 4: risks and benefits of all components
    _i("MAP 4.1", "legal and technology risks of components, incl. third-party data and software, are mapped",
       "lineage", "inventory"),
    _i("MAP 4.2", "internal risk controls for components are identified and documented", "policy",
       "gate_evaluation", "data_contract"),
    # MAP 5: impacts
    _i("MAP 5.1", "likelihood and magnitude of each identified impact are documented", "impact_assessment"),
    _i("MAP 5.2", "regular engagement with AI actors and integration of impact feedback are in place",
       "remedy_appeal", statement="how and how often affected people and AI actors are engaged"),
    # MEASURE 1: methods and metrics
    _i("MEASURE 1.1", "approaches and metrics for the most significant risks are selected", "evaluation",
       "policy"),
    _i("MEASURE 1.2", "metrics and controls are regularly assessed and updated", "monitor_window",
       "gate_evaluation"),
    _i("MEASURE 1.3", "independent assessors, not front-line developers, take part in assessments",
       "approval", "independent_review"),
    # MEASURE 2: evaluation for trustworthy characteristics
    _i("MEASURE 2.1", "test sets, metrics and TEVV tools are documented", "evaluation", "dataset_version"),
    _s("MEASURE 2.2", "evaluations involving human subjects meet requirements and are representative",
       "whether human subjects are involved and how they are protected"),
    _i("MEASURE 2.3", "performance is measured for conditions like the deployment setting", "evaluation"),
    _i("MEASURE 2.4", "functionality and behaviour are monitored in production", "monitoring",
       "prediction_log"),
    _i("MEASURE 2.5", "the system is shown valid and reliable; limits of generalisation documented",
       "evaluation", "model_card"),
    _i("MEASURE 2.6", "the system is evaluated for safety and can fail safely", "evaluation", "monitoring",
       "alert"),
    _i("MEASURE 2.7", "security and resilience are evaluated and documented", "audit_verified",
       "role_binding", statement="the security testing done and its findings"),
    _i("MEASURE 2.8", "transparency and accountability risks are examined and documented", "audit_log",
       "model_card"),
    _i("MEASURE 2.9", "the model is explained, validated and documented; outputs interpreted in context",
       "model_card", "evaluation"),
    _i("MEASURE 2.10", "privacy risk is examined and documented", "data_contract", "inventory"),
    _i("MEASURE 2.11", "fairness and bias are evaluated and results documented", "fairness"),
    _i("MEASURE 2.12", "environmental impact of training and management is assessed", "usage"),
    _s("MEASURE 2.13", "the effectiveness of the TEVV metrics and processes is evaluated",
       "how the evaluation metrics and processes were themselves reviewed"),
    # MEASURE 3: tracking risks over time
    _i("MEASURE 3.1", "existing, unanticipated and emergent risks are tracked in deployment", "monitoring",
       "alert"),
    _s("MEASURE 3.2", "risk tracking is considered where risks are hard to measure",
       "the risks no metric covers yet and how they are tracked"),
    _i("MEASURE 3.3", "end users can report problems and appeal outcomes", "remedy_appeal"),
    # MEASURE 4: feedback on measurement efficacy
    _s("MEASURE 4.1", "measurement approaches fit the deployment context, with domain experts consulted",
       "which domain experts and users shaped the measurement approach"),
    _i("MEASURE 4.2", "trustworthiness results in deployment are validated with domain experts",
       "monitor_window", statement="the expert review of the results in deployment"),
    _i("MEASURE 4.3", "performance improvements or declines in the field are identified and documented",
       "monitor_window", "alert"),
    # MANAGE 1: risks prioritised and acted upon
    _i("MANAGE 1.1", "a determination is made whether development or deployment should proceed",
       "gate_evaluation", "approval"),
    _s("MANAGE 1.2", "treatment of documented risks is prioritised by impact, likelihood and resources",
       "how the documented risks are ranked for treatment"),
    _s("MANAGE 1.3", "responses to high-priority risks are developed, planned and documented",
       "the response (mitigate, transfer, avoid, accept) chosen for each high-priority risk"),
    _i("MANAGE 1.4", "negative residual risks to acquirers and end users are documented", "model_card",
       statement="the residual risks left after treatment"),
    # MANAGE 2: maximising benefits, minimising negative impacts
    _i("MANAGE 2.1", "resources required to manage AI risks are taken into account", "cost", "budget"),
    _i("MANAGE 2.2", "mechanisms sustain the value of deployed AI systems", "monitoring", "cost"),
    _i("MANAGE 2.3", "procedures respond to and recover from newly identified risks", "alert",
       statement="the procedure followed when a previously unknown risk appears"),
    _i("MANAGE 2.4", "mechanisms exist to supersede, disengage or deactivate AI systems", "model_version",
       "audit_log"),
    # MANAGE 3: third-party risks
    _i("MANAGE 3.1", "risks and benefits from third-party resources are monitored and controlled", "lineage",
       statement="how third-party resources are monitored and which controls apply"),
    _i("MANAGE 3.2", "pre-trained models used in development are monitored", "model_version", "monitoring"),
    # MANAGE 4: risk treatment, response, recovery and communication
    _i("MANAGE 4.1", "post-deployment monitoring, appeal, override and change management are implemented",
       "monitoring", "audit_log", "remedy_appeal"),
    _i("MANAGE 4.2", "measurable continual improvement is built into system updates", "monitor_window",
       "model_version"),
    _i("MANAGE 4.3", "incidents and errors are communicated, tracked and recovered from", "alert",
       statement="how incidents are communicated to affected people and AI actors"),
)

EU_AI_ACT: tuple[Item, ...] = (
    _i("Art. 9", "risk management system", "policy", "gate_evaluation", "impact_assessment", "evaluation"),
    _i("Art. 10", "data and data governance (quality, relevance, bias examination)", "data_contract",
       "data_quality", "dataset_version", "lineage", "fairness"),
    _i("Art. 11", "technical documentation drawn up before placing on the market", "model_card",
       "model_version", "run_tracking"),
    _i("Annex IV(1)", "general description of the AI system", "inventory", "model_card"),
    _i("Annex IV(2)", "elements and development process: data, training, validation and testing",
       "run_tracking", "dataset_version", "evaluation", "lineage"),
    _i("Annex IV(3)", "monitoring, functioning and control: capabilities, limits, oversight", "model_card",
       "human_oversight", "fairness"),
    _i("Annex IV(4)", "appropriateness of the performance metrics", "evaluation"),
    _i("Annex IV(5)", "description of the risk management system", "policy", "impact_assessment"),
    _i("Annex IV(6)", "relevant changes made through the lifecycle", "audit_log", "model_version"),
    _s("Annex IV(7)", "harmonised standards or other specifications applied",
       "the harmonised standards or specifications applied (a reference to the document)"),
    _s("Annex IV(8)", "copy of the EU declaration of conformity",
       "where the signed EU declaration of conformity is kept (a reference to the document)"),
    _i("Annex IV(9)", "system to evaluate performance after placing on the market (Art. 72 plan)",
       "monitoring", "monitor_window"),
    _i("Art. 12", "record-keeping: automatic logging of events over the lifetime", "audit_log",
       "audit_checkpoint", "prediction_log"),
    _i("Art. 13", "transparency and information to deployers (instructions for use)", "model_card"),
    _i("Art. 14", "human oversight", "human_oversight", "approval", "role_binding"),
    _i("Art. 15", "accuracy, robustness and cybersecurity", "evaluation", "monitoring", "role_binding"),
    _i("Art. 72", "post-market monitoring by providers and a monitoring plan", "monitoring",
       "prediction_log"),
)
# fmt: on

__all__ = ["EU_AI_ACT", "EVIDENCE", "EVIDENCE_KINDS", "NIST_AI_RMF", "PILLARS", "Item"]
