"""The registry part of ``triops demo``: register two fitted models, evaluate them with fairness slices,
compare them, set the champion and challenger aliases, and write the champion's model card to a file.

``register_and_evaluate`` takes plain data (pandas frames, fitted models) and a ``ModelRegistry``; it
returns a ``RegistryDemoResult`` the caller can print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triops.errors import InvalidInputError
from triops.mlops.evaluation.comparison import Comparison
from triops.mlops.evaluation.evaluate import EvaluationResult
from triops.mlops.evaluation.records import compare_versions, evaluate_version
from triops.mlops.registry.cards import generate_card, render, set_sections
from triops.mlops.registry.service import ModelRegistry, ModelVersion

DEMO_HUMAN_SECTIONS = {
    "intended_use": (
        "Estimate which displaced workers are likely to take up unemployment insurance, so that outreach "
        "can be prioritised. Not for deciding anyone's eligibility."
    ),
}


@dataclass(frozen=True, slots=True)
class RegistryDemoResult:
    versions: dict[str, ModelVersion]  # label → registered version
    evaluations: dict[str, EvaluationResult]  # version ref → evaluation
    comparison: Comparison
    champion: ModelVersion
    challenger: ModelVersion
    card_path: Path
    card_completeness: float


def register_and_evaluate(
    registry: ModelRegistry,
    models: Mapping[str, Any],
    train: Any,
    test: Any,
    *,
    features: Sequence[str],
    target: str = "ui",
    sensitive: Sequence[str] = ("sex", "nwhite"),
    name: str = "benefits-ui",
    run_ids: Mapping[str, str] | None = None,
    training_datasets: Sequence[str] = (),
    evaluation_dataset: str | None = None,
    costs_micros: Mapping[str, int] | None = None,
    currency: str | None = None,
    card_dir: str | Path = ".",
    resamples: int = 1000,
) -> RegistryDemoResult:
    """Register ``models`` (label → fitted estimator, exactly two: the first is the incumbent), evaluate
    both on ``test``, compare them, alias the better one ``champion`` and write its card as Markdown."""
    if len(models) != 2:
        raise InvalidInputError(
            f"the demo compares two models; got {len(models)}", hint="pass two fitted models"
        )
    versions: dict[str, ModelVersion] = {}
    for label, model in models.items():
        versions[label] = registry.register(
            name,
            model,
            training_frame=train[list(features)],
            run_id=(run_ids or {}).get(label),
            datasets=training_datasets,
            evaluation_datasets=[evaluation_dataset] if evaluation_dataset else [],
            cost_to_train_micros=(costs_micros or {}).get(label),
            currency=currency,
            description=f"{label} classifier of {target}",
        )
    incumbent, candidate = list(versions.values())
    evaluations = {
        v.ref: evaluate_version(
            registry,
            v.ref,
            test,
            target=target,
            sensitive=list(sensitive),
            dataset_version_id=evaluation_dataset,
            dataset_name="test split",
            run_id=v.run_id,
            resamples=resamples,
        )[0]
        for v in versions.values()
    }
    comparison, _ = compare_versions(
        registry,
        incumbent.ref,
        candidate.ref,
        test,
        target=target,
        dataset_version_id=evaluation_dataset,
        resamples=resamples,
    )
    challenger_wins = any(d.significant and d.challenger_better for d in comparison.differences)
    champion, challenger = (candidate, incumbent) if challenger_wins else (incumbent, candidate)
    registry.set_alias(name, "champion", champion.version)
    registry.set_alias(name, "challenger", challenger.version)
    set_sections(registry, champion.ref, DEMO_HUMAN_SECTIONS)
    card = generate_card(registry, champion.ref)
    path = Path(card_dir) / f"model-card-{name}-v{champion.version}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(card, "md"), encoding="utf-8")
    return RegistryDemoResult(
        versions=versions,
        evaluations=evaluations,
        comparison=comparison,
        champion=registry.get(champion.ref),
        challenger=registry.get(challenger.ref),
        card_path=path,
        card_completeness=float(card["completeness"]),
    )
