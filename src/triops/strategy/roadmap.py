"""A 30-60-90-day roadmap from a maturity assessment.

Each action raises one dimension by one level. Actions are picked greedily: first those that raise a
pillar's level (its weakest required dimensions), then the lowest levels, then by impact over effort.
Prerequisites named in the maturity model are scheduled before the actions that need them, and actions
fill three 30-day phases of limited effort in order, so no action lands before what it depends on. Each
action has an owner role, a KPI and a done-criterion that triops can check later: a count in the store
(:class:`StoreEvidence`) or, where the store cannot see it, the dimension's level in a later assessment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from triops.errors import InvalidInputError
from triops.strategy.maturity import MAX_LEVEL, MaturityModel, MaturityResult, StoreEvidence, load_model

PHASES = (30, 60, 90)


@dataclass(frozen=True)
class DoneCriterion:
    kind: Literal["evidence", "assessment"]
    description: str
    dimension: str
    level: int
    field: str | None = None
    at_least: int | None = None

    def is_met(self, evidence: StoreEvidence | None = None, result: MaturityResult | None = None) -> bool:
        """Check the criterion against store evidence (kind evidence) or a later assessment."""
        if self.kind == "evidence" and self.field is not None:
            value = evidence.value(self.field) if evidence else None
            return value is not None and value >= (self.at_least or 1)
        return result is not None and result.dimension(self.dimension).level >= self.level


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

    def phase(self, days: int) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.phase_days == days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "triops.roadmap/v1",
            "assessed_at_ms": self.assessed_at_ms,
            "actions": [{**asdict(a), "depends_on": list(a.depends_on)} for a in self.actions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roadmap:
        try:
            actions = tuple(
                Action(**{**a, "done": DoneCriterion(**a["done"]), "depends_on": tuple(a["depends_on"])})
                for a in data["actions"]
            )
            return cls(int(data["assessed_at_ms"]), actions)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"not a roadmap ({exc})") from exc

    def to_markdown(self) -> str:
        lines = ["# 30-60-90-day roadmap", ""]
        if not self.actions:
            lines.append("Every dimension is at the top level; nothing to plan.")
        for days in PHASES:
            acts = self.phase(days)
            if not acts:
                continue
            lines += [f"## Days {days - 29}-{days}", ""]
            for a in acts:
                lines.append(f"### {a.title}")
                lines.append("")
                lines.append(f"- **Why:** {a.reason}")
                lines.append(f"- **Owner:** {a.owner_role}")
                lines.append(f"- **KPI:** {a.kpi}")
                lines.append(f"- **Done when:** {a.done.description}")
                lines.append(f"- **Effort / impact:** {a.effort} / {a.impact}")
                if a.depends_on:
                    lines.append(f"- **After:** {', '.join(a.depends_on)}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _done(model: MaturityModel, dim_id: str, level: int) -> DoneCriterion:
    dim = model.get(dim_id)
    rules = [r for r in dim.evidence if r.level == level]
    if rules:
        r = rules[0]
        return DoneCriterion(
            "evidence",
            f"the triops store shows {r.field} ≥ {r.at_least} ({dim.criterion(level)})",
            dim_id,
            level,
            r.field,
            r.at_least,
        )
    return DoneCriterion(
        "assessment",
        f"`triops assess maturity` rates {dim_id} at level ≥ {level}: {dim.criterion(level)}",
        dim_id,
        level,
    )


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
            state[d.dimension] = d.level
    actions: list[Action] = []
    ids: dict[tuple[str, int], str] = {}
    phase_index, used = 0, 0

    def pillar_min(pillar: str) -> int:
        return min(state[d.id] for d in model.dimensions if d.pillar == pillar and d.required)

    def impact(dim_id: str) -> int:
        d = model.get(dim_id)
        if d.required and state[dim_id] == pillar_min(d.pillar):
            return 3
        return 2 if d.required else 1

    def schedule(dim_id: str, reason: str) -> bool:
        """Schedule the next step of ``dim_id`` after its prerequisites; False when out of room."""
        nonlocal phase_index, used
        dim = model.get(dim_id)
        target = state[dim_id] + 1
        deps: list[str] = []
        for req in dim.requires:
            if req.at <= target:
                while state[req.dimension] < req.level:
                    if not schedule(req.dimension, f"prerequisite of {dim.name} level {target}"):
                        return False
                if (req.dimension, req.level) in ids:
                    deps.append(ids[(req.dimension, req.level)])
        effort = dim.effort[target - 1]
        if used + effort > capacity:
            phase_index, used = phase_index + 1, 0
        if phase_index >= len(PHASES) or effort > capacity:
            return False
        used += effort
        action = Action(
            id=f"{dim_id}-L{target}",
            dimension=dim_id,
            pillar=dim.pillar,
            title=f"{dim.name}: reach level {target}",
            from_level=state[dim_id],
            to_level=target,
            phase_days=PHASES[phase_index],
            owner_role=dim.owner_role,
            kpi=dim.kpi,
            done=_done(model, dim_id, target),
            effort=effort,
            impact=impact(dim_id),
            depends_on=tuple(deps),
            reason=reason,
        )
        actions.append(action)
        ids[(dim_id, target)] = action.id
        state[dim_id] = target
        return True

    while True:
        open_dims = [d for d in model.dimensions if state[d.id] < MAX_LEVEL]
        if not open_dims:
            break
        best = min(
            open_dims,
            key=lambda d: (-impact(d.id), state[d.id], -impact(d.id) / d.effort[state[d.id]], d.id),
        )
        if impact(best.id) == 3:
            why = f"weakest required dimension of {best.pillar} (pillar level {pillar_min(best.pillar)})"
        else:
            why = f"raises {best.pillar} beyond its current floor"
        if not schedule(best.id, why):
            break
    return Roadmap(result.assessed_at_ms, tuple(actions))
