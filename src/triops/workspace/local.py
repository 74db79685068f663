"""``Workspace``: one handle on a triops store, local (SQLite/PostgreSQL) or remote (a triops server).

``Workspace.open()`` with no URL opens SQLite (WAL) under ``./.triops/`` (or ``TRIOPS_HOME``); a
``postgresql+psycopg://`` URL opens PostgreSQL; an ``http(s)://`` URL talks to a triops server with the same
SDK surface. Opening a local store applies pending migrations and refuses a store from a newer triops.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from triops.artifacts import ArtifactStore
from triops.domain.clock import Clock, SystemClock
from triops.domain.records import Run
from triops.domain.validation import check_name, check_project_name, tag_text
from triops.errors import ConfigError
from triops.mlops.tracking.active_run import ActiveRun, StoreTrackingSink, TrackingSink
from triops.mlops.tracking.queries import PARENT_FIELD, parent_id_of, readable_parent
from triops.mlops.tracking.run_queries import RunQueries
from triops.settings import Settings
from triops.store.engine import Store, create_store
from triops.store.migrate import upgrade
from triops.workspace.services import PillarServices

if TYPE_CHECKING:
    from triops.governance.rbac import Principal


def default_sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'triops.db').resolve()}"


class Workspace(PillarServices):
    """Everything triops knows, behind one object. Create with ``Workspace.open()``."""

    def __init__(
        self,
        *,
        settings: Settings,
        sink: TrackingSink,
        store: Store | None,
        artifacts: ArtifactStore | None,
        clock: Clock,
        url: str,
        principal: Principal | None = None,
        owns_store: bool = True,
    ) -> None:
        self.settings = settings
        self.url = url
        self.clock = clock
        self._sink = sink
        self._store = store
        self._artifacts = artifacts
        self._principal = principal
        self._single_user = principal is None and store is not None
        self._owns_store = owns_store
        self.runs = RunQueries(sink, readable=None if store is None else self._readable_projects)
        self.extra_hooks: list[Any] = []
        self._witness: Path | None = None  # the witness file, found on the first seal

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        token: str | None = None,
        settings: Settings | None = None,
        artifact_root: str | Path | None = None,
        clock: Clock | None = None,
    ) -> Workspace:
        settings = settings or Settings.load()
        clock = clock or SystemClock()
        url = url or settings.store_url
        if url and url.startswith(("http://", "https://")):
            from triops.workspace.remote_http import HttpTransport
            from triops.workspace.remote_workspace import RemoteWorkspace

            transport = HttpTransport(url, token=token or settings.token)
            return RemoteWorkspace(settings=settings, transport=transport, clock=clock, url=url)
        home = Path(settings.home)
        url = url or default_sqlite_url(home)
        store = create_store(
            url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        try:
            upgrade(store)
        except BaseException:
            store.dispose()
            raise
        root = artifact_root or settings.artifact_root or (home / "artifacts")
        artifacts = ArtifactStore(root)
        local_sink = StoreTrackingSink(store, artifacts, clock, settings.acting_user)
        return cls(settings=settings, sink=local_sink, store=store, artifacts=artifacts, clock=clock, url=url)

    # -- access to the layers below ------------------------------------------------------------------------
    @property
    def is_remote(self) -> bool:
        return self._store is None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise ConfigError(
                f"workspace {self.url} is remote: it has no local store",
                hint="open the store URL directly (sqlite:///… or postgresql+psycopg://…) for this operation",
            )
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            raise ConfigError(
                f"workspace {self.url} is remote: it has no local artifact root",
                hint="download artifacts through the server API",
            )
        return self._artifacts

    # -- who acts ------------------------------------------------------------------------------------------
    @property
    def principal(self) -> Principal:
        """The principal every service of this workspace acts as (and checks permissions for).

        Opened locally, it is the OS user running the process (``TRIOPS_USER`` is a display name, recorded
        once in the audit log beside it, never a principal); the server hands each request a view acting as
        the token's user (``acting_as``)."""
        if self._principal is None:
            from triops.governance.roles import acting_principal, record_display_name

            principal = acting_principal(self.store, self.settings.acting_user, self.clock)
            display = self.settings.display_name
            if display is not None:
                record_display_name(self.store, principal.name, display, self.clock)
            self._principal = principal
        return self._principal

    @property
    def single_user(self) -> bool:
        """True when this workspace acts as the local OS user (a store opened directly, not a server's view
        acting for an authenticated user): there is no second principal to separate duties from."""
        return self._single_user

    def _readable_projects(self) -> frozenset[str] | None:
        """Projects the acting principal may read (``None``: every one); listings filter by it in SQL."""
        from triops.governance.rbac import Permission

        return self.principal.projects_with(Permission.PROJECT_READ)

    def acting_as(self, principal: Principal) -> Workspace:
        """A view of this workspace whose services act as ``principal`` (the server makes one per request).

        It shares the store, artifact root, clock and settings; closing it closes nothing shared."""
        sink = StoreTrackingSink(self.store, self.artifacts, self.clock, principal.name)
        view = Workspace(
            settings=self.settings,
            sink=sink,
            store=self._store,
            artifacts=self._artifacts,
            clock=self.clock,
            url=self.url,
            principal=principal,
            owns_store=False,
        )
        view.extra_hooks = self.extra_hooks
        return view

    # -- tracking ------------------------------------------------------------------------------------------
    def start_run(
        self,
        project: str | None = None,
        name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        parent: ActiveRun | Run | str | None = None,
    ) -> ActiveRun:
        """Start a run in ``project`` (default: the parent's project, else ``default``). ``parent`` (a run,
        or its id) nests it under a run you can read, in any project (as MLflow nests runs)."""
        from triops.governance.rbac import Permission, require

        parent_id = None
        if parent is not None:
            parent_id = parent_id_of(parent)
            principal = self.principal
            found = readable_parent(
                lambda p: principal.can(Permission.PROJECT_READ, p),
                self._sink.get_run,
                parent_id,
                PARENT_FIELD,
            )
            project = project if project is not None else found.project
        project = project if project is not None else "default"
        check_project_name(project)
        require(Permission.RUN_WRITE, self.principal, project)
        if name is not None:
            check_name(name, "run name", allow_empty=True)
        checked_tags = {str(k): tag_text(str(k), v) for k, v in (tags or {}).items()}
        run = self._sink.create_run(project, name or "", checked_tags, parent_id=parent_id)
        return ActiveRun(
            self._sink,
            run,
            flush_every=self.settings.flush_every,
            flush_interval_s=self.settings.flush_interval_s,
            clock=self.clock,
            heartbeat_s=self.settings.run_heartbeat_s,
        )

    def add_hook(self, hook: Any) -> None:
        """Register a pipeline hook of your own (``before_run``, ``before_step``, ``after_step``, ``after_run``,
        ``on_failure``); it runs after the built-in ones on every ``run_pipeline``."""
        self.extra_hooks.append(hook)

    def audit_unsigned(self) -> bool:
        """Whether audit events were written since the last checkpoint (one indexed read)."""
        if self._store is None:
            return False
        from triops.store import audit as audit_store

        with self._store.connect() as conn:
            return audit_store.unsealed(conn)

    def checkpoint_audit(self, *, unsigned: bool = False) -> None:
        """Sign the audit log's head (and the checkpoints due) and append it to the witness, if events were
        written since the last checkpoint. Runs at the end of every command, session and server request.
        ``unsigned``: the caller has just seen ``audit_unsigned()`` (the sealing transaction checks again)."""
        if self._store is None:
            return
        from triops.governance.audit import AuditKey, default_key_path
        from triops.governance.witness import seal_head, witness_file

        if not unsigned and not self.audit_unsigned():  # nothing new since the last signed head: no key
            return
        settings = self.settings
        key = AuditKey.load_cached(default_key_path(Path(settings.home), settings.audit_key_path))
        if self._witness is None:
            self._witness = witness_file(settings.audit_witness_dir, self._store.url)
        # The witness line is flushed to disk when the store's commits are: with SQLite's default
        # synchronous=NORMAL a commit survives a crash of the process but not of the machine (docs/tracking.md),
        # and a flushed line that outlived the events it signs would read as a truncated chain on verify.
        flush = self._store.dialect != "sqlite" or settings.sqlite_synchronous == "FULL"
        every = settings.audit_checkpoint_every
        seal_head(self._store, key, self._witness, every=every, clock=self.clock, flush=flush)

    def close(self) -> None:
        if "serving" in self.__dict__:  # write the prediction log before the store goes
            self.__dict__["serving"].close()
        close = getattr(self._sink, "close", None)
        if callable(close):
            close()  # first: its last buffered writes belong under the signed head
        if self._store is not None and self._owns_store:
            try:
                self.checkpoint_audit()
            finally:
                self._store.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.url}>"
