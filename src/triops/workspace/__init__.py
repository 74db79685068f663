"""The composition root: ``Workspace.open(url)`` wires the store, the artifact root, the services and hooks."""

from triops.workspace.local import Workspace

__all__ = ["Workspace"]
