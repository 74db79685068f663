"""MLflow's tracking model on triops records, for the acting principal of a workspace.

The mapping (documented in docs/mlflow.md):

- an MLflow **experiment** is a triops **project**; its experiment id is the project id, except the project
  ``default``, which is MLflow's experiment ``0`` (named ``Default``);
- an MLflow **run** is a triops run (same id); a nested run is a child run: the ``mlflow.parentRunId`` tag
  (at create-run, set-tag or log-batch) sets the run's parent link, deleting the tag clears it, and the tag is
  kept and returned as MLflow expects (a parent that does not exist or cannot be read is refused);
- deleting a run through MLflow keeps all of it (triops never destroys tracked records) and tags it
  ``triops.lifecycle_stage = deleted``; searches hide it unless asked for deleted runs; restore removes
  the tag.

Every method checks the acting principal's permission in the run's project (``run.write`` to change,
``project.read`` to read; a run in a project the principal cannot read is reported as not existing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson

from triops.domain.clock import utc_ms
from triops.domain.filters import BoolOp, Comparison, Field, evaluate
from triops.domain.mlflow_filter import parse_experiment_filter, parse_mlflow_filter, parse_mlflow_order_by
from triops.domain.records import ArtifactRef, Metric, Run, RunStatus, StoredArtifact
from triops.domain.validation import check_key, check_project_name, param_text, tag_text
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.governance.rbac import Permission, require
from triops.mlops.tracking.active_run import StoreTrackingSink
from triops.mlops.tracking.queries import parent_id_of, readable_parent
from triops.store import audit as audit_store
from triops.store.repositories import mlflow as mlflow_repo
from triops.store.repositories import runs as run_repo
from triops.store.repositories.mlflow import ProjectRow
from triops.store.repositories.search import search_run_ids

if TYPE_CHECKING:
    from triops.workspace.local import Workspace

DEFAULT_PROJECT = "default"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
LIFECYCLE_TAG = "triops.lifecycle_stage"
INPUT_TAG_PREFIX = "triops.mlflow.input."  # + a digest of the input: its DatasetInput JSON
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")
MLFLOW_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


def experiment_id_of(project: ProjectRow) -> str:
    return DEFAULT_EXPERIMENT_ID if project.name == DEFAULT_PROJECT else project.id


def experiment_name_of(project: ProjectRow) -> str:
    return DEFAULT_EXPERIMENT_NAME if project.name == DEFAULT_PROJECT else project.name


def project_name_for(experiment_name: str) -> str:
    """The triops project an MLflow experiment name maps to (names must be valid project names)."""
    if experiment_name == DEFAULT_EXPERIMENT_NAME:
        return DEFAULT_PROJECT
    try:
        return check_project_name(experiment_name)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"experiment name {experiment_name!r} is not a valid triops project name",
            hint=exc.hint,
            detail={"field": "name"},
        ) from None


def lifecycle_of(run: Run) -> str:
    return "deleted" if run.tags.get(LIFECYCLE_TAG) == "deleted" else "active"


class MlflowTracking:
    """The MLflow tracking operations on one workspace, acting as its principal."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.store = ws.store
        self.principal = ws.principal
        self.sink = StoreTrackingSink(ws.store, ws.artifacts, ws.clock, ws.principal.name)

    def _now(self) -> int:
        return utc_ms(self.ws.clock.now())

    # -- experiments ---------------------------------------------------------------------------------------
    def _readable(self, project: ProjectRow | None, what: str) -> ProjectRow:
        if project is None or not self.principal.can(Permission.PROJECT_READ, project.name):
            raise NotFoundError(f"{what} does not exist", hint="list experiments with search_experiments")
        return project

    def experiment(self, experiment_id: str) -> ProjectRow:
        with self.store.connect() as conn:
            if experiment_id == DEFAULT_EXPERIMENT_ID:
                found = mlflow_repo.project_by_name(conn, DEFAULT_PROJECT)
                if found is None:
                    found = ProjectRow(DEFAULT_EXPERIMENT_ID, DEFAULT_PROJECT, self._now())
            else:
                found = mlflow_repo.project_by_id(conn, experiment_id)
        return self._readable(found, f"experiment {experiment_id!r}")

    def experiment_by_name(self, name: str) -> ProjectRow:
        project = project_name_for(name)
        with self.store.connect() as conn:
            found = mlflow_repo.project_by_name(conn, project)
        if found is None and project == DEFAULT_PROJECT:
            found = ProjectRow(DEFAULT_EXPERIMENT_ID, DEFAULT_PROJECT, self._now())
        return self._readable(found, f"experiment {name!r}")

    def create_experiment(self, name: str) -> ProjectRow:
        project = project_name_for(name)
        require(Permission.RUN_WRITE, self.principal, project)
        with self.store.connect() as conn:
            if mlflow_repo.project_by_name(conn, project) is not None:
                raise ConflictError(
                    f"experiment {name!r} already exists",
                    detail={"field": "name", "mlflow_error_code": "RESOURCE_ALREADY_EXISTS"},
                )
        self.store.write(lambda conn: run_repo.ensure_project(conn, project, self._now()))
        return self.experiment_by_name(name)

    def search_experiments(self, filter: str, view_type: str) -> list[ProjectRow]:
        """Experiments (projects) the principal can read; the filter may use ``name`` (=, !=, LIKE, ILIKE,
        IN), ``creation_time`` and ``last_update_time`` (a project's creation time for both)."""
        node = parse_experiment_filter(filter)
        if view_type not in ("", *VIEW_TYPES):
            raise InvalidInputError(f"view_type {view_type!r} is not one of {', '.join(VIEW_TYPES)}")
        if view_type == "DELETED_ONLY":
            return []  # projects are never deleted
        with self.store.connect() as conn:
            rows = mlflow_repo.all_projects(conn)
        out = []
        for row in rows:
            if not self.principal.can(Permission.PROJECT_READ, row.name):
                continue
            record: dict[str, dict[str, Any]] = {
                "attribute": {
                    "name": experiment_name_of(row),
                    "start_time": float(row.created_ms),
                    "end_time": float(row.created_ms),
                }
            }
            if evaluate(node, record):
                out.append(row)
        return out

    # -- runs ----------------------------------------------------------------------------------------------
    def _run_project(self, run_id: str, permission: Permission) -> str:
        with self.store.connect() as conn:
            project = run_repo.run_project(conn, run_id)
        self._allow(run_id, project, permission)
        return project

    def _allow(self, run_id: str, project: str, permission: Permission) -> None:
        if not self.principal.can(Permission.PROJECT_READ, project):
            raise NotFoundError(f"run {run_id!r} does not exist", hint="check the run id")
        require(permission, self.principal, project)

    def create_run(self, experiment_id: str, run_name: str, tags: Mapping[str, str]) -> Run:
        project = self.experiment(experiment_id or DEFAULT_EXPERIMENT_ID).name
        require(Permission.RUN_WRITE, self.principal, project)
        checked = {check_key(k, "tag key"): tag_text(k, v) for k, v in tags.items()}
        name = run_name or checked.get(RUN_NAME_TAG, "")
        parent_id = self._parent(checked)
        run = self.sink.create_run(project, name, checked, parent_id=parent_id)
        if RUN_NAME_TAG not in checked:
            self.sink.set_tags(run.id, {RUN_NAME_TAG: run.name})
            return self.sink.get_run(run.id)
        return run

    def _parent(self, tags: Mapping[str, str]) -> str | None:
        """The parent a ``mlflow.parentRunId`` tag names, if the principal can read it."""
        parent_id = tags.get(PARENT_TAG)
        if parent_id is None:
            return None
        principal = self.principal
        return readable_parent(
            lambda p: principal.can(Permission.PROJECT_READ, p),
            self.sink.get_run,
            parent_id_of(parent_id),
            f"tags.{PARENT_TAG}",
        ).id

    def get_run(self, run_id: str) -> Run:
        self._run_project(run_id, Permission.PROJECT_READ)
        return self.sink.get_run(run_id)

    def update_run(self, run_id: str, status: str, run_name: str) -> Run:
        self._run_project(run_id, Permission.RUN_WRITE)
        if run_name:
            self.store.write(lambda conn: mlflow_repo.rename_run(conn, run_id, run_name))
            self.sink.set_tags(run_id, {RUN_NAME_TAG: tag_text(RUN_NAME_TAG, run_name)})
        if status:
            if status not in MLFLOW_STATUSES:
                raise InvalidInputError(
                    f"status {status!r} is not one of {', '.join(MLFLOW_STATUSES)}",
                    detail={"field": "status"},
                )
            if status in ("RUNNING", "SCHEDULED"):
                self.store.write(lambda conn: mlflow_repo.set_run_status(conn, run_id, "RUNNING", None))
            else:
                self.sink.finish_run(run_id, RunStatus(status), None)
        return self.sink.get_run(run_id)

    def set_deleted(self, run_id: str, deleted: bool) -> None:
        """Mark (or unmark) a run deleted; the change is audited in the same transaction."""
        project = self._run_project(run_id, Permission.RUN_WRITE)
        stage = "deleted" if deleted else "active"

        def write(conn: Any) -> None:
            if deleted:
                run_repo.set_tags(conn, run_id, {LIFECYCLE_TAG: "deleted"})
            else:
                mlflow_repo.delete_tag(conn, run_id, LIFECYCLE_TAG)
            audit_store.append_event(
                conn,
                actor=self.principal.name,
                action="mlflow.run.delete" if deleted else "mlflow.run.restore",
                object_type="run",
                object_id=run_id,
                before=None,
                after={"lifecycle_stage": stage},
                project=project,
                at_ms=self._now(),
            )

        self.store.write(write)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[tuple[str, float, int, int]],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:
        if PARENT_TAG in tags:  # the run is checked before the parent it names (which is read first)
            self._run_project(run_id, Permission.RUN_WRITE)
        for key in dict.fromkeys(map(itemgetter(0), metrics)):  # in order: the first bad key is named
            check_key(key, "metric key")
        checked_params = {check_key(k, "param key"): param_text(k, v) for k, v in params.items()}
        checked_tags = {check_key(k, "tag key"): tag_text(k, v) for k, v in tags.items()}
        new_name = checked_tags.get(RUN_NAME_TAG)
        parent_id = self._parent(checked_tags)

        def write(conn: Any) -> None:
            # the run's project and status in the same transaction as the write: one read, not two
            # connections (a LogBatch request's permission check and metric insert each took one)
            project, status = run_repo.run_project_status(conn, run_id)
            self._allow(run_id, project, Permission.RUN_WRITE)
            run_repo.log_params(conn, run_id, checked_params)
            if parent_id is not None:  # first: a refused link (a cycle) leaves the tag unchanged too
                run_repo.set_parent(conn, run_id, parent_id)
            run_repo.set_tags(conn, run_id, checked_tags)
            run_repo.insert_metrics(conn, run_id, metrics, status=status)
            if new_name:
                mlflow_repo.rename_run(conn, run_id, new_name)

        self.store.write(write)

    def log_inputs(self, run_id: str, inputs: Sequence[dict[str, Any]]) -> None:
        """MLflow dataset inputs (name, digest, source, schema, context tag) kept with the run; the same
        input logged twice is stored once."""
        self._run_project(run_id, Permission.RUN_WRITE)
        values = {}
        for i, item in enumerate(inputs):
            text = orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode()
            try:
                tag_text(f"datasets[{i}]", text)
            except InvalidInputError:
                raise InvalidInputError(
                    f"datasets[{i}] is {len(text):,} characters of JSON; triops keeps up to 8,000 per input",
                    hint="log a smaller schema/profile, or register the dataset with `triops datasets register`",
                    detail={"field": f"datasets[{i}]"},
                ) from None
            values[INPUT_TAG_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:24]] = text
        if values:
            self.sink.set_tags(run_id, values)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._run_project(run_id, Permission.RUN_WRITE)

        def write(conn: Any) -> int:
            if key == PARENT_TAG:  # the tag and the link are one fact: the run is back at the top
                run_repo.set_parent(conn, run_id, None)
            return mlflow_repo.delete_tag(conn, run_id, key)

        removed = self.store.write(write)
        if not removed:
            raise NotFoundError(f"no tag {key!r} on run {run_id}", detail={"field": "key"})

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        self._run_project(run_id, Permission.PROJECT_READ)
        return self.sink.metric_history(run_id, key)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str,
        view_type: str,
        order_by: Sequence[str],
        limit: int,
        offset: int,
    ) -> list[Run]:
        node = parse_mlflow_filter(filter)
        orders = parse_mlflow_order_by(order_by)
        view = view_type or "ACTIVE_ONLY"
        if view not in VIEW_TYPES:
            raise InvalidInputError(
                f"run_view_type {view!r} is not one of {', '.join(VIEW_TYPES)}",
                detail={"field": "run_view_type"},
            )
        if view != "ALL":
            deleted = Comparison(
                Field("tag", LIFECYCLE_TAG), "is null" if view == "ACTIVE_ONLY" else "is not null"
            )
            node = deleted if node is None else BoolOp("and", (node, deleted))
        projects = [self.experiment(e).name for e in experiment_ids]
        if not projects:
            return []
        with self.store.connect() as conn:
            ids = search_run_ids(
                conn,
                project=None,
                projects_in=projects,
                node=node,
                order_by=orders,
                limit=limit,
                offset=offset,
            )
            return run_repo.load_runs(conn, ids)

    def experiment_of_run(self, run: Run) -> str:
        with self.store.connect() as conn:
            found = mlflow_repo.project_by_name(conn, run.project)
        return DEFAULT_EXPERIMENT_ID if found is None else experiment_id_of(found)

    def latest_metrics(self, runs: Sequence[Run]) -> dict[str, list[tuple[str, float, int, int]]]:
        """Latest value, step and timestamp of every metric of ``runs`` (already read-checked)."""
        with self.store.connect() as conn:
            return mlflow_repo.latest_metric_rows(conn, [r.id for r in runs])

    # -- artifacts -----------------------------------------------------------------------------------------
    def attach_artifact(self, run_id: str, path: str, stored: StoredArtifact) -> None:
        self._run_project(run_id, Permission.RUN_WRITE)
        self.sink.attach_artifact(run_id, path, stored)

    def check_artifact_write(self, run_id: str) -> None:
        self._run_project(run_id, Permission.RUN_WRITE)

    def artifact(self, run_id: str, path: str) -> ArtifactRef:
        for ref in self.get_run(run_id).artifacts:
            if ref.name == path:
                return ref
        raise NotFoundError(f"run {run_id} has no artifact {path!r}", detail={"field": "path"})

    def list_artifacts(self, run_id: str, path: str) -> list[tuple[str, bool, int | None]]:
        """Entries directly under ``path`` of the run's artifacts: (name relative to ``path``, is a
        directory, size of a file)."""
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        entries: dict[str, tuple[str, bool, int | None]] = {}
        for ref in self.get_run(run_id).artifacts:
            if not ref.name.startswith(prefix):
                continue
            rest = ref.name[len(prefix) :]
            head, sep, _ = rest.partition("/")
            entries[head] = (head, True, None) if sep else (head, False, ref.size)
        return [entries[k] for k in sorted(entries)]


__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "INPUT_TAG_PREFIX",
    "LIFECYCLE_TAG",
    "PARENT_TAG",
    "MlflowTracking",
    "experiment_id_of",
    "experiment_name_of",
    "lifecycle_of",
    "project_name_for",
]
