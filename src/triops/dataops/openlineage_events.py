"""OpenLineage RunEvents as plain dicts, for the pipeline's hot path, and a JSON Lines sink that appends them.

``run_event`` (``openlineage``) builds an event with openlineage-python's attrs classes; serialising one with
the client's ``Serde`` (``attr.asdict``, a recursive null filter, ``json.dumps``) costs about half a
millisecond, twice per step. ``event_document`` builds the same document directly: equal, key for key and
value for value, to ``Serde.to_dict(run_event(...))`` (a test compares the two over every kind of event the
hook emits, and the spec tests validate the lines). The facets' ``_schemaURL`` values are read from the
client's generated classes, so they follow the installed client. A dataset with data-quality facets (an
input a contract gate checked: a few per run) still goes through the client's classes.

``JsonLinesSink`` keeps the file open for the run and appends each event with one unbuffered ``os.write``
of its orjson bytes (keys sorted, as ``Serde`` sorts them): the kernel holds every event before the hook
returns, so a run killed with SIGTERM or SIGKILL loses nothing already emitted, as the FinOps journal.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import error_message_run, job_type_job, parent_run, schema_dataset
from openlineage.client.serde import Serde

from triops.dataops.openlineage import PRODUCER, LineageDataset, ParentJob, _input, _output
from triops.errors import ConfigError, InvalidInputError

_EVENT_SCHEMA = RunEvent._get_schema()
_SCHEMA_FACET = schema_dataset.SchemaDatasetFacet._get_schema()
_JOB_TYPE_FACET = job_type_job.JobTypeJobFacet._get_schema()
_PARENT_FACET = parent_run.ParentRunFacet._get_schema()
_ERROR_FACET = error_message_run.ErrorMessageRunFacet._get_schema()
_TYPES = frozenset({"START", "COMPLETE", "FAIL"})
_job_types: dict[str, dict[str, Any]] = {}


def _job_type(job_type: str) -> dict[str, Any]:
    facet = _job_types.get(job_type)
    if facet is None:
        facet = _job_types[job_type] = {
            "_producer": PRODUCER,
            "_schemaURL": _JOB_TYPE_FACET,
            "integration": "TRIOPS",
            "jobType": job_type,
            "processingType": "BATCH",
        }
    return facet


def _facets(ds: LineageDataset) -> dict[str, Any]:
    if not ds.fields:
        return {}
    fields = [{"fields": [], "name": name, "type": kind} for name, kind in ds.fields]
    return {"schema": {"_producer": PRODUCER, "_schemaURL": _SCHEMA_FACET, "fields": fields}}


def input_document(ds: LineageDataset) -> dict[str, Any]:
    if ds.report is not None or ds.profile is not None:
        return Serde.to_dict(_input(ds))  # quality facets: rare, so built by the client's classes
    return {"facets": _facets(ds), "inputFacets": {}, "name": ds.name, "namespace": ds.namespace}


def output_document(ds: LineageDataset) -> dict[str, Any]:
    if ds.report is not None or ds.profile is not None:
        return Serde.to_dict(_output(ds))
    return {"facets": _facets(ds), "name": ds.name, "namespace": ds.namespace, "outputFacets": {}}


@functools.lru_cache(maxsize=4096)  # a step's id is checked for its START and its end; the parent's each step
def _check_uuid(value: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInputError(
            f"cannot build the OpenLineage event: {value!r} is not a UUID", hint="run_id must be a UUID"
        ) from exc


@functools.lru_cache(maxsize=64)  # the same for every step of a run; documents are only serialised
def _parent_facet(parent: ParentJob) -> dict[str, Any]:
    _check_uuid(parent.run_id)
    return {
        "_producer": PRODUCER,
        "_schemaURL": _PARENT_FACET,
        "job": {"facets": {}, "name": parent.name, "namespace": parent.namespace},
        "run": {"facets": {}, "runId": parent.run_id},
    }


def event_document(
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
) -> dict[str, Any]:
    """The document ``Serde.to_dict(run_event(...))`` gives for the same arguments, built directly."""
    if event_type not in _TYPES:
        raise InvalidInputError(f"event type {event_type!r} is not one of START, COMPLETE, FAIL")
    if event_time.tzinfo is None:
        raise InvalidInputError("event_time must be timezone-aware", hint="pass clock.now() (UTC)")
    _check_uuid(run_id)
    run_facets: dict[str, Any] = {}
    if error is not None:
        run_facets["errorMessage"] = {
            "_producer": PRODUCER,
            "_schemaURL": _ERROR_FACET,
            "message": error,
            "programmingLanguage": "python",
        }
    if parent is not None:
        run_facets["parent"] = _parent_facet(parent)
    return {
        "eventTime": event_time.isoformat(),
        "eventType": event_type,
        "inputs": [input_document(d) for d in inputs],
        "job": {
            "facets": {} if job_type is None else {"jobType": _job_type(job_type)},
            "name": job_name,
            "namespace": job_namespace,
        },
        "outputs": [output_document(d) for d in outputs],
        "producer": PRODUCER,
        "run": {"facets": run_facets, "runId": run_id},
        "schemaURL": _EVENT_SCHEMA,
    }


def encode(document: dict[str, Any]) -> bytes:
    """One JSON Lines record: the document's orjson bytes, keys sorted, and a newline."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


class JsonLinesSink:
    """A JSON Lines file held open while a run emits: one unbuffered append per event."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def write(self, document: dict[str, Any]) -> None:
        data = encode(document)
        if self._fd is None:
            if self.path.is_dir():
                raise ConfigError(f"OpenLineage target {self.path} is a directory", hint="name a .jsonl file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()
