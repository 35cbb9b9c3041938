"""Sources of the resources an evaluation reads: live Azure or an estate file."""

from __future__ import annotations

from typing import Protocol

from remediators.estate.estate import Estate


class EstateSource(Protocol):
    """Reads the resources one evaluation needs.

    `workspace_estate` returns an estate with the workspace, its dependencies, children,
    private endpoints (with DNS zone groups), subnets, NSGs and route tables, and the
    Resource Graph change records of the workspace where the source has them.
    A workspace that does not exist raises `KeyError`.
    """

    def workspace_estate(self, workspace_id: str) -> Estate: ...

    def workspace_ids(self, scope: str) -> list[str]:
        """Return the ids of the workspaces under a subscription or resource group id."""
        ...


class FileSource:
    """An `EstateSource` over an already loaded estate (file, export or test data)."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate

    def workspace_estate(self, workspace_id: str) -> Estate:
        if workspace_id not in self.estate:
            raise KeyError(f"workspace {workspace_id} is not in the estate")
        return self.estate

    def workspace_ids(self, scope: str) -> list[str]:
        prefix = scope.rstrip("/").lower() + "/"
        return [w for w in self.estate.workspace_ids() if w.lower().startswith(prefix)]
