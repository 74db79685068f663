"""``ws.kpis`` of a remote workspace: the per-project scorecard over the server's API, with the local
method names and return types (the server evaluates its own kpis.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from triops.errors import ConfigError

if TYPE_CHECKING:
    from triops.kpis.board import KpiRow
    from triops.workspace.remote_http import HttpTransport


def _row(data: dict[str, Any]) -> KpiRow:
    from triops.kpis.board import KpiRow

    return KpiRow(**{**data, "history": tuple(data.get("history") or ())})


class RemoteKpis:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def projects(self) -> list[str]:
        return list(self.http.get("/kpis/projects")["projects"])

    def _local_definitions(self, definitions_text: str | None) -> None:
        if definitions_text is not None:
            raise ConfigError(
                "a remote scorecard uses the server's kpis.toml",
                hint="drop --definitions, or edit it on the server",
            )

    def scorecard(self, project: str, *, definitions_text: str | None = None) -> list[KpiRow]:
        self._local_definitions(definitions_text)
        return [_row(r) for r in self.http.get(f"/kpis/projects/{quote(project, safe='')}")["kpis"]]

    def record(self, project: str, *, definitions_text: str | None = None) -> list[KpiRow]:
        self._local_definitions(definitions_text)
        answer = self.http.json("POST", f"/kpis/projects/{quote(project, safe='')}/snapshots")
        return [_row(r) for r in answer["kpis"]]


__all__ = ["RemoteKpis"]
