"""An endpoint: ``MODEL@ALIAS`` served by whichever version the alias points at, swapped without a gap.

``current()`` returns the loaded ``Predictor`` of the version the alias pointed at when last checked. A
watcher thread asks the registry every ``poll_interval_s`` where the alias points; when it has moved, the
new version is loaded *beside* the old one and then swapped in by one reference assignment. A request that
already holds the old predictor finishes on it, so no request in flight fails or is dropped; requests
arriving after the swap get the new version. If the new version cannot be loaded, the old one keeps
serving and ``last_error`` says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from triops.mlops.registry.records import ModelVersion
from triops.mlops.serving.predictor import Predictor


class Endpoint:
    """The live predictor of ``model@alias`` (see the module docstring)."""

    def __init__(
        self,
        model: str,
        alias: str,
        resolve: Callable[[], ModelVersion],
        load: Callable[[ModelVersion], Predictor],
        *,
        poll_interval_s: float = 0.5,
        on_swap: Callable[[Predictor, Predictor], None] | None = None,
    ) -> None:
        self.model = model
        self.alias = alias
        self._resolve = resolve
        self._load = load
        self._interval = poll_interval_s
        self._on_swap = on_swap
        self._predictor = load(resolve())
        self.last_error: str | None = None
        self.swaps = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.alias}"

    def current(self) -> Predictor:
        return self._predictor

    def start(self) -> Endpoint:
        """Start watching the alias (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._watch, name=f"triops-endpoint-{self.ref}", daemon=True
            )
            self._thread.start()
        return self

    def refresh(self) -> bool:
        """Check the alias now; swap if it moved. True when a new version was swapped in."""
        with self._lock:
            try:
                version = self._resolve()
                if version.id == self._predictor.version.id:
                    self.last_error = None
                    return False
                fresh = self._load(version)
            except Exception as exc:  # the old version keeps serving; the error is kept for /health
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                return False
            old, self._predictor = self._predictor, fresh
            self.swaps += 1
            self.last_error = None
        if self._on_swap is not None:
            self._on_swap(old, fresh)
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
