"""KPI definitions: the defaults, a kpis.toml adding and overriding KPIs per project, and its errors."""

from __future__ import annotations

import pytest

from triops.errors import InvalidInputError
from triops.kpis.definitions import DEFAULT_KPIS, load_definitions

ISSUE_DEFAULTS = {
    "data quality score",
    "contract pass rate",
    "model performance",
    "largest fairness gap",
    "open drift alerts",
    "lead time data to production",
    "cost per run",
    "cost per 1,000 predictions",
    "budget burn",
    "cost per quality point",
    "audit verified",
    "pending approvals",
}


def test_the_defaults_cover_the_kpis_the_scorecard_promises() -> None:
    assert {d.name for d in DEFAULT_KPIS} == ISSUE_DEFAULTS
    assert {d.pillar for d in DEFAULT_KPIS} >= {"dataops", "mlops", "finops", "governance"}


def test_a_project_section_overrides_a_default_and_adds_its_own() -> None:
    text = """
[[kpi]]
name = "runs per dataset"
pillar = "mlops"
formula = "cost.runs / contracts.checked"
target = 3
owner = "lead"

[[project.churn.kpi]]
name = "model performance"
target = 0.8

[[project.churn.kpi]]
name = "churn only"
formula = "quality.score"
direction = "higher"
"""
    churn = {d.name: d for d in load_definitions(text, "churn")}
    other = {d.name: d for d in load_definitions(text, "other")}
    assert churn["model performance"].target == 0.8
    assert churn["model performance"].formula.text == "model.performance"  # kept from the default
    assert other["model performance"].target is None
    assert "churn only" in churn and "churn only" not in other
    assert churn["runs per dataset"].owner == "lead"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[[kpi]]\nname = 'x'\nformula = 'a'\ncolour = 'red'\n", "colour"),
        ("[[kpi]]\nname = 'x'\nformula = 'a'\npillar = 'sales'\n", "sales"),
        ("[[kpi]]\nname = 'x'\nformula = 'a'\ndirection = 'up'\n", "direction"),
        ("[[kpi]]\nname = 'x'\nformula = 'a'\ntarget = 'high'\n", "target"),
        ("[[kpi]]\nname = 'new'\n", "formula"),
        ("[[kpi]]\nformula = 'a'\n", "name"),
        ("[[kpi]]\nname = 'x'\nformula = 'a ** 2'\n", "kpi[0] (x) formula"),
        ("kpis = 1\n", "kpis"),
        ("[[kpi]\n", "TOML"),
    ],
)
def test_a_bad_file_is_an_error_naming_the_entry_and_key(text: str, named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_definitions(text, "p")
    assert named in str(caught.value)
