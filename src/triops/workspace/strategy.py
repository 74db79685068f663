"""``ws.strategy``: the workshop tools (simulation, scenario quiz, maturity assessment, 30-60-90 roadmap,
Wardley maps). Most are pure computations; the maturity assessment reads evidence from the store and keeps
its result there, which is why they sit behind the workspace (and the API) at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms

if TYPE_CHECKING:
    from triops.store.engine import Store
    from triops.strategy.maturity import MaturityModel, MaturityResult, StoreEvidence
    from triops.strategy.roadmap import Roadmap
    from triops.strategy.scenarios import QuizResult, ScenarioBank
    from triops.strategy.simulation import SimulationResult
    from triops.strategy.wardley import WardleyMap


def run_simulation(
    approaches: Sequence[str] = (),
    *,
    practices: Sequence[str] = (),
    runs: int = 10_000,
    projects: int = 5,
    weeks: int = 104,
    seed: int = 0,
    level: str = "standard",
    overrides: Mapping[str, float] | None = None,
) -> SimulationResult:
    """Named approaches (default: all) and optionally a custom mix of practices named ``custom``."""
    from triops.strategy.simparams import load_parameters
    from triops.strategy.simulation import simulate

    params = load_parameters()
    names = list(approaches) or ([] if practices else list(params.approaches))
    chosen: Any = names
    if practices:
        chosen = {n: params.resolve_approach(n) for n in names}
        chosen["custom"] = params.resolve_practices(list(practices))
    return simulate(
        chosen,
        runs=runs,
        projects=projects,
        weeks=weeks,
        seed=seed,
        level=level,
        overrides=dict(overrides) if overrides else None,
        params=params,
    )


def simulation_parameters() -> list[dict[str, Any]]:
    from triops.strategy.simparams import load_parameters

    rows = sorted(load_parameters().all_params().values(), key=lambda p: p.name)
    return [{"name": p.name, "value": p.value, "range": [p.low, p.high], "source": p.source} for p in rows]


class StrategyService:
    def __init__(self, store: Store | None, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # -- pure tools ----------------------------------------------------------------------------------------
    def simulate(self, approaches: Sequence[str] = (), **options: Any) -> SimulationResult:
        return run_simulation(approaches, **options)

    def simulation_parameters(self) -> list[dict[str, Any]]:
        return simulation_parameters()

    def scenario_bank(self) -> ScenarioBank:
        from triops.strategy.scenarios import load_bank

        return load_bank(None)

    def grade_scenarios(self, answers: Mapping[str, str]) -> QuizResult:
        from triops.strategy.scenarios import grade

        return grade(self.scenario_bank(), answers)

    def maturity_model(self) -> MaturityModel:
        from triops.strategy.maturity import load_model

        return load_model()

    def roadmap(self, assessment: MaturityResult, *, capacity: int = 8) -> Roadmap:
        from triops.strategy.roadmap import build_roadmap

        return build_roadmap(assessment, capacity=capacity)

    def wardley_default(self) -> WardleyMap:
        from triops.strategy.wardley import default_map

        return default_map()

    def wardley_check(self, text: str) -> tuple[WardleyMap, list[str]]:
        from triops.strategy.wardley import check_references, parse

        parsed = parse(text)
        return parsed, check_references(parsed)

    def wardley_svg(self, text: str) -> str:
        from triops.strategy.wardley import parse
        from triops.strategy.wardley_svg import render_svg

        return render_svg(parse(text))

    # -- store-backed ----------------------------------------------------------------------------------------
    def evidence(self) -> StoreEvidence:
        from triops.workspace.evidence import collect_evidence

        assert self.store is not None
        return collect_evidence(self.store)

    def assess_maturity(
        self, answers: Mapping[str, Any], *, from_store: bool = True, save: bool = True
    ) -> MaturityResult:
        """Assess with ``answers`` (dimension id → level) and, with ``from_store``, the store's evidence;
        ``save`` keeps the result for the progress view."""
        from triops.strategy.maturity import assess

        result = assess(dict(answers), self.evidence() if from_store else None, model=self.maturity_model())
        if from_store and save:
            self.save_assessment(result)
        return result

    def save_assessment(self, result: MaturityResult) -> None:
        from triops.store.repositories.assessments import save_assessment

        assert self.store is not None
        payload = result.to_dict()
        summary = {"overall": result.overall, "pillars": {p.pillar: p.level for p in result.pillars}}
        now = utc_ms(self.clock.now())
        self.store.write(lambda conn: save_assessment(conn, "maturity", summary, payload, now))


__all__ = ["StrategyService", "run_simulation", "simulation_parameters"]
