"""The HTTP transport every remote client shares: one ``httpx.Client`` per workspace, problem JSON turned
back into the same ``TriopsError`` classes a local workspace raises, and cursor walks over list routes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from triops.errors import (
    ArtifactIntegrityError,
    AuthError,
    BudgetExceededError,
    ConflictError,
    DataContractError,
    FilterSyntaxError,
    GateBlockedError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PipelineError,
    PolicyError,
    RemoteError,
    TriopsError,
)

API = "/api/v1"
PAGE = 1000
_BY_STATUS: dict[int, type[TriopsError]] = {
    400: InvalidInputError,
    401: AuthError,
    402: BudgetExceededError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidInputError,
    422: InvalidInputError,
}
# problem "type" slugs that name a more precise class than the status does
_BY_SLUG: dict[str, type[TriopsError]] = {
    "artifact-integrity": ArtifactIntegrityError,
    "gate-blocked": GateBlockedError,
    "policy": PolicyError,
    "data-contract": DataContractError,
    "contract-violation": DataContractError,
    "pipeline": PipelineError,
    "step-failed": PipelineError,
    "run-stopped": PipelineError,
    "budget-exceeded": BudgetExceededError,
}


class HttpTransport:
    """Calls a triops server's ``/api/v1``; errors come back as ``TriopsError`` with the server's message."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=f"{self.base_url}{API}", headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"cannot reach the triops server at {self.base_url}: {exc}",
                hint="check the URL and that `triops server` is running",
            ) from exc
        if response.status_code >= 400:
            raise self.error(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def get(self, path: str, **params: Any) -> Any:
        return self.json("GET", path, params=_params(params))

    def items(self, path: str, **params: Any) -> Iterator[Any]:
        """Every item of a paged listing, following ``next_cursor`` to the last page."""
        query = _params(params)
        query.setdefault("limit", PAGE)
        while True:
            page = self.json("GET", path, params=query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def error(self, response: httpx.Response) -> TriopsError:
        try:
            problem = response.json()
            if not isinstance(problem, dict):
                raise ValueError
            detail = str(problem.get("detail") or problem.get("title"))
        except ValueError:
            problem, detail = {}, response.text[:500]
        if response.status_code == 401:
            return AuthError(
                f"the server at {self.base_url} refused the credentials",
                hint="pass token=… or set TRIOPS_TOKEN (create one with `triops token create --user NAME`)",
            )
        slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
        errors = problem.get("errors", {})
        if slug == "filter-syntax" and isinstance(errors, dict):
            return FilterSyntaxError(
                detail,
                column=int(errors.get("column", 1)),
                text=str(errors.get("filter", "")),
            )
        cls = _BY_SLUG.get(slug) or _BY_STATUS.get(response.status_code, RemoteError)
        error = cls(detail)
        if isinstance(errors, dict):
            error.detail = errors
        elif isinstance(errors, list):
            error.detail = {"errors": errors}
        return error


def verify_download(data: bytes, sha256: str, server: str) -> None:
    """Downloaded bytes hash to the blob they were asked for, or ``ArtifactIntegrityError`` naming it."""
    import hashlib

    from triops.artifacts import check_digest

    check_digest(sha256, hashlib.sha256(data).hexdigest(), server)


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the unset ones (None), booleans as true/false."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


__all__ = ["API", "HttpTransport"]
