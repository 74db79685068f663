"""Model cards: nine sections from the store, Markdown/HTML/JSON, human text kept, completeness stored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from triops.artifacts import ArtifactStore
from triops.errors import InvalidInputError
from triops.mlops.evaluation.records import compare_versions, evaluate_version
from triops.mlops.registry.cards import (
    SECTIONS,
    build_card,
    generate_card,
    import_markdown,
    render,
    set_section,
)
from triops.mlops.registry.service import ModelRegistry
from triops.store.engine import Store
from triops.store.repositories import registry as repo


def _data(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 65, n), "rr": rng.random(n)})
    frame["ui"] = np.where(frame.rr + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    frame["sex"] = rng.choice(["male", "female", "other"], n, p=[0.6, 0.37, 0.03])
    return frame


@pytest.fixture
def registry(sqlite_store: Store, tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(sqlite_store, ArtifactStore(tmp_path / "artifacts"), actor="alice")
    data = _data()
    for c in (0.01, 1.0):
        model = LogisticRegression(C=c).fit(data[["age", "rr"]], data.ui)
        reg.register(
            "benefits",
            model,
            training_frame=data[["age", "rr"]],
            cost_to_train_micros=2_500_000,
            currency="EUR",
            git_commit="b" * 40,
        )
    return reg


def test_fresh_card_has_nine_sections_and_partial_completeness(registry: ModelRegistry) -> None:
    card = build_card(registry, "benefits/2")
    assert [s["title"] for s in card["sections"]] == [t for _, t in SECTIONS]
    assert card["completeness"] == pytest.approx(2 / 9, abs=1e-4)  # details and training inputs
    assert "Intended use" in card["missing"]


def test_card_carries_lineage_cost_metrics_groups_and_comparison(registry: ModelRegistry) -> None:
    data = _data()
    evaluate_version(registry, "benefits/2", data, target="ui", sensitive=["sex"], resamples=50)
    compare_versions(registry, "benefits/1", "benefits/2", data, target="ui", resamples=50)
    card = generate_card(registry, "benefits/2", approvals=[{"approver": "carol", "justification": "fair"}])
    md = render(card, "md")
    assert "2.5 EUR" in md
    assert "b" * 40 in md
    assert "| roc_auc |" in md
    assert "insufficient data" in md  # the small "other" group
    assert re.search(r"Demographic-parity difference [\d.]+ \(interval [\d.]+–[\d.]+\)", md), md
    assert "(interval " in render(card, "html")
    assert "Compared benefits/1 (champion) with benefits/2" in md
    assert "carol" in md
    assert card["completeness"] == pytest.approx(6 / 9, abs=1e-4)


def test_completeness_is_stored_for_policies(registry: ModelRegistry) -> None:
    card = generate_card(registry, "benefits/1")
    version = registry.get("benefits/1")
    with registry.store.connect() as conn:
        row = repo.card_row(conn, version.id)
    assert row is not None
    assert row["completeness"] == pytest.approx(card["completeness"])


def test_human_sections_survive_regeneration(registry: ModelRegistry) -> None:
    set_section(registry, "benefits/2", "intended_use", "Prioritise outreach; never deny benefits.")
    generate_card(registry, "benefits/2")
    data = _data()
    evaluate_version(registry, "benefits/2", data, target="ui", resamples=20)
    card = generate_card(registry, "benefits/2")
    section = next(s for s in card["sections"] if s["key"] == "intended_use")
    assert section["human"] == "Prioritise outreach; never deny benefits."


def test_edited_markdown_is_imported_and_kept(registry: ModelRegistry) -> None:
    md = render(generate_card(registry, "benefits/2"), "md")
    edited = md.replace(
        "<!-- human:ethical_considerations -->\n_Not written yet._",
        "<!-- human:ethical_considerations -->\nChecked for disparate impact by sex.",
    )
    stored = import_markdown(registry, "benefits/2", edited)
    assert stored["ethical_considerations"] == "Checked for disparate impact by sex."
    again = render(generate_card(registry, "benefits/2"), "md")
    assert "Checked for disparate impact by sex." in again


def test_html_escapes_markup_and_json_round_trips(registry: ModelRegistry) -> None:
    set_section(registry, "benefits/2", "caveats_and_recommendations", "<script>alert(1)</script>")
    card = generate_card(registry, "benefits/2")
    html = render(card, "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert json.loads(render(card, "json"))["ref"] == "benefits/2"


def test_unknown_section_and_format_are_refused(registry: ModelRegistry) -> None:
    with pytest.raises(InvalidInputError, match="unknown card section"):
        set_section(registry, "benefits/2", "marketing", "x")
    with pytest.raises(InvalidInputError, match="unknown card format 'pdf'"):
        render(build_card(registry, "benefits/2"), "pdf")
    with pytest.raises(InvalidInputError, match="marker"):
        import_markdown(registry, "benefits/2", "<!-- human:bogus -->x<!-- /human -->")
