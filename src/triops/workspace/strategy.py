"""``ws.strategy``: the workshop tools (simulation, scenario quiz, maturity assessment, 30-60-90 roadmap,
Wardley maps) behind one service that the CLI, the API and the web pages share.

Most tools are pure computations over the bundled data; the maturity assessment reads evidence from the
store (verifying the audit log as part of it) and keeps its result there, and the Wardley map of the records
reads the store's inventory, which is why they sit behind the workspace at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms

if TYPE_CHECKING:
    from triops.strategy.maturity import MaturityResult
    from triops.strategy.maturity_model import MaturityModel, StoreEvidence
    from triops.strategy.roadmap import Roadmap
    from triops.strategy.scenarios import Feedback, Quiz, QuizResult
    from triops.strategy.sensitivity import SensitivityResult
    from triops.strategy.simresult import SimulationResult
    from triops.strategy.simulation import LevelControls
    from triops.strategy.wardley_model import WardleyMap
    from triops.strategy.wardley_parse import ParseReport
    from triops.strategy.wardley_svg import Rendered
    from triops.workspace.local import Workspace


def simulation_parameters() -> list[dict[str, Any]]:
    """Every parameter with its default, range, source and whether it is an assumed effect."""
    from triops.strategy.simparams import load_parameters

    params = load_parameters()
    assumed = set(params.assumed_effects())
    rows = sorted(params.all_params().values(), key=lambda p: p.name)
    return [
        {
            "name": p.name,
            "value": p.value,
            "range": [p.low, p.high],
            "source": p.source,
            "assumed_effect": p.name in assumed,
        }
        for p in rows
    ]


def _require(ws: Workspace, permission: str) -> None:
    """The store-backed strategy tools read or write workspace-wide records."""
    from triops.governance.rbac import require

    require(permission, ws.principal, None)


class StrategyService:
    """The strategy tools; ``ws`` is needed only by the store-backed ones (evidence, saved assessments)."""

    def __init__(self, ws: Workspace | None, clock: Clock) -> None:
        self.ws = ws
        self.clock = clock

    # -- simulation ----------------------------------------------------------------------------------------
    def simulate(
        self,
        approaches: Sequence[str] = (),
        *,
        practices: Sequence[str] = (),
        levers: Sequence[str] = (),
        **options: Any,
    ) -> SimulationResult:
        """Compare approaches; ``options`` are ``simulate``'s (runs, projects, weeks, seed, level,
        overrides, neutral, currency)."""
        from triops.strategy.simulation import resolve_approaches, simulate

        chosen, lever_mixes = resolve_approaches(approaches, practices, levers)
        return simulate(chosen, levers=lever_mixes, **options)

    def sensitivity(
        self,
        approaches: Sequence[str] = (),
        *,
        practices: Sequence[str] = (),
        metric: str = "net_value",
        **options: Any,
    ) -> SensitivityResult:
        """Tornado data: which assumed effects move ``metric`` most."""
        from triops.strategy.sensitivity import sensitivity
        from triops.strategy.simulation import resolve_approaches

        chosen, _ = resolve_approaches(approaches, practices, ())
        return sensitivity(chosen, metric=metric, **options)

    def controls(self, level: str) -> LevelControls:
        from triops.strategy.simulation import controls

        return controls(level)

    def simulation_parameters(self) -> list[dict[str, Any]]:
        return simulation_parameters()

    # -- scenario quiz --------------------------------------------------------------------------------------
    def quiz(
        self,
        *,
        level: str = "experienced",
        seed: int | None = None,
        pillars: Sequence[str] | None = None,
        count: int | None = None,
    ) -> Quiz:
        """An attempt: the same level, seed, pillars and count give the same questions and letters."""
        from triops.strategy.scenarios import start_quiz

        return start_quiz(level=level, seed=seed, pillars=list(pillars) if pillars else None, count=count)

    def answer(self, scenario_id: str, letter: str, **attempt: Any) -> Feedback:
        """Immediate feedback on one answer of the attempt ``attempt`` (level, seed, pillars, count) names."""
        return self.quiz(**attempt).answer(scenario_id, letter)

    def grade_scenarios(self, answers: Mapping[str, str], **attempt: Any) -> QuizResult:
        from triops.strategy.scenarios import grade

        return grade(self.quiz(**attempt), answers)

    # -- maturity and roadmap -------------------------------------------------------------------------------
    def maturity_model(self) -> MaturityModel:
        from triops.strategy.maturity_model import load_model

        return load_model()

    def _workspace(self) -> Workspace:
        if self.ws is None:
            from triops.errors import ConfigError

            raise ConfigError("this strategy service has no workspace", hint="use ws.strategy")
        return self.ws

    def evidence(self) -> StoreEvidence:
        """What the store shows about practice, with the audit log verified as part of it."""
        from triops.workspace.evidence import gather_evidence

        ws = self._workspace()
        _require(ws, "project.read")
        return gather_evidence(ws)

    def assess_maturity(
        self,
        answers: Mapping[str, Any],
        *,
        from_store: bool = True,
        save: bool = True,
        evidence: StoreEvidence | None = None,
    ) -> MaturityResult:
        """Assess with ``answers`` (dimension id → level) and, with ``from_store``, the store's evidence
        (``evidence`` when the caller has just read it, else read now); ``save`` keeps a store-based result
        for ``progress`` and ``roadmap``. Without ``from_store``, ``evidence`` may come from a file."""
        from triops.strategy.maturity import assess

        ev = evidence if evidence is not None else self.evidence() if from_store else None
        result = assess(dict(answers), ev, model=self.maturity_model())
        if from_store and save:
            self.save_assessment(result)
        return result

    def save_assessment(self, result: MaturityResult) -> None:
        from triops.store.repositories.assessments import save_assessment

        ws = self._workspace()
        _require(ws, "run.write")
        payload = result.to_dict()
        summary = {"overall": result.overall, "pillars": {p.pillar: p.level for p in result.pillars}}
        now = utc_ms(self.clock.now())
        ws.store.write(lambda conn: save_assessment(conn, "maturity", summary, payload, now))

    def assessments(self, limit: int = 100) -> list[MaturityResult]:
        """Stored maturity assessments, oldest first."""
        from triops.store.repositories.assessments import list_assessments
        from triops.strategy.maturity import MaturityResult

        ws = self._workspace()
        _require(ws, "project.read")
        with ws.store.connect() as conn:
            rows = list_assessments(conn, "maturity", limit)
        return sorted((MaturityResult.from_dict(r["payload"]) for r in rows), key=lambda r: r.assessed_at_ms)

    def progress(self, limit: int = 100) -> list[dict[str, Any]]:
        """Change over time, from the stored assessments."""
        from triops.strategy.maturity import progress

        return progress(self.assessments(limit))

    def roadmap(self, assessment: MaturityResult, *, capacity: int = 8) -> Roadmap:
        from triops.strategy.roadmap import build_roadmap

        return build_roadmap(assessment, capacity=capacity)

    # -- Wardley maps ----------------------------------------------------------------------------------------
    def wardley_default(self) -> WardleyMap:
        from triops.strategy.wardley import default_map

        return default_map()

    def wardley_check(self, text: str) -> ParseReport:
        """Every problem and warning of an OWM text in one pass."""
        from triops.strategy.wardley_parse import parse_report

        return parse_report(text)

    def wardley_render(self, text: str) -> Rendered:
        """SVG of an OWM text, with warnings about what it cannot draw."""
        from triops.strategy.wardley_parse import parse
        from triops.strategy.wardley_svg import render

        return render(parse(text))

    def wardley_from_store(self) -> WardleyMap:
        """The AI-operations value chain the records show (pillars used, built or bought, how evolved)."""
        from datetime import UTC

        from triops.strategy.wardley_store import map_from_store
        from triops.workspace.evidence import collect_evidence, collect_inventory

        ws = self._workspace()
        today = self.clock.now().astimezone(UTC).strftime("%Y-%m-%d")
        return map_from_store(collect_inventory(ws.store, today), collect_evidence(ws.store))


__all__ = ["StrategyService", "simulation_parameters"]
