"""``ws.datasets`` on a remote workspace: dataset versions over HTTP, same methods and return types as the
local ``Datasets``. A file is uploaded as it is; a frame, a database query or any other source is read here
and uploaded as Parquet. ``register_server_file`` registers a file that already lives on the server, under
a data root its admin allows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from triops.workspace.remote_http import HttpTransport
from triops.workspace.remote_wire import check_report, dataset_diff, dataset_version, lineage_node, registered


def _contract_text(contract: Any) -> str | None:
    from triops.dataops.contracts import Contract, dump_contract

    if contract is None:
        return None
    if isinstance(contract, Contract):
        return dump_contract(contract)
    if isinstance(contract, str) and "\n" in contract:
        return contract
    return Path(contract).read_text(encoding="utf-8")


def upload_body(data: Any, name: str) -> tuple[str, bytes]:
    """The file name and bytes to upload for ``data``."""
    from triops.dataops.sources import Source, open_source

    if isinstance(data, str | Path) and "://" not in str(data):
        path = Path(data)
        if path.is_file():
            return path.name, path.read_bytes()
    source = data if isinstance(data, Source) else open_source(data, name=name)
    if source.path is not None and source.path.is_file():
        return source.path.name, source.path.read_bytes()
    buffer = io.BytesIO()
    source.lazy().collect().write_parquet(buffer)
    return f"{name}.parquet", buffer.getvalue()


class RemoteDatasets:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def register(
        self,
        name: str,
        data: Any,
        *,
        contract: Any = None,
        project: str = "default",
        run_id: str | None = None,
        keep_data: bool = True,
        skip_unsupported: bool = False,
    ) -> Any:
        filename, content = upload_body(data, name)
        files: dict[str, Any] = {"file": (filename, content, "application/octet-stream")}
        text = _contract_text(contract)
        if text is not None:
            files["contract"] = ("contract.yaml", text.encode("utf-8"), "application/yaml")
        form = {
            "project": project,
            "keep_data": str(keep_data).lower(),
            "skip_unsupported": str(skip_unsupported).lower(),
        } | ({"run_id": run_id} if run_id else {})
        return registered(self.http.json("POST", f"/datasets/{name}/versions", files=files, data=form))

    def register_server_file(
        self, name: str, path: str, *, contract: Any = None, project: str = "default"
    ) -> Any:
        body = {"source": str(path), "project": project, "contract": _contract_text(contract)}
        return registered(self.http.json("POST", f"/datasets/{name}/versions/from-source", json=body))

    def get(self, name: str, version: int | None = None, *, project: str = "default") -> Any:
        path = f"/datasets/{name}/latest" if version is None else f"/datasets/{name}/versions/{version}"
        return dataset_version(self.http.get(path, project=project))

    def versions(self, name: str | None = None, *, project: str = "default") -> list[Any]:
        path = "/datasets" if name is None else f"/datasets/{name}/versions"
        return [dataset_version(r) for r in self.http.items(path, project=project)]

    def diff(self, name: str, v1: int, v2: int, *, project: str = "default") -> Any:
        return dataset_diff(self.http.get(f"/datasets/{name}/diff", v1=v1, v2=v2, project=project))

    def check(self, contract: Any, data: Any, *, project: str = "default", reveal: bool = False) -> Any:
        """As the local ``check``; restricted cells come back masked (``reveal`` is not offered remotely)."""
        if reveal:
            from triops.errors import InvalidInputError

            raise InvalidInputError(
                "reveal=True is not offered over the API",
                hint="check on the server's store with `triops contract check --show-restricted`",
            )
        filename, content = upload_body(data, "data")
        text = _contract_text(contract) or ""
        files = {
            "file": (filename, content, "application/octet-stream"),
            "contract": ("contract.yaml", text.encode("utf-8"), "application/yaml"),
        }
        return check_report(self.http.json("POST", "/contracts/check", files=files))

    def lineage(
        self, name: str, version: int | None = None, *, project: str = "default", depth: int = 3
    ) -> Any:
        number = version if version is not None else self.get(name, project=project).version
        data = self.http.get(f"/datasets/{name}/versions/{number}/lineage", project=project, depth=depth)
        return lineage_node(data)


__all__ = ["RemoteDatasets"]
