"""``custom.<name>`` resources: kept on the step (and its records) for the Ray executor, checked like the
others; an unknown key still names the valid ones."""

from __future__ import annotations

import pytest

from triops.errors import InvalidInputError
from triops.mlops.pipelines.authoring import Resources, step


def test_custom_resources_are_kept_and_recorded() -> None:
    res = Resources.from_mapping({"cpu": 2, "custom.bigmem": 1, "custom.a": 0.5}, "train")
    assert res.cpu == 2 and res.custom == (("a", 0.5), ("bigmem", 1.0))
    assert res.to_dict() == {"cpu": 2.0, "memory_gb": 1.0, "gpu": 0.0, "custom.a": 0.5, "custom.bigmem": 1.0}


@pytest.mark.parametrize("key", ["custom.", "bigmem", "customx"])
def test_a_malformed_or_unknown_resource_names_the_valid_keys(key: str) -> None:
    with pytest.raises(InvalidInputError, match=r"custom\.<name>"):
        Resources.from_mapping({key: 1}, "train")


def test_a_custom_resource_is_a_number_at_least_zero() -> None:
    with pytest.raises(InvalidInputError, match=r"custom\.bigmem"):

        @step(resources={"custom.bigmem": -1})
        def train() -> int:
            return 1
