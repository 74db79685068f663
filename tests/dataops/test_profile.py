"""Profiles: per-column statistics and personal-data flags."""

from __future__ import annotations

import polars as pl

from triops.dataops.demo import load_benefits
from triops.dataops.profile import logical_type, profile


def test_numeric_column_statistics() -> None:
    prof = profile(pl.DataFrame({"x": [1, 2, 3, 4, None]}))
    col = prof.column("x")
    assert (prof.row_count, col.null_count, col.null_share, col.distinct) == (5, 1, 0.2, 4)
    assert (col.min, col.max, col.mean) == (1, 4, 2.5)
    assert col.quantiles["0.5"] == 3.0  # nearest rank: the value at round((4 - 1) * 0.5) = 2
    assert col.histogram is not None and sum(col.histogram["counts"]) == 4
    assert col.logical_type == "integer"


def test_text_column_top_values_and_valid_values() -> None:
    prof = profile(pl.DataFrame({"s": ["a", "b", "a", "a", "c", "b", "a", "b", "c", "a", "a", "b"]}))
    col = prof.column("s")
    assert col.top_values[0] == ("a", 6)
    assert col.valid_values == ["a", "b", "c"]
    assert col.mean is None


def test_benefits_profile_covers_every_column() -> None:
    prof = profile(load_benefits())
    assert prof.row_count == 4877
    assert len(prof.columns) == 19
    assert prof.column("age").min == 20
    assert prof.personal_data == {}
    assert prof.to_dict()["columns"]["joblost"]["valid_values"] == [
        "other",
        "position_abolished",
        "seasonal_job_ended",
        "slack_work",
    ]


def test_personal_data_is_flagged() -> None:
    df = pl.DataFrame(
        {
            "contact": ["ann@example.org", "bo@example.com", "cy@example.net"],
            "tel": ["+44 20 7946 0958", "(555) 123-4567", "555-123-4567"],
            "ident": ["123-45-6789", "987-65-4321", "111-22-3333"],
            "full_name": ["Ann Lee", "Bo Chan", "Cy Diaz"],
            "ssn": [1, 2, 3],
            "city": ["New York", "Los Angeles", "San Diego"],
            "day": ["2024-01-01", "2024-02-02", "2024-03-03"],
        }
    )
    flags = profile(df).personal_data
    assert flags == {
        "contact": "email",
        "tel": "phone",
        "ident": "national_id",
        "full_name": "person_name",
        "ssn": "national_id",
    }


def test_logical_types_of_polars_dtypes() -> None:
    assert [
        logical_type(t)
        for t in (pl.Int8(), pl.Float32(), pl.Boolean(), pl.Date(), pl.Datetime(), pl.String())
    ] == ["integer", "number", "boolean", "date", "timestamp", "string"]


def test_empty_frame_profiles_without_error() -> None:
    prof = profile(pl.DataFrame({"x": []}, schema={"x": pl.Float64}))
    assert prof.row_count == 0
    assert prof.column("x").null_share == 0.0
