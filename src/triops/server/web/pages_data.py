"""Datasets: every version per project, one version's contract results (failing samples as stored — cells
of restricted or personal columns are masked in the store and stay masked here), its profile, the diff
with the previous version as tables (schema, rows, quality, shift per column) and its lineage drawn as a
graph (upstream runs and steps, downstream steps that read it) with the same nodes listed as text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from triops.errors import NotFoundError
from triops.server.authz import readable
from triops.server.web.charts import bar_chart
from triops.server.web.core import PageDep, WebRoute
from triops.server.web.lineage_chart import lineage_svg
from triops.server.web.render import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/datasets")
def datasets(page: PageDep, project: str = "") -> Response:
    projects = page.ws.kpis.projects()
    chosen = [project] if project else projects
    if project:
        readable(page.ws, project, f"project {project!r}")
    versions: list[Any] = []
    for p in chosen:
        try:
            versions += [(p, v) for v in page.ws.datasets.versions(project=p)]
        except NotFoundError:
            continue
    return render(
        page.request, "datasets.html", page=page, versions=versions, project=project, projects=projects
    )


def _flatten(node: Any, depth: int = 0, out: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    out = [] if out is None else out
    out.append(
        {
            "depth": depth,
            "kind": node.kind,
            "label": node.label,
            "id": node.id,
            "status": node.status,
            "run_id": node.run_id,
            "truncated": node.truncated,
        }
    )
    for child in node.children:
        _flatten(child, depth + 1, out)
    return out


def _quality(row: Any) -> dict[str, Any]:
    """What the diff compares of a version's quality: score, contract result and failing rules."""
    results = (row.quality or {}).get("results") or []
    return {
        "version": row.version,
        "rows": row.row_count,
        "score": row.score,
        "passed": row.passed if row.contract_id else None,
        "failing": sum(1 for r in results if not r.get("passed", True)),
        "rules": len(results),
    }


@router.get("/datasets/{project}/{name}/{version}")
def dataset_version(page: PageDep, project: str, name: str, version: int) -> Response:
    readable(page.ws, project, f"dataset {name!r}")
    row = page.ws.datasets.get(name, version, project=project)
    quality = row.quality or {}
    results = quality.get("results") or []
    failing = [r for r in results if not r.get("passed", True)]
    columns = (row.profile or {}).get("columns") or {}
    nulls = bar_chart(
        f"null share per column of {name} v{version}",
        [(c, float(p.get("null_share") or 0.0) * 100) for c, p in columns.items()],
        unit="%",
    )
    diff = previous = None
    if version > 1:
        diff = page.ws.datasets.diff(name, version - 1, version, project=project)
        previous = _quality(page.ws.datasets.get(name, version - 1, project=project))
    tree = page.ws.datasets.lineage(name, version, project=project)
    graph, _ = lineage_svg(tree)
    lineage = _flatten(tree)
    return render(
        page.request,
        "dataset.html",
        page=page,
        project=project,
        row=row,
        results=results,
        failing=failing,
        columns=columns,
        nulls=nulls,
        diff=diff,
        previous=previous,
        current=_quality(row),
        lineage=lineage,
        graph=graph,
        protected=quality.get("protected") or {},
    )
