"""OpenLineage events to an HTTP endpoint without holding up a pipeline's steps.

The OpenLineage specification (``../shared/specs/openlineage-2-0-2``: the RunEvent schema and its facets)
defines one event per document and no batch format, and the HTTP transport of the reference clients posts
each event on its own to ``/api/v1/lineage``. So each event is still one POST, but none is sent on the step's
path: ``HttpLineageSender.send`` puts the event's document on a bounded queue and returns; one background
thread posts them in order over a kept-alive connection; ``flush`` (the hook calls it at the end of every
run) waits until the queue is empty, for at most ``flush_timeout_s``.

Never blocking means something must give when the endpoint is slower than the run: an event that finds
the queue full is not sent but kept in ``undelivered`` (and logged), as is every event the endpoint refuses
or that cannot reach it. After a failure the endpoint is given ``retry_after_s`` before the next attempt, and
events queued meanwhile go to ``undelivered`` at once, so an endpoint that is down costs one time-out, not
one per event. Events still queued when the process is killed are lost: the JSON Lines file target is the
one that keeps every event through a crash.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson

_log = logging.getLogger("triops.lineage")
DEFAULT_PATH = "/api/v1/lineage"


def endpoint_url(url: str) -> str:
    """``url`` with the Marquez-style path when it names none (as ``emit`` does)."""
    parsed = urlparse(url)
    path = parsed.path if parsed.path not in ("", "/") else DEFAULT_PATH
    return parsed._replace(path=path).geturl()


class HttpLineageSender:
    """A bounded queue of event documents and the one thread that posts them, in order."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        max_queue: int = 10_000,
        flush_timeout_s: float = 30.0,
        retry_after_s: float = 5.0,
    ) -> None:
        self.url = endpoint_url(url)
        self.timeout_s = timeout_s
        self.flush_timeout_s = flush_timeout_s
        self.retry_after_s = retry_after_s
        self.delivered = 0
        self.undelivered: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | threading.Event | None] = queue.Queue(max_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0

    def send(self, document: dict[str, Any]) -> None:
        """Queue one event for the background thread; never waits."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(document)
        except queue.Full:
            self._fail(document, f"more than {self._queue.maxsize:,} events waiting to be sent")

    def flush(self) -> bool:
        """Wait until every queued event was sent or given up on (≤ ``flush_timeout_s``); True if so.
        Events still queued at the time-out are moved to ``undelivered``."""
        if self._thread is None:
            return True
        done = threading.Event()
        deadline = time.monotonic() + self.flush_timeout_s
        try:
            self._queue.put(done, timeout=self.flush_timeout_s)
        except queue.Full:
            pass
        else:
            if done.wait(max(0.0, deadline - time.monotonic())):
                return True
        self._give_up_queued("the run ended before it could be sent")
        return False

    def close(self) -> None:
        """Flush, then stop the thread."""
        self.flush()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(self.timeout_s)
            self._thread = None

    # -- the background thread -------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="triops-lineage-http", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if isinstance(item, threading.Event):
                    item.set()
                    continue
                self._post(client, item)

    def _post(self, client: httpx.Client, document: dict[str, Any]) -> None:
        if time.monotonic() < self._down_until:
            self.undelivered.append(document)  # the failure that marked it down was logged
            return
        try:
            response = client.post(
                self.url,
                content=orjson.dumps(document, option=orjson.OPT_SORT_KEYS),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            self._down_until = time.monotonic() + self.retry_after_s
            self._fail(document, f"{type(exc).__name__}: {exc}")
            return
        if response.status_code >= 400:
            self._fail(document, f"HTTP {response.status_code}: {response.text[:200]}")
            return
        self.delivered += 1

    def _fail(self, document: dict[str, Any], why: str) -> None:
        self.undelivered.append(document)
        _log.warning("OpenLineage event not delivered to %s: %s", self.url, why)

    def _give_up_queued(self, why: str) -> None:
        dropped = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, dict):
                self.undelivered.append(item)
                dropped += 1
        if dropped:
            _log.warning("%d OpenLineage events not delivered to %s: %s", dropped, self.url, why)


__all__ = ["DEFAULT_PATH", "HttpLineageSender", "endpoint_url"]
