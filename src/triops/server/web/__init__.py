"""The web app: server-rendered pages (Jinja2, plain forms, SVG charts) over the same services as the API.

``mount(app)`` adds the pages at ``/`` and the stylesheet at ``/static``; every asset is served by triops
itself (the Content-Security-Policy allows only this server). Pages live one module per area
(``pages_<area>.py``); ``core`` holds sessions, CSRF and HTML errors, ``render`` the templates and the
navigation (``register_section`` is the extension point for serving and monitoring pages).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(str(files("triops.server.web").joinpath("static")))


def mount(app: FastAPI) -> None:
    from triops.server.web import (
        auth_pages,
        pages_costs,
        pages_data,
        pages_governance,
        pages_home,
        pages_models,
        pages_monitoring,
        pages_pipelines,
        pages_runs,
        pages_workshop,
        pages_workshop_learner,
        sim_pool,
    )

    for module in (
        auth_pages,
        pages_home,
        pages_runs,
        pages_pipelines,
        pages_data,
        pages_models,
        pages_costs,
        pages_governance,
        pages_workshop,
        pages_workshop_learner,
    ):
        app.include_router(module.router)
    pages_monitoring.install(app)  # a section of its own through register_section
    app.router.add_event_handler("shutdown", sim_pool.shutdown)  # the workshop simulations' workers
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="web-static")


__all__ = ["STATIC_DIR", "mount"]
