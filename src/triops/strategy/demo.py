"""The strategy part of ``triops demo``: a maturity assessment from the demo's evidence and its roadmap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from triops.domain.clock import Clock
from triops.strategy.maturity import MaturityResult, StoreEvidence, assess
from triops.strategy.roadmap import Action, Roadmap, build_roadmap


@dataclass(frozen=True)
class DemoSummary:
    maturity: MaturityResult
    roadmap: Roadmap
    first_actions: tuple[Action, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "maturity": self.maturity.to_dict(),
            "roadmap": self.roadmap.to_dict(),
            "first_actions": [a.id for a in self.first_actions],
        }


def demo_summary(
    evidence: StoreEvidence,
    answers: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    first: int = 3,
) -> DemoSummary:
    """Assess from store evidence (plus optional self-reported answers) and plan; pure, no I/O."""
    result = assess(answers, evidence, clock=clock)
    plan = build_roadmap(result)
    return DemoSummary(result, plan, plan.actions[:first])
