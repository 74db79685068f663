"""A 30-60-90-day roadmap from a maturity assessment, in the reader's language.

Each action raises one dimension by one level. Candidates are the next level of every dimension whose
prerequisites (named in the maturity model) are met or planned; the one picked next raises a pillar's
floor (its weakest required dimension) if any does, then has the best impact for its effort, both taken
from the model for that very step. An action lands in the first 30-day phase after everything it depends
on (the dimension's previous level, its prerequisites) with room left: at most three actions and
``capacity`` effort points a phase, and never two levels of one dimension in one phase. What does not fit
is listed as "after 90 days". Every action says what the organisation will observe when it is done and,
beside it, how to check: the store figures ``triops assess maturity`` prints, or — where the store cannot
see it — the next self-assessment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from triops.errors import InvalidInputError
from triops.strategy.maturity import MaturityResult
from triops.strategy.maturity_model import MAX_LEVEL, Dimension, MaturityModel, StoreEvidence, load_model

PHASES = (30, 60, 90)
MAX_PER_PHASE = 3
LATER = 5
PILLAR_NAMES = {
    "dataops": "DataOps",
    "mlops": "MLOps",
    "finops": "FinOps",
    "governance": "governance",
    "culture": "culture",
}


@dataclass(frozen=True)
class DoneCriterion:
    kind: Literal["evidence", "assessment"]
    description: str
    check: str
    dimension: str
    level: int

    def is_met(
        self,
        evidence: StoreEvidence | None = None,
        result: MaturityResult | None = None,
        model: MaturityModel | None = None,
    ) -> bool:
        """Met when the store shows the level (kind evidence) or a later assessment reaches it."""
        if self.kind == "evidence" and evidence is not None:
            return (model or load_model()).get(self.dimension).evidence_level(evidence) >= self.level
        return result is not None and result.dimension(self.dimension).claimed >= self.level


@dataclass(frozen=True)
class Action:
    id: str
    dimension: str
    pillar: str
    title: str
    from_level: int
    to_level: int
    phase_days: int
    owner_role: str
    kpi: str
    done: DoneCriterion
    effort: int
    impact: int
    depends_on: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Roadmap:
    assessed_at_ms: int
    actions: tuple[Action, ...]
    later: tuple[Action, ...] = ()
    capacity: int = 8

    def phase(self, days: int) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.phase_days == days)

    def to_dict(self) -> dict[str, Any]:
        def one(a: Action) -> dict[str, Any]:
            return {**asdict(a), "depends_on": list(a.depends_on)}

        return {
            "kind": "triops.roadmap/v2",
            "assessed_at_ms": self.assessed_at_ms,
            "capacity": self.capacity,
            "actions": [one(a) for a in self.actions],
            "later": [one(a) for a in self.later],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roadmap:
        def one(a: Mapping[str, Any]) -> Action:
            return Action(**{**a, "done": DoneCriterion(**a["done"]), "depends_on": tuple(a["depends_on"])})

        try:
            return cls(
                int(data["assessed_at_ms"]),
                tuple(one(a) for a in data["actions"]),
                tuple(one(a) for a in data.get("later", ())),
                int(data.get("capacity", 8)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"not a roadmap ({exc})") from exc

    def to_markdown(self) -> str:
        """A printable plan: phases with numbered actions, then who does what and what comes after."""
        when = datetime.fromtimestamp(self.assessed_at_ms / 1000, UTC).strftime("%Y-%m-%d")
        lines = [
            "# 30-60-90-day roadmap",
            "",
            f"From the maturity assessment of {when}. At most {MAX_PER_PHASE} actions and {self.capacity} "
            "effort points per 30 days; effort and impact are on a scale of 1 (least) to 5 (most).",
            "",
        ]
        if not self.actions:
            lines.append("Every dimension is at the top level; nothing to plan.")
        titles = {a.id: a.title for a in (*self.actions, *self.later)}
        number = 0
        for days in PHASES:
            acts = self.phase(days)
            if not acts:
                continue
            lines += [f"## Days {days - 29}–{days}", ""]
            for a in acts:
                number += 1
                lines += [f"### {number}. {a.title}", ""]
                lines.append(f"- [ ] **Done when:** {a.done.description}")
                lines.append(f"- **Check:** {a.done.check}")
                lines.append(f"- **Owner:** {a.owner_role}")
                lines.append(f"- **Why now:** {a.reason}")
                lines.append(f"- **Effort / impact:** {a.effort} / {a.impact}")
                lines.append(f"- **KPI to watch:** {a.kpi}")
                if a.depends_on:
                    lines.append(f"- **After:** {'; '.join(titles.get(d, d) for d in a.depends_on)}")
                lines.append("")
        if self.actions:
            lines += ["## Who does what", "", "| owner | actions |", "|---|---|"]
            owners: dict[str, list[str]] = {}
            for i, a in enumerate(self.actions, start=1):
                owners.setdefault(a.owner_role, []).append(f"{i}. {a.title}")
            lines += [f"| {owner} | {'<br>'.join(items)} |" for owner, items in owners.items()]
            lines.append("")
        if self.later:
            lines += ["## After 90 days", ""]
            lines += [f"- {a.title} ({a.owner_role})" for a in self.later]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def done_criterion(dim: Dimension, level: int) -> DoneCriterion:
    """What the organisation will observe at ``level``, and how to check it beside."""
    observed = _sentence(dim.criterion(level))
    reason = dim.cannot_show(level)
    if reason is None:
        shown = "; ".join(r.needs() for r in dim.rules_for(level))
        check = f"`triops assess maturity` shows, under {dim.name}: {shown}"
        return DoneCriterion("evidence", observed, check, dim.id, level)
    check = (
        "ask the owner, and record it in the next self-assessment (`triops assess maturity --answers FILE`); "
        f"the store cannot show it: {reason}"
    )
    return DoneCriterion("assessment", observed, check, dim.id, level)


def build_roadmap(
    result: MaturityResult,
    model: MaturityModel | None = None,
    *,
    capacity: int = 8,
) -> Roadmap:
    """Plan actions for 90 days; ``capacity`` is the effort points available per 30-day phase."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 100:
        raise InvalidInputError(f"roadmap capacity = {capacity!r} is outside its range [1, 100]")
    model = model or load_model()
    state = {d.id: 0 for d in model.dimensions}
    for d in result.dimensions:
        if d.dimension in state:
            # a claim beyond what the store can show cannot be contradicted by it: plan from the claim
            beyond = d.claim_above_evidence and d.level >= d.ceiling
            state[d.dimension] = d.claimed if beyond else d.level
    planned: dict[tuple[str, int], Action] = {}
    actions: list[Action] = []
    later: list[Action] = []
    load = {days: [0, 0] for days in PHASES}  # actions, effort points
    blocked: set[str] = set()

    def floor(pillar: str) -> int:
        return min(state[d.id] for d in model.dimensions if d.pillar == pillar and d.required)

    def prerequisites(dim: Dimension, target: int) -> list[Action] | None:
        """The planned actions this step waits for; None when a prerequisite is neither met nor planned."""
        needed = [planned[(dim.id, target - 1)]] if (dim.id, target - 1) in planned else []
        for req in dim.requires:
            if req.at != target:
                continue
            if state[req.dimension] < req.level:
                return None
            if (req.dimension, req.level) in planned:
                needed.append(planned[(req.dimension, req.level)])
        return needed

    while True:
        candidates = []
        for dim in model.dimensions:
            target = state[dim.id] + 1
            if target > MAX_LEVEL or dim.id in blocked:
                continue
            deps = prerequisites(dim, target)
            if deps is None:
                continue
            lifts = dim.required and state[dim.id] == floor(dim.pillar)
            effort, impact = dim.effort[target - 1], dim.impact[target - 1]
            candidates.append((not lifts, -impact / effort, target, dim.id, dim, deps))
        if not candidates:
            break
        _, _, target, _, dim, deps = min(candidates, key=lambda c: c[:4])
        effort, impact = dim.effort[target - 1], dim.impact[target - 1]
        earliest = max((PHASES.index(d.phase_days) + 1 for d in deps), default=0)
        slot = next(
            (
                days
                for days in PHASES[earliest:]
                if load[days][0] < MAX_PER_PHASE and load[days][1] + effort <= capacity
            ),
            None,
        )
        pillar = PILLAR_NAMES[dim.pillar]
        if dim.required and state[dim.id] == floor(dim.pillar):
            why = f"it holds {pillar} at level {floor(dim.pillar)}: a pillar is as mature as its weakest part"
        else:
            why = f"best impact for its effort among the next steps ({pillar})"
        action = Action(
            id=f"{dim.id}-L{target}",
            dimension=dim.id,
            pillar=dim.pillar,
            title=f"{dim.name}: reach level {target}",
            from_level=state[dim.id],
            to_level=target,
            phase_days=slot or 0,
            owner_role=dim.owner_role,
            kpi=dim.kpi,
            done=done_criterion(dim, target),
            effort=effort,
            impact=impact,
            depends_on=tuple(d.id for d in deps),
            reason=why,
        )
        if slot is None:
            blocked.add(dim.id)
            if len(later) < LATER:
                later.append(action)
            continue
        load[slot][0] += 1
        load[slot][1] += effort
        actions.append(action)
        planned[(dim.id, target)] = action
        state[dim.id] = target
    actions.sort(key=lambda a: PHASES.index(a.phase_days))
    return Roadmap(result.assessed_at_ms, tuple(actions), tuple(later), capacity)
