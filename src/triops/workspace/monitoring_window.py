"""Evaluating one monitor's windows: the prediction log against the reference, then the alert policies.

Called by ``ws.monitoring.run``; everything pillar-crossing happens here (the registry's model scores the
reference for prediction drift, the DataOps contract checks each window, governance's CEL evaluates the alert
policies and the audit log records each alert), while the statistics themselves are pure
(``triops.mlops.monitoring``).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from triops.errors import TriopsError
from triops.mlops.monitoring.binning import FeatureReference, build_references, is_numeric
from triops.mlops.monitoring.drift import DriftRules, FeatureDrift, drift_report, feature_drift
from triops.mlops.monitoring.window_report import window_facts, window_performance
from triops.mlops.monitoring.windows import Window

if TYPE_CHECKING:
    from triops.mlops.registry.records import ModelVersion
    from triops.workspace.local import Workspace

WEBHOOK_TIMEOUT_S = 5.0
MIN_LABELS = 30
RESAMPLES = 500


@dataclass
class Context:
    """What every window of one run shares: the reference, its prediction reference, labels, settings."""

    references: dict[str, FeatureReference]
    prediction_reference: FeatureReference | None
    prediction_note: str | None
    pos_label: Any
    labels: dict[str, Any]
    sensitive: list[str]
    contract: Any
    rules: DriftRules
    project: str


def reference_scores(
    ws: Workspace, version: ModelVersion, frame: pl.DataFrame
) -> tuple[pl.Series | None, Any, str | None]:
    """The model's outputs on the reference (positive-class score for a binary classifier), its positive
    class, and why prediction drift is not available when it is not."""
    from triops.mlops.registry.signature import to_pandas

    if version.signature is None:
        return None, None, "the model version has no signature"
    names = version.signature.names()
    missing = [n for n in names if n not in frame.columns]
    if missing:
        return None, None, f"the reference has no column {missing[0]!r} the model needs"
    model = ws.models.load(version.ref).model
    x = to_pandas(frame.select(names))
    classes = list(getattr(model, "classes_", []))
    if len(classes) == 2 and hasattr(model, "predict_proba"):
        pos = classes[1].item() if isinstance(classes[1], np.generic) else classes[1]
        return pl.Series("prediction", np.asarray(model.predict_proba(x))[:, 1]), pos, None
    return pl.Series("prediction", np.asarray(model.predict(x))), None, None


_Profile = tuple[dict[str, FeatureReference], FeatureReference | None, Any, str | None]
_PROFILES: OrderedDict[tuple[Any, ...], _Profile] = OrderedDict()
_PROFILES_KEPT = 4  # a million-row, ten-feature reference profile holds ~80 MB
_PROFILES_LOCK = threading.Lock()


def reference_profile(
    ws: Workspace, version: ModelVersion, mon: dict[str, Any], reference: Callable[[], pl.DataFrame]
) -> _Profile:
    """The reference's per-feature profile (sorted values, bins, category counts) and the prediction
    reference, made once per monitor and kept for its next runs in this process (the last few monitors):
    a dataset version and a model version never change, so the key is the store, the monitor, its reference
    dataset version, the model version, the features and the bins. ``reference`` loads the frame when the
    profile is not kept."""
    rules = DriftRules(bins=int(mon["bins"]))
    features = tuple(mon["features"])
    key = (ws.store.url, mon["id"], mon["reference_dataset_id"], version.ref, features, rules.bins)
    with _PROFILES_LOCK:
        kept = _PROFILES.get(key)
        if kept is not None:
            _PROFILES.move_to_end(key)
            return kept
    frame = reference()
    references = build_references(frame, list(features), rules.bins)
    scores, pos_label, note = reference_scores(ws, version, frame)
    prediction_ref = None
    if scores is not None:
        prediction_ref = build_references(pl.DataFrame([scores]), ["prediction"], rules.bins)["prediction"]
    profile = (references, prediction_ref, pos_label, note)
    with _PROFILES_LOCK:
        _PROFILES[key] = profile
        while len(_PROFILES) > _PROFILES_KEPT:
            _PROFILES.popitem(last=False)
    return profile


def build_context(
    ws: Workspace,
    version: ModelVersion,
    mon: dict[str, Any],
    reference: Callable[[], pl.DataFrame],
    ids: list[str],
) -> Context:
    from triops.store.repositories import monitoring as repo

    rules = DriftRules(bins=int(mon["bins"]))
    references, prediction_ref, pos_label, note = reference_profile(ws, version, mon, reference)
    with ws.store.connect() as conn:
        labels = repo.labels(conn, ids)
    contract = None
    if mon.get("contract"):
        from triops.workspace.serving import protected_columns

        logged = set(version.signature.names() if version.signature else []) - set(
            protected_columns(ws, version)
        )
        contract = _contract_on(mon["contract"], logged, f"monitor {version.ref} contract")
    return Context(
        references,
        prediction_ref,
        note,
        pos_label,
        labels,
        list(mon["sensitive"]),
        contract,
        rules,
        mon["project"],
    )


def _contract_on(text: str, columns: set[str], where: str) -> Any:
    """The training contract restricted to the columns the prediction log holds in clear: the target and
    restricted columns are not there, and their rules are not the window's to fail."""
    import yaml

    from triops.dataops.contracts import parse_contract

    data = yaml.safe_load(text)
    for obj in data.get("schema") or []:
        if isinstance(obj, dict) and isinstance(obj.get("properties"), list):
            obj["properties"] = [
                p for p in obj["properties"] if isinstance(p, dict) and p.get("name") in columns
            ]
    return parse_contract(yaml.safe_dump(data, sort_keys=False), where=where)


def _quality(ws: Workspace, ctx: Context, frame: pl.DataFrame) -> dict[str, Any] | None:
    """The training contract's rules on the window's columns (rules on columns the log lacks are left out)."""
    if ctx.contract is None:
        return None
    names = [str(p.name) for obj in ctx.contract.schema_ or [] for p in obj.properties or []]
    report = ws.datasets.check(
        ctx.contract, frame.select([n for n in names if n in frame.columns]), project=ctx.project
    )
    results = list(report.results)
    failed = [r for r in results if not r.passed]
    return {
        "passed": not any(r.severity == "error" for r in failed),
        "score": (len(results) - len(failed)) / len(results) if results else None,
        "failed_rules": len(failed),
        "failed": [r.rule for r in failed][:20],
    }


def _prediction_drift(ctx: Context, frame: pl.DataFrame) -> FeatureDrift | None:
    if ctx.prediction_reference is None:
        return None
    column = "score" if frame.get_column("score").null_count() < frame.height else "output"
    series = frame.get_column(column).alias("prediction")
    if ctx.prediction_reference.kind == "numeric" and not is_numeric(series.dtype):
        return None
    return feature_drift(ctx.prediction_reference, series, ctx.rules)


def evaluate_window(
    ws: Workspace, ctx: Context, window: Window, frame: pl.DataFrame
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(facts, report) of one window of the prediction frame."""
    part = frame.slice(window.start_row, window.rows)
    drift = drift_report(ctx.references, part, ctx.rules)
    prediction = _prediction_drift(ctx, part)
    ids = part.get_column("id").to_list()
    labelled_rows = [i for i, pid in enumerate(ids) if pid in ctx.labels]
    performance: Any = None
    perf_note: str | None = "no labels yet"
    if labelled_rows:
        sub = part[labelled_rows]
        y = np.asarray([ctx.labels[pid] for pid in sub.get_column("id").to_list()], dtype=object)
        score_col = sub.get_column("score")
        scores = (
            None
            if score_col.null_count() == sub.height
            else score_col.cast(pl.Float64).fill_null(np.nan).to_numpy()
        )
        sensitive = {
            c: sub.get_column(c).cast(pl.String).to_numpy() for c in ctx.sensitive if c in sub.columns
        }
        if scores is not None and ctx.pos_label is not None:
            y = np.asarray([type(ctx.pos_label)(v) if v is not None else v for v in y], dtype=object)
        performance, perf_note = window_performance(
            y, scores, sub.get_column("output").to_numpy(), sensitive,
            pos_label=ctx.pos_label, min_labels=MIN_LABELS, resamples=RESAMPLES,
        )  # fmt: skip
    quality = _quality(ws, ctx, part)
    times = part.get_column("time_ms")
    facts = window_facts(
        window,
        start_ms=int(times.min()),  # type: ignore[arg-type]
        end_ms=int(times.max()),  # type: ignore[arg-type]
        labelled=len(labelled_rows),
        drift=drift,
        prediction=prediction,
        quality=quality,
        performance=performance,
    )
    report = {
        "features": [f.as_dict() for f in drift],
        "prediction": None if prediction is None else prediction.as_dict(),
        "prediction_note": ctx.prediction_note,
        "performance": None if performance is None else performance.to_dict(),
        "performance_note": perf_note if performance is None else None,
        "quality": quality,
    }
    return facts, report


def deliver(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST the alert as JSON; the outcome (status or error) is stored with the alert, never raised."""
    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # noqa: S310 (http(s), checked at parse)
            return {"url": url, "status": int(response.status), "ok": 200 <= response.status < 300}
    except urllib.error.HTTPError as exc:
        return {"url": url, "status": exc.code, "ok": False, "error": str(exc.reason)[:200]}
    except (urllib.error.URLError, OSError, TriopsError) as exc:
        return {"url": url, "status": None, "ok": False, "error": str(exc)[:200]}
