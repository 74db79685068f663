"""The portfolio simulation: invariants (hypothesis), reproducibility, parameter checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.errors import ConfigError, InvalidInputError
from triops.strategy.sensitivity import sensitivity
from triops.strategy.simparams import effective_parameters, load_parameters, parse_parameters
from triops.strategy.simulation import METRICS, controls, sample_outcomes, simulate

PARAMS = load_parameters()
PRACTICES = sorted(PARAMS.practices)
practice_sets = st.sets(st.sampled_from(PRACTICES))


@given(practice_sets, practice_sets)
def test_more_practices_never_lower_detection(a: set[str], extra: set[str]) -> None:
    small = effective_parameters(PARAMS, sorted(a))
    large = effective_parameters(PARAMS, sorted(a | extra))
    assert large.detection_probability >= small.detection_probability


@given(practice_sets, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_detection_monotone_for_any_effect_sizes_in_range(a: set[str], m1: float, m2: float) -> None:
    params = PARAMS.with_overrides(
        {"model_monitoring.detection_weeks": m1, "feedback_retraining.detection_weeks": m2}
    )
    base = effective_parameters(params, sorted(a))
    more = effective_parameters(params, sorted(a | {"model_monitoring", "feedback_retraining"}))
    assert more.detection_probability >= base.detection_probability


@settings(max_examples=20, deadline=None)
@given(
    practice_sets,
    st.integers(0, 2**32),
    st.floats(0.0, 1000.0),
    st.floats(0.0, 0.5),
    st.sampled_from(["intro", "standard"]),
)
def test_costs_are_never_negative(
    practices: set[str], seed: int, dev_cost: float, cancel: float, level: str
) -> None:
    params = PARAMS.with_overrides({"dev_cost": dev_cost, "cancel_rate": cancel})
    eff = effective_parameters(params, sorted(practices))
    raw = sample_outcomes(eff, params, 30, 3, 40, seed, shocks_on=level == "standard")
    assert (raw["total_cost"] >= 0).all()
    assert (raw["value_delivered"] >= 0).all()
    assert (raw["incidents"] >= 0).all()
    assert (raw["projects_in_production"] <= 3).all()


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**40), st.sampled_from(["siloed", "partial", "integrated"]))
def test_same_seed_same_result(seed: int, approach: str) -> None:
    one = simulate([approach], runs=50, projects=3, weeks=30, seed=seed)
    two = simulate([approach], runs=50, projects=3, weeks=30, seed=seed)
    assert one.to_dict() == two.to_dict()


def test_different_seeds_give_different_samples() -> None:
    one = simulate(["siloed"], runs=200, weeks=52, seed=1).approach("siloed").metrics["total_cost"]
    two = simulate(["siloed"], runs=200, weeks=52, seed=2).approach("siloed").metrics["total_cost"]
    assert one != two


def test_integrated_beats_siloed_on_incidents_and_detection() -> None:
    result = simulate(["siloed", "integrated"], runs=400, seed=7)
    siloed, integrated = result.approach("siloed"), result.approach("integrated")
    assert integrated.metrics["incidents"].mean < siloed.metrics["incidents"].mean
    assert integrated.metrics["detection_delay_weeks"].mean < siloed.metrics["detection_delay_weeks"].mean
    assert integrated.metrics["value_delivered"].mean > siloed.metrics["value_delivered"].mean


def test_siloed_share_reaching_production_matches_its_calibration_source() -> None:
    result = simulate(["siloed"], runs=600, seed=3, level="intro")
    share = result.approach("siloed").metrics["projects_in_production"].mean / 5
    assert 0.45 < share < 0.65  # Gartner (2022): 54 % of AI projects reach production


def test_result_has_every_metric_with_ordered_interval() -> None:
    result = simulate(["partial"], runs=200, seed=0)
    metrics = result.approach("partial").metrics
    assert set(metrics) == set(METRICS)
    for summary in metrics.values():
        assert summary.low <= summary.median <= summary.high


def test_custom_mix_is_simulated_under_its_own_name() -> None:
    result = simulate({"mine": ["model_monitoring", "cost_tagging"]}, runs=50, weeks=20)
    assert result.approaches[0].name == "mine"
    assert result.approaches[0].practices == ("model_monitoring", "cost_tagging")


def test_shocks_only_from_standard_level_on() -> None:
    params = load_parameters(
        {"shock.data_source_outage.probability": 1.0, "shock.data_source_outage.weeks": 52}
    )
    eff = effective_parameters(params, [])
    calm = sample_outcomes(eff, params, 100, 3, 60, 5, shocks_on=False)
    shaken = sample_outcomes(eff, params, 100, 3, 60, 5, shocks_on=True)
    assert shaken["value_delivered"].mean() < calm["value_delivered"].mean()


def test_expert_overrides_change_the_outcome() -> None:
    base = simulate(["siloed"], runs=100, weeks=52, level="expert")
    worse = simulate(["siloed"], runs=100, weeks=52, level="expert", overrides={"data_incident_rate": 0.5})
    assert (
        worse.approach("siloed").metrics["data_incidents"].mean
        > base.approach("siloed").metrics["data_incidents"].mean
    )


def test_parameter_outside_its_range_names_parameter_and_range() -> None:
    with pytest.raises(InvalidInputError, match=r"'cancel_rate' = 0.9 is outside its range \[0, 0.5\]"):
        simulate(["siloed"], runs=10, level="expert", overrides={"cancel_rate": 0.9})


def test_unknown_parameter_lists_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="unknown simulation parameter 'cancel'") as err:
        load_parameters({"cancel": 0.1})
    assert "cancel_rate" in str(err.value)


def test_overrides_need_expert_level() -> None:
    with pytest.raises(InvalidInputError, match="--level expert"):
        simulate(["siloed"], runs=10, overrides={"cancel_rate": 0.1})


def test_unknown_practice_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="unknown practice 'blockchain'") as err:
        simulate({"x": ["blockchain"]}, runs=10)
    for name in PRACTICES:
        assert name in str(err.value)


def test_unknown_approach_and_level_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown approach 'agile'"):
        simulate(["agile"], runs=10)
    with pytest.raises(InvalidInputError, match="unknown level 'guru'"):
        simulate(["siloed"], runs=10, level="guru")


def test_custom_mix_needs_standard_level() -> None:
    with pytest.raises(InvalidInputError, match="custom practice mixes"):
        simulate({"x": ["cost_tagging"]}, runs=10, level="intro")


@pytest.mark.parametrize(("field", "value"), [("runs", 0), ("projects", 1001), ("weeks", -1), ("seed", -5)])
def test_size_outside_range_names_it(field: str, value: int) -> None:
    with pytest.raises(InvalidInputError, match=f"'{field}' = {value} is outside its range"):
        simulate(["siloed"], **{field: value})  # type: ignore[arg-type]


def test_every_default_names_a_source_with_year_or_is_an_assumption() -> None:
    for param in PARAMS.all_params().values():
        assert param.source
        assert param.low <= param.value <= param.high


def test_parameter_file_without_a_source_year_is_refused() -> None:
    doc = {
        "baseline": {"speed": {"value": 1, "range": [0, 2], "source": "some blog"}},
        "practices": {},
        "approaches": {},
        "shocks": {},
    }
    with pytest.raises(ConfigError, match="names no year"):
        parse_parameters(doc)


def test_parameter_file_default_outside_range_is_refused() -> None:
    doc = {"baseline": {"speed": {"value": 9, "range": [0, 2], "source": "assumption"}}}
    with pytest.raises(ConfigError, match="outside its range"):
        parse_parameters(doc)


def test_samples_are_numpy_arrays_of_the_right_length() -> None:
    eff = effective_parameters(PARAMS, ["cost_tagging"])
    raw = sample_outcomes(eff, PARAMS, 25, 4, 30, 0, shocks_on=True)
    assert raw["total_cost"].shape == (25,)
    assert isinstance(raw["time_to_production_weeks"], np.ndarray)


def test_parameter_file_missing_a_baseline_parameter_or_shock_is_refused() -> None:
    doc = {
        "baseline": {"speed": {"value": 1, "range": [0, 2], "source": "assumption"}},
        "practices": {},
        "approaches": {},
        "shocks": {},
    }
    with pytest.raises(ConfigError, match="baseline lacks parameter"):
        parse_parameters(doc)


# ---- what is assumed, what a learner may change, what the result says about itself ---------------------


def test_header_names_level_seed_size_shocks_overrides_effects_and_currency() -> None:
    result = simulate(["siloed"], runs=20, weeks=10, seed=4, level="expert", overrides={"cancel_rate": 0.02})
    header = result.header()
    for part in (
        "level expert",
        "seed 4",
        "20 runs × 5 projects × 10 weeks",
        "budget cut",
        "cancel_rate=0.02",
    ):
        assert part in header
    assert "practice effects: as assumed" in header and "thousands of EUR" in header
    calm = simulate(["siloed"], runs=20, weeks=10, level="intro", neutral=True, currency="gbp")
    assert "shocks: off" in calm.header() and "overrides: none" in calm.header()
    assert "neutral (no effect)" in calm.header() and "thousands of GBP" in calm.header()


def test_every_comparison_carries_its_assumptions_line() -> None:
    result = simulate(["siloed", "integrated"], runs=20, weeks=10)
    data = result.to_dict()
    n = len(PARAMS.assumed_effects())
    assert data["assumptions"] == result.assumptions_line()
    assert (
        f"the {n} practice and synergy effects" in data["assumptions"] and "--neutral" in data["assumptions"]
    )
    assert data["header"] == result.header() and data["currency"] == "EUR"
    neutral = simulate(["siloed"], runs=20, weeks=10, neutral=True).assumptions_line()
    assert neutral.startswith("Neutral run")


def test_every_practice_and_synergy_effect_is_an_assumption() -> None:
    effects = PARAMS.assumed_effects()
    names = {q.name for p in PARAMS.practices.values() for q in (*p.effects.values(), *p.adds.values())}
    names |= {q.name for s in PARAMS.synergies for q in s.effects.values()}
    assert set(effects) == names


@given(practice_sets)
def test_neutral_leaves_the_baseline_untouched_by_any_practice(practices: set[str]) -> None:
    neutral = PARAMS.neutral()
    eff = effective_parameters(neutral, sorted(practices))
    base = effective_parameters(neutral, [])
    assert eff.values == base.values
    assert eff.setup_cost == sum(PARAMS.practices[p].setup.value for p in practices)


def test_without_the_assumed_effects_integrated_does_not_beat_siloed() -> None:
    result = simulate(["siloed", "integrated"], runs=600, seed=1, neutral=True)
    siloed, integrated = result.approach("siloed"), result.approach("integrated")
    assert integrated.metrics["net_value"].mean < siloed.metrics["net_value"].mean
    assert integrated.metrics["projects_in_production"].mean <= siloed.metrics["projects_in_production"].mean


def test_net_value_and_roi_follow_from_cost_and_value() -> None:
    eff = effective_parameters(PARAMS, ["cost_tagging"])
    raw = sample_outcomes(eff, PARAMS, 40, 3, 30, 2, shocks_on=True)
    assert np.allclose(raw["net_value"], raw["value_delivered"] - raw["total_cost"])
    assert np.allclose(raw["roi"], raw["net_value"] / raw["total_cost"])


def test_levels_differ_in_what_a_learner_can_change() -> None:
    intro, standard, expert = (controls(level) for level in ("intro", "standard", "expert"))
    assert [n for n, _ in intro.levers] == ["data_checks", "watch_models", "control_costs"]
    assert intro.practices == () and intro.parameters == () and not intro.shocks
    assert len(standard.practices) == 8 and standard.parameters == () and standard.shocks
    assert set(expert.parameters) == set(PARAMS.all_params())
    result = simulate(["siloed"], runs=20, weeks=10, level="intro", levers={"mine": ["data_checks"]})
    assert result.approach("mine").practices == ("experiment_tracking", "data_contracts")
    with pytest.raises(InvalidInputError, match="custom practice mixes") as err:
        simulate({"x": ["cost_tagging"]}, runs=10, level="intro")
    assert "data_checks" in (err.value.hint or "")
    with pytest.raises(InvalidInputError, match="unknown lever 'magic'"):
        simulate(["siloed"], runs=10, levers={"mine": ["magic"]})


def test_sensitivity_ranks_the_assumed_effects_by_their_swing() -> None:
    result = sensitivity(["siloed", "integrated"], runs=300, weeks=60, seed=3)
    assert len(result.rows) == len(PARAMS.assumed_effects())
    swings = [r.swing for r in result.rows]
    assert swings == sorted(swings, reverse=True) and swings[0] > 0
    assert "integrated minus siloed" in result.outcome
    for row in result.rows:
        param = PARAMS.all_params()[row.effect]
        assert row.assumed == param.value and param.low <= row.stronger <= param.high
    assert result.to_dict()["assumptions"] == result.assumptions


def test_an_effect_outside_both_mixes_does_not_move_the_outcome() -> None:
    result = sensitivity(
        {"siloed": ["experiment_tracking"], "tagged": ["experiment_tracking", "cost_tagging"]},
        runs=100,
        weeks=40,
    )
    untouched = [r for r in result.rows if r.effect.startswith(("model_monitoring.", "unified_governance."))]
    assert untouched and all(r.swing == 0 for r in untouched)
    tagged = next(r for r in result.rows if r.effect == "cost_tagging.cloud_waste")
    assert tagged.swing > 0
    with pytest.raises(InvalidInputError, match="unknown outcome"):
        sensitivity(["siloed"], metric="happiness", runs=10)


def test_currency_must_be_an_iso_code() -> None:
    with pytest.raises(InvalidInputError, match="ISO 4217"):
        simulate(["siloed"], runs=10, currency="euros")
