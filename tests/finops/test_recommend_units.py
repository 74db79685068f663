"""Recommendations with monthly savings, and unit economics (serving, per run, per quality point)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from tests.finops.conftest import NOV_2

from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops.costs import price_usage, usage_frame
from triops.finops.prices import PriceBook
from triops.finops.recommend import (
    ArtifactUse,
    ModelOption,
    cheaper_model,
    over_requested,
    repeated_work,
    unused_artifacts,
)
from triops.finops.units import (
    cost_per_1000_predictions,
    cost_per_model_version,
    cost_per_quality_point,
    cost_per_training_run,
    serving_cost,
)

Make = Callable[..., UsageRecord]
DAY = 86_400_000


def test_over_requested_cpu_is_found_with_a_saving(book: PriceBook, make_usage: Make) -> None:
    records = [
        make_usage(requested_cpu=8.0, cpu_s=3600.0, started_ms=NOV_2 + i * DAY, step="fit") for i in range(30)
    ]
    usage = usage_frame(records)
    recs = over_requested(usage, price_usage(usage, book))
    cpu = [r for r in recs if r.kind == "over-requested-cpu"]
    assert len(cpu) == 1
    assert cpu[0].target == "train/fit"
    assert "request 1.2 cores" in cpu[0].detail
    # 8 cores requested, 1.2 suggested: 85 % of 30 days * 8 core-hours * 0.036 USD
    assert cpu[0].monthly_saving_micros == pytest.approx(0.85 * 30 * 8 * 36_000, rel=0.05)
    assert cpu[0].currency == "USD"


def test_well_sized_steps_get_no_recommendation(book: PriceBook, make_usage: Make) -> None:
    usage = usage_frame([make_usage(requested_cpu=1.0, cpu_s=3500.0, peak_rss_bytes=900 << 20)])
    assert over_requested(usage, price_usage(usage, book)) == []


def test_repeated_identical_work_is_priced(book: PriceBook, make_usage: Make) -> None:
    tags = {"team": "ml", "cache_key": "abc123"}
    records = [make_usage(tags=tags, started_ms=NOV_2 + i * DAY) for i in range(3)]
    records.append(make_usage(tags={**tags, "cache_hit": "true"}, started_ms=NOV_2 + 3 * DAY))
    usage = usage_frame(records)
    recs = repeated_work(price_usage(usage, book), usage)
    assert len(recs) == 1
    assert "3 identical runs" in recs[0].detail
    assert recs[0].monthly_saving_micros > 0


def test_cheaper_model_of_equal_quality() -> None:
    current = ModelOption("big@3", 0.912, 400_000, 1_000_000, "EUR")
    options = [
        ModelOption("small@1", 0.910, 100_000, 0, "EUR"),
        ModelOption("tiny@1", 0.850, 10_000, 0, "EUR"),
        ModelOption("usd@1", 0.95, 1, 0, "USD"),
    ]
    rec = cheaper_model(current, options)
    assert rec is not None
    assert "small@1" in rec.detail
    assert rec.monthly_saving_micros == 300_000 * 1000
    assert cheaper_model(current, [options[1]]) is None


def test_unused_artifacts_cost_storage() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    old = ArtifactUse("model-v1.skops", 10 << 30, int(datetime(2026, 5, 1, tzinfo=UTC).timestamp() * 1000))
    fresh = ArtifactUse("model-v9.skops", 10 << 30, int(now.timestamp() * 1000))
    recs = unused_artifacts([old, fresh], Decimal("0.02"), "USD", now)
    assert [r.target for r in recs] == ["model-v1.skops"]
    assert recs[0].monthly_saving_micros == 200_000


def test_serving_cost_per_thousand_predictions(book: PriceBook) -> None:
    cost = serving_cost(
        book,
        "lab",
        day=date(2026, 11, 2),
        wall_s=3600,
        predictions=50_000,
        cpu_cores=2,
        memory_gib=4,
        gpu_model="T4",
        gpus=1,
    )
    # 2 * 0.036 + 4 * 0.0036 + 0.36 = 0.4464 USD per hour
    assert cost.total_micros == 446_400
    assert cost.per_1000_micros == 8_928
    assert cost.currency == "USD"
    with pytest.raises(InvalidInputError, match="predictions"):
        serving_cost(book, "lab", day=date(2026, 11, 2), wall_s=1, predictions=0, cpu_cores=1, memory_gib=1)
    with pytest.raises(InvalidInputError, match="gpu_model"):
        serving_cost(
            book, "lab", day=date(2026, 11, 2), wall_s=1, predictions=1, cpu_cores=1, memory_gib=1, gpus=1
        )


def test_unit_economics(book: PriceBook, make_usage: Make) -> None:
    costs = price_usage([make_usage(run_id="a", tags={"model_version": "m@1"}), make_usage(run_id="b")], book)
    assert cost_per_training_run(costs)["cost_micros"].to_list() == [39_600, 39_600]
    assert cost_per_model_version(costs)["model_version"].to_list() == ["m@1"]
    assert cost_per_1000_predictions(1_000_000, 3) == 333_333_333
    assert cost_per_quality_point(1_000_000, 0.91, 0.81) == 100_000
    with pytest.raises(InvalidInputError, match="baseline"):
        cost_per_quality_point(1_000_000, 0.5, 0.6)
    with pytest.raises(InvalidInputError):
        cost_per_1000_predictions(1, 0)
