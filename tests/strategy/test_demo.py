"""The demo's strategy summary: evidence-based assessment and the first roadmap actions."""

from __future__ import annotations

import io

from rich.console import Console

from triops.cli.strategy import print_demo_summary
from triops.domain.clock import FixedClock
from triops.strategy.demo import demo_summary
from triops.strategy.maturity import StoreEvidence

DEMO_EVIDENCE = StoreEvidence(
    runs_tracked=12,
    runs_tracked_logged=12,
    pipelines=1,
    pipelines_always_gated=1,
    pipeline_runs=3,
    pipeline_runs_gated=3,
    pipeline_runs_costed=3,
    dataset_versions=2,
    costs_metered=40,
    projects=1,
    projects_with_budget=1,
    approval_requests=1,
    audit_events=10,
    audit_verified=True,
    model_versions=2,
    model_cards=1,
)


def test_demo_summary_uses_evidence_and_plans_first_actions() -> None:
    summary = demo_summary(DEMO_EVIDENCE, clock=FixedClock())
    assert summary.maturity.dimension("experiment_tracking").source == "evidence"
    assert summary.maturity.dimension("skills").source == "unanswered"
    assert len(summary.first_actions) == 3
    assert summary.first_actions == summary.roadmap.actions[:3]
    assert summary.to_dict()["first_actions"][0] == summary.roadmap.actions[0].id


def test_demo_summary_prints_on_one_screen() -> None:
    buf = io.StringIO()
    print_demo_summary(
        demo_summary(DEMO_EVIDENCE, {"skills": 2}, clock=FixedClock()), Console(file=buf, width=120)
    )
    text = buf.getvalue()
    assert "First roadmap actions" in text
    assert "evidence" in text and "done when:" in text and "check:" in text
    assert len(text.splitlines()) <= 30
