"""The API docs page (Swagger UI) served entirely by triops: no request leaves the machine.

Swagger UI's bundle and stylesheet come from the ``fastapi-offline`` package, which ships them as files
(swagger-ui-dist 5, so OpenAPI 3.1 renders); the page and its start-up script are triops' own. Nothing is
inline, so the Content-Security-Policy can allow scripts and styles from this server only.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from triops.errors import NotFoundError

ASSETS = {
    "swagger-ui-bundle.js": ("fastapi_offline", "application/javascript"),
    "swagger-ui.css": ("fastapi_offline", "text/css"),
    "favicon.png": ("fastapi_offline", "image/png"),
    "swagger-init.js": ("triops.server", "application/javascript"),
}


def _asset_path(name: str) -> Path:
    package, _ = ASSETS[name]
    return Path(str(files(package).joinpath("static", name)))


def docs_page(prefix: str, openapi_url: str) -> str:
    base = f"{prefix}/docs/static"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>triops API</title>
<link rel="icon" type="image/png" href="{base}/favicon.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{escape(openapi_url)}"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/swagger-init.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI, prefix: str) -> None:
    """``{prefix}/docs`` and its assets, all from this server."""
    router = APIRouter(include_in_schema=False)
    page = docs_page(prefix, app.openapi_url or f"{prefix}/openapi.json")

    @router.get(f"{prefix}/docs")
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @router.get(prefix + "/docs/static/{name}")
    def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise NotFoundError(f"no docs asset {name!r}", hint="the docs page names its assets")
        return FileResponse(_asset_path(name), media_type=ASSETS[name][1])

    app.include_router(router)


__all__ = ["ASSETS", "add_docs", "docs_page"]
