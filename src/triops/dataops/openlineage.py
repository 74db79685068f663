"""OpenLineage out: RunEvents (START, COMPLETE, FAIL) built with openlineage-python, emitted to a JSON Lines
file or to an HTTP endpoint (Marquez-compatible ``/api/v1/lineage``).

Input datasets carry the schema facet, the data-quality metrics facet (row count, per-column null and
distinct counts, min/max, quantiles) and the data-quality assertions facet (one assertion per contract rule);
outputs carry the schema facet and output statistics. Events follow the OpenLineage 2-0-2 spec;
``openlineage_spec.validate_event`` checks one against it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.serde import Serde

from triops.dataops.profile import DatasetProfile
from triops.dataops.report import CheckReport
from triops.errors import ConfigError, InvalidInputError, RemoteError

PRODUCER = "https://github.com/triops/triops/tree/main/src/triops/dataops"
_STATES = {"START": RunState.START, "COMPLETE": RunState.COMPLETE, "FAIL": RunState.FAIL}


@dataclass(frozen=True, slots=True)
class LineageDataset:
    """A dataset as lineage sees it: where it lives, its columns and what was measured about it."""

    namespace: str
    name: str
    fields: tuple[tuple[str, str], ...] = ()
    report: CheckReport | None = None
    profile: DatasetProfile | None = None
    size_bytes: int | None = None

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> LineageDataset:
        """``file:///x.csv`` → (file, /x.csv); ``postgresql://h:5432/db/t`` → (postgres://h:5432, db.t)."""
        parsed = urlparse(uri)
        if parsed.scheme == "memory":
            return cls("triops", parsed.netloc or parsed.path or "frame", **kwargs)
        if parsed.scheme == "file":
            return cls("file", parsed.path, **kwargs)
        if parsed.scheme.startswith("postgres"):
            host = parsed.hostname or "localhost"
            return cls(
                f"postgres://{host}:{parsed.port or 5432}", parsed.path.strip("/").replace("/", "."), **kwargs
            )
        if parsed.scheme and parsed.netloc:
            return cls(f"{parsed.scheme.split('+')[0]}://{parsed.netloc}", parsed.path.strip("/"), **kwargs)
        return cls("triops", parsed.netloc or parsed.path or uri, **kwargs)


def lineage_dataset(
    data: Any,
    *,
    name: str | None = None,
    report: CheckReport | None = None,
    profile: DatasetProfile | None = None,
) -> LineageDataset:
    """A LineageDataset for anything ``sources.open_source`` reads (a path, a frame, a Source)."""
    from triops.dataops.sources import open_source

    source = open_source(data, name=name)
    fields = tuple((col, str(dtype)) for col, dtype in source.lazy().collect_schema().items())
    return LineageDataset.from_uri(
        source.uri, fields=fields, report=report, profile=profile, size_bytes=source.size_bytes
    )


def parquet_columns(handle: IO[bytes]) -> list[tuple[str, str]]:
    """The columns of a Parquet file (name, polars type), read from its footer only."""
    import polars as pl

    return [(name, str(dtype)) for name, dtype in pl.read_parquet_schema(handle).items()]


def _schema_facet(ds: LineageDataset) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in ds.fields],
        producer=PRODUCER,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _metrics_facet(
    ds: LineageDataset,
) -> data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet:
    columns: dict[str, data_quality_metrics_input_dataset.ColumnMetrics] = {}
    rows = ds.report.row_count if ds.report else ds.profile.row_count if ds.profile else None
    if ds.profile is not None:
        for col in ds.profile.columns:
            columns[col.name] = data_quality_metrics_input_dataset.ColumnMetrics(
                nullCount=col.null_count,
                distinctCount=col.distinct,
                count=float(ds.profile.row_count - col.null_count),
                min=_number(col.min),
                max=_number(col.max),
                quantiles={k: float(v) for k, v in col.quantiles.items()},
            )
    elif ds.report is not None:
        for name, nulls in ds.report.null_counts.items():
            columns[name] = data_quality_metrics_input_dataset.ColumnMetrics(
                nullCount=nulls, count=float(ds.report.row_count - nulls)
            )
    return data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
        columnMetrics=columns, rowCount=rows, bytes=ds.size_bytes, producer=PRODUCER
    )


def _assertions_facet(
    report: CheckReport,
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=r.kind,
                success=r.passed,
                column=r.column,
                severity=r.severity,
                name=r.rule,
                description=r.description,
                expected=r.expected or None,
                actual=None if r.measured is None else f"{r.measured:g}",
            )
            for r in report.results
        ],
        producer=PRODUCER,
    )


def _input(ds: LineageDataset) -> InputDataset:
    facets: dict[str, Any] = {"schema": _schema_facet(ds)} if ds.fields else {}
    input_facets: dict[str, Any] = {}
    if ds.report is not None or ds.profile is not None:
        input_facets["dataQualityMetrics"] = _metrics_facet(ds)
    if ds.report is not None:
        input_facets["dataQualityAssertions"] = _assertions_facet(ds.report)
    return InputDataset(namespace=ds.namespace, name=ds.name, facets=facets, inputFacets=input_facets)


def _output(ds: LineageDataset) -> OutputDataset:
    facets: dict[str, Any] = {"schema": _schema_facet(ds)} if ds.fields else {}
    rows = ds.report.row_count if ds.report else ds.profile.row_count if ds.profile else None
    output_facets: dict[str, Any] = {}
    if rows is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows, size=ds.size_bytes, producer=PRODUCER
            )
        )
    return OutputDataset(namespace=ds.namespace, name=ds.name, facets=facets, outputFacets=output_facets)


@dataclass(frozen=True, slots=True)
class ParentJob:
    """The run that spawned this one (a pipeline run for its steps): becomes the parent run facet."""

    run_id: str
    namespace: str
    name: str


def run_event(
    event_type: str,
    *,
    run_id: str,
    job_name: str,
    event_time: datetime,
    job_namespace: str = "triops",
    inputs: Sequence[LineageDataset] = (),
    outputs: Sequence[LineageDataset] = (),
    error: str | None = None,
    parent: ParentJob | None = None,
    job_type: str | None = None,
) -> RunEvent:
    """One OpenLineage RunEvent; ``event_type`` is START, COMPLETE or FAIL; ``run_id`` a UUID.

    ``job_type`` (PIPELINE, STEP) adds the job type facet (batch processing, integration TRIOPS)."""
    if event_type not in _STATES:
        raise InvalidInputError(f"event type {event_type!r} is not one of START, COMPLETE, FAIL")
    if event_time.tzinfo is None:
        raise InvalidInputError("event_time must be timezone-aware", hint="pass clock.now() (UTC)")
    run_facets: dict[str, Any] = {}
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    if parent is not None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent.run_id),
            job=parent_run.Job(namespace=parent.namespace, name=parent.name),
            producer=PRODUCER,
        )
    job_facets: dict[str, Any] = {}
    if job_type is not None:
        job_facets["jobType"] = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="TRIOPS", jobType=job_type, producer=PRODUCER
        )
    try:
        return RunEvent(
            eventType=_STATES[event_type],
            eventTime=event_time.isoformat(),
            run=Run(runId=run_id, facets=run_facets),
            job=Job(namespace=job_namespace, name=job_name, facets=job_facets),
            producer=PRODUCER,
            inputs=[_input(d) for d in inputs],
            outputs=[_output(d) for d in outputs],
        )
    except ValueError as exc:
        raise InvalidInputError(
            f"cannot build the OpenLineage event: {exc}", hint="run_id must be a UUID"
        ) from exc


def event_dict(event: RunEvent) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(Serde.to_json(event))
    return result


@functools.lru_cache(maxsize=8)
def _http_client(url: str, timeout_s: float) -> Any:
    """One client (and connection pool) per endpoint: a pipeline run sends an event per step."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    parsed = urlparse(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    endpoint = parsed.path.lstrip("/") or "api/v1/lineage"
    return OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(url=base, endpoint=endpoint, timeout=timeout_s, retry={"total": 0})
        )
    )


def emit(events: Sequence[RunEvent], target: str | Path, *, timeout_s: float = 5.0) -> int:
    """Send events to a JSON Lines file (appended) or an ``http(s)://`` endpoint. Returns how many."""
    text = str(target)
    if text.startswith(("http://", "https://")):
        client = _http_client(text, timeout_s)
        for event in events:
            try:
                client.emit(event)
            except Exception as exc:  # the transport raises requests/urllib3 errors of many kinds
                raise RemoteError(
                    f"OpenLineage endpoint {text} refused the event: {exc}",
                    hint="check the URL (Marquez listens on /api/v1/lineage)",
                ) from exc
        return len(events)
    path = Path(text)
    if path.is_dir():
        raise ConfigError(f"OpenLineage target {path} is a directory", hint="name a .jsonl file")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for event in events:
            handle.write(Serde.to_json(event) + "\n")
    return len(events)
