"""The real ``mlflow`` client pointed at a live triops server (loopback port, SQLite or PostgreSQL store)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from tests.server.conftest import LiveServer


@pytest.fixture
def mlflow_client(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[LiveServer]:
    """``mlflow`` logging into ``live_server`` as alice (a contributor), as a user sets it up: the tracking
    URI and ``MLFLOW_TRACKING_TOKEN``."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", live_server.token)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.chdir(tmp_path)
    # the client remembers the experiment set_experiment chose (of another test's server)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)  # set_experiment sets it for child processes
    mlflow.set_tracking_uri(live_server.url)
    yield live_server
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
