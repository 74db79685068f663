"""The use-case inventory (OMB M-25-21 fields, gaps, CSV/JSON export) and the framework evidence maps."""

from __future__ import annotations

import csv
import io
import json

import pytest

from triops.errors import InvalidInputError
from triops.governance.frameworks import EU_AI_ACT, EVIDENCE_KINDS, NIST_AI_RMF, Evidence, assess
from triops.governance.inventory import (
    CSV_COLUMNS,
    HighImpact,
    Practice,
    Stage,
    to_csv,
    to_json,
    use_case_from_dict,
)

BENEFITS = {
    "name": "UI take-up outreach",
    "purpose": "rank displaced workers for outreach about unemployment insurance",
    "stage": "operation-and-maintenance",
    "high_impact": "high-impact",
    "practices": {p.value: "implemented" for p in Practice},
    "involves_pii": True,
    "developer": "in-house",
    "model_ids": ["mv-1", "mv-1", "mv-2"],
    "dataset_ids": "ds-1",
}


def test_use_case_carries_the_inventory_fields() -> None:
    uc = use_case_from_dict(BENEFITS)
    assert uc.stage is Stage.OPERATION
    assert uc.high_impact is HighImpact.YES
    assert uc.model_ids == ("mv-1", "mv-2")
    assert uc.dataset_ids == ("ds-1",)
    assert uc.gaps() == []
    assert set(uc.to_dict()["practices"]) == {p.value for p in Practice}


def test_high_impact_use_in_service_lists_missing_minimum_practices() -> None:
    uc = use_case_from_dict({**BENEFITS, "practices": {"pre_deployment_testing": "implemented"}})
    gaps = uc.gaps()
    assert len(gaps) == 5
    assert any("remedy_appeal is not-started" in g for g in gaps)


def test_waived_practices_are_not_gaps_and_undetermined_use_is() -> None:
    waived = use_case_from_dict({**BENEFITS, "practices": {p.value: "waived" for p in Practice}})
    assert waived.gaps() == []
    undetermined = use_case_from_dict({**BENEFITS, "high_impact": "undetermined"})
    assert "determination not made" in undetermined.gaps()[0]
    presumed = use_case_from_dict({**BENEFITS, "high_impact": "presumed-high-impact-but-determined-not"})
    assert "lacks a justification" in presumed.gaps()[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"purpose": "x"}, "'name' is required"),
        ({"name": "x"}, "'purpose' is required"),
        ({**BENEFITS, "stage": "production"}, "stage 'production' is not allowed"),
        ({**BENEFITS, "high_impact": "maybe"}, "high-impact determination"),
        ({**BENEFITS, "practices": {"vibes_check": "implemented"}}, "minimum risk practice"),
        ({**BENEFITS, "practices": {"remedy_appeal": "sort of"}}, "status of remedy_appeal"),
        ({**BENEFITS, "involves_pii": "yes"}, "true or false"),
        ({**BENEFITS, "model_ids": [1, 2]}, "list of ids"),
        ({**BENEFITS, "colour": "blue"}, "unknown use case field"),
        ({**BENEFITS, "purpose": 42}, "must be text"),
    ],
)
def test_bad_use_cases_are_refused_naming_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        use_case_from_dict(data)


def test_csv_export_has_one_row_per_use_case_and_defuses_formulas() -> None:
    evil = {
        **BENEFITS,
        "name": '=HYPERLINK("http://x")',
        "purpose": "<script>alert('x')</script>, \"quoted\"",
    }
    text = to_csv([use_case_from_dict(BENEFITS), use_case_from_dict(evil)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["practice_remedy_appeal"] == "implemented"
    assert rows[0]["model_ids"] == "mv-1;mv-2"
    assert rows[1]["name"].startswith("'=")
    assert rows[1]["purpose"] == "<script>alert('x')</script>, \"quoted\""


def test_json_export_round_trips_through_the_validator() -> None:
    data = json.loads(to_json([use_case_from_dict(BENEFITS)]))
    assert use_case_from_dict(data[0]) == use_case_from_dict(BENEFITS)


# ------------------------------------------------------------------------------------------ frameworks


def test_every_framework_item_names_known_evidence_kinds() -> None:
    for item in (*NIST_AI_RMF, *EU_AI_ACT):
        assert item.kinds or item.statement, item.id  # evidence the store shows, or a human statement
        assert set(item.kinds) <= set(EVIDENCE_KINDS), item.id
    eu_ids = {i.id for i in EU_AI_ACT}
    assert {"Art. 9", "Art. 10", "Art. 11", "Art. 12", "Art. 13", "Art. 14", "Art. 15", "Art. 72"} <= eu_ids
    assert any(i.startswith("Annex IV") for i in eu_ids)
    assert {i.id.split()[0] for i in NIST_AI_RMF} == {"GOVERN", "MAP", "MEASURE", "MANAGE"}


def test_empty_store_has_everything_missing() -> None:
    report = assess("eu-ai-act", {})
    statement_only = [i.id for i in EU_AI_ACT if not i.kinds]
    assert statement_only == ["Annex IV(7)", "Annex IV(8)"]  # documents triops does not hold
    assert report.count("missing") == len(EU_AI_ACT) - 2
    assert report.count("needs-statement") == 2
    assert report.items[0].missing == ("policy", "gate_evaluation", "impact_assessment", "evaluation")


def test_evidence_marks_items_present_or_partial_with_links() -> None:
    evidence = {
        "audit_log": [Evidence("audit_log", "120 events", "/audit")],
        "audit_checkpoint": [Evidence("audit_checkpoint", "cp 100", "/audit/checkpoints/100")],
        "prediction_log": [Evidence("prediction_log", "preds", "/predictions")],
        "fairness": [Evidence("fairness", f"report {i}", f"/fairness/{i}") for i in range(9)],
    }
    report = {i.id: i for i in assess("eu-ai-act", evidence).items}
    art12 = report["Art. 12"]
    assert art12.status == "present"
    assert [e.link for e in art12.evidence] == ["/audit", "/audit/checkpoints/100", "/predictions"]
    assert report["Art. 10"].status == "partial"
    nist = {i.id: i for i in assess("nist-ai-rmf", evidence).items}
    assert nist["MEASURE 2.11"].status == "present"
    assert len(nist["MEASURE 2.11"].evidence) == 5  # links are capped per kind
    assert assess("nist-ai-rmf", evidence).to_dict()["summary"]["present"] >= 1


def test_unknown_framework_or_evidence_kind_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown framework"):
        assess("iso-42001", {})
    with pytest.raises(InvalidInputError, match="unknown evidence kind"):
        assess("eu-ai-act", {"vibes": [Evidence("vibes", "x", "/")]})
