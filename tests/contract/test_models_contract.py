"""The model registry through the public SDK, with the same assertions on local SQLite, local PostgreSQL and
a real server (``ws.models`` local or remote)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from triops import Workspace
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.mlops.registry.records import ModelVersion


def _frame(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(18, 65, n), "rr": rng.random(n)})
    y = pd.Series(np.where(x.rr + rng.normal(0, 0.3, n) > 0.5, "yes", "no"))
    return x, y


def _register(ws: Workspace, c: float = 1.0) -> ModelVersion:
    x, y = _frame()
    version: ModelVersion = ws.models.register(
        "benefits", LogisticRegression(C=c).fit(x, y), training_frame=x, git_commit=None, datasets=["ds-1"]
    )
    return version


def test_register_numbers_versions_and_keeps_their_lineage(platform: Workspace) -> None:
    first, second = _register(platform), _register(platform, c=0.1)
    assert (first.version, second.version) == (1, 2)
    assert isinstance(first, ModelVersion) and first.stage == "development"
    assert first.training_datasets == ("ds-1",) and first.signature is not None
    assert first.signature.names() == ["age", "rr"]
    assert first.onnx_sha256 is not None
    assert [v.version for v in platform.models.versions("benefits")] == [1, 2]
    assert platform.models.get("benefits").version == 2
    assert platform.models.get("benefits/1").id == first.id
    (summary,) = platform.models.list_models()
    assert summary["name"] == "benefits" and summary["latest_version"] == 2 and summary["versions"] == 2


def test_stage_and_alias_moves_are_checked_and_returned(platform: Workspace) -> None:
    _register(platform)
    staged = platform.models.transition("benefits/1", "staging")
    assert staged.stage == "staging" and platform.models.get("benefits/1").stage == "staging"
    with pytest.raises(ConflictError, match="cannot move from staging to staging"):
        platform.models.transition("benefits/1", "staging")
    with pytest.raises(InvalidInputError, match="unknown stage"):
        platform.models.transition("benefits/1", "shipped")
    moved = platform.models.set_alias("benefits", "candidate", 1)
    assert moved.aliases == ("candidate",)
    assert platform.models.get("benefits@candidate").version == 1
    platform.models.remove_alias("benefits", "candidate")
    with pytest.raises(NotFoundError):
        platform.models.get("benefits@candidate")


def test_a_loaded_model_predicts_like_the_registered_one(platform: Workspace) -> None:
    x, y = _frame()
    model = LogisticRegression().fit(x, y)
    version = platform.models.register("benefits", model, training_frame=x, git_commit=None)
    loaded = platform.models.load("benefits/1")
    assert loaded.version.id == version.id
    assert list(loaded.predict(x)) == list(model.predict(x))
    found, data = platform.models.model_bytes("benefits/1")
    assert hashlib.sha256(data).hexdigest() == found.artifact_sha256


def test_cards_render_in_three_formats(platform: Workspace) -> None:
    _register(platform)
    assert "benefits" in platform.models.card("benefits/1", "md")
    assert "<html" in platform.models.card("benefits/1", "html").lower()
    assert '"ref": "benefits/1"' in platform.models.card("benefits/1", "json", regenerate=True)
    assert platform.models.card_completeness("benefits/1") is not None
    assert platform.models.evaluations("benefits/1") == []


def test_unknown_models_and_versions_are_not_found(platform: Workspace) -> None:
    with pytest.raises(NotFoundError):
        platform.models.get("nothing")
    _register(platform)
    with pytest.raises(NotFoundError, match="no version 7"):
        platform.models.get("benefits/7")


def test_evaluate_gives_the_same_result_and_record_on_every_backend(platform: Workspace) -> None:
    x, y = _frame(300)
    model = LogisticRegression().fit(x, y)
    platform.models.register("benefits", model, training_frame=x, git_commit=None)
    frame = x.assign(label=y, region=np.where(x.age > 40, "north", "south"))
    result, record = platform.evaluate(
        "benefits/1", frame, target="label", sensitive=["region"], resamples=50, seed=3, min_group_size=10
    )
    assert result.n_rows == 300 and result.resamples == 50 and result.seed == 3
    accuracy = result.metrics["accuracy"]
    assert accuracy.value is not None and accuracy.low is not None and accuracy.high is not None
    assert accuracy.low <= accuracy.value <= accuracy.high
    assert accuracy.value == pytest.approx(float((model.predict(x) == y).mean()))
    assert {g.group for g in result.fairness["region"].groups} == {"north", "south"}
    (stored,) = platform.models.evaluations("benefits/1")
    assert stored["id"] == record
    with pytest.raises(InvalidInputError, match="label"):
        platform.evaluate("benefits/1", x, target="label")
