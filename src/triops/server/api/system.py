"""Health and version endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

import triops
from triops.server.http import PROBLEMS

router = APIRouter(tags=["system"], responses=PROBLEMS)


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    ws = request.app.state.workspace
    with ws.store.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    return {"status": "ok", "version": triops.__version__}
