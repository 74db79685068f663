"""Facts given as plain data (``triops policy check --facts``) are validated before any rule sees them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from triops.errors import InvalidInputError
from triops.governance.facts import GateFacts, Interval, facts_from_dict


def test_facts_from_plain_data() -> None:
    facts = facts_from_dict(
        {
            "gate": "deployment",
            "metrics": {"auc": 0.8},
            "intervals": {"auc": [0.7, 0.9], "f1": {"low": 0.5, "high": 0.6}},
            "fairness_gaps": {"dp": 0.02, "eo": 0.04},
            "fairness_gap_upper": {"dp": 0.05, "eo": 0.07},
            "cost_per_1k_predictions": 0.12,
            "approvals": 2,
            "labels": {"team": "benefits"},
        }
    )
    assert facts.intervals == {"auc": Interval(0.7, 0.9), "f1": Interval(0.5, 0.6)}
    assert facts.cost_per_1k_predictions == Decimal("0.12")
    assert facts.fairness_max_gap == 0.04
    assert facts.to_cel()["fairness"]["max_gap_upper"] == 0.07
    assert facts.to_cel()["intervals"]["f1"] == {"low": 0.5, "high": 0.6}


def test_no_fairness_gaps_means_max_gap_is_unknown() -> None:
    assert GateFacts(gate="deployment").fairness_max_gap is None
    assert GateFacts(gate="deployment").to_cel()["fairness"]["max_gap"] is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "mapping"),
        ({"metrics": {}}, "need a 'gate'"),
        ({"gate": "deployment", "weather": "sunny"}, "unknown fact"),
        ({"gate": "deployment", "metrics": {"auc": "high"}}, "metrics.auc must be a number"),
        ({"gate": "deployment", "metrics": {"auc": True}}, "metrics.auc must be a number"),
        ({"gate": "deployment", "intervals": {"auc": [0.1]}}, "interval 'auc'"),
        ({"gate": "deployment", "approvals": -1}, "approvals"),
        ({"gate": "deployment", "change": "production"}, "change must be a mapping"),
        ({"gate": "deployment", "data_quality_score": "good"}, "data_quality_score"),
        ({"gate": "deployment", "fairness_gap_upper": {"dp": "x"}}, "fairness_gap_upper.dp"),
    ],
)
def test_bad_facts_are_refused_naming_the_fact(data: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        facts_from_dict(data)
