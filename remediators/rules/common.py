"""Helpers shared by the checks: private-link state, affected endpoints, used clusters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from remediators.estate.estate import WorkspaceContext
from remediators.estate.models import (
    BatchDeployment,
    Compute,
    PrivateEndpointConnection,
    Workspace,
    norm_id,
    same_id,
)

APPROVED = "Approved"


def approved(connections: Iterable[PrivateEndpointConnection]) -> list[PrivateEndpointConnection]:
    return [c for c in connections if c.status == APPROVED]


def has_approved_connection(workspace: Workspace) -> bool:
    return bool(approved(workspace.private_endpoint_connections))


def is_disabled(value: str | None) -> bool:
    return (value or "").strip().lower() == "disabled"


def is_enabled(value: str | None) -> bool:
    return (value or "").strip().lower() == "enabled"


def workspace_is_private(workspace: Workspace) -> bool:
    """Return whether W is private-link enabled, which is what batch endpoints inherit.

    W is private when it has an Approved private endpoint connection, or a managed network
    with public network access Disabled.
    """
    if has_approved_connection(workspace):
        return True
    return workspace.has_managed_network and is_disabled(workspace.public_network_access)


def batch_endpoint_ids(context: WorkspaceContext) -> list[str]:
    return [endpoint.id for endpoint in context.endpoints]


def endpoints_text(context: WorkspaceContext) -> str:
    names = [endpoint.name for endpoint in context.endpoints]
    return ", ".join(names) if names else "none yet"


@dataclass
class ProvidedGroups:
    """Group ids an Approved connection provides for one target, and connections left out."""

    groups: set[str] = field(default_factory=set)
    # Approved connections whose private endpoint the estate does not contain.
    endpoints_not_found: list[str] = field(default_factory=list)


def approved_groups(
    context: WorkspaceContext,
    target_id: str,
    connections: Iterable[PrivateEndpointConnection],
) -> ProvidedGroups:
    """Collect the group ids that Approved connections on `target_id` provide.

    Storage and registry connections carry no group ids, so each group comes from the
    private endpoint's own connection to this target. A connection whose endpoint is not in
    the estate provides no group.
    """
    provided = ProvidedGroups()
    for connection in approved(connections):
        endpoint = context.private_endpoint(connection.private_endpoint_id)
        if endpoint is None:
            provided.endpoints_not_found.append(connection.private_endpoint_id or connection.id)
            continue
        for link in endpoint.connections:
            if same_id(link.private_link_service_id, target_id):
                provided.groups.update(link.group_ids)
    return provided


@dataclass(frozen=True)
class UsedCluster:
    """An AmlCompute cluster that at least one batch deployment runs on."""

    compute: Compute
    deployment_ids: tuple[str, ...]

    @property
    def endpoint_ids(self) -> tuple[str, ...]:
        seen: dict[str, str] = {}
        for deployment_id in self.deployment_ids:
            endpoint_id = deployment_id.rstrip("/").rsplit("/", 2)[0]
            seen.setdefault(norm_id(endpoint_id), endpoint_id)
        return tuple(seen.values())


def used_clusters(context: WorkspaceContext) -> list[UsedCluster]:
    """Return the AmlCompute clusters used by batch deployments, in compute order."""
    users: dict[str, list[BatchDeployment]] = {}
    for deployment in context.deployments:
        compute = context.compute_by_name(deployment.compute_name)
        if compute is None or not compute.is_aml_compute:
            continue
        users.setdefault(compute.key, []).append(deployment)
    return [
        UsedCluster(compute, tuple(d.id for d in users[compute.key]))
        for compute in context.computes
        if compute.key in users
    ]


def cluster_region(context: WorkspaceContext, compute: Compute) -> str | None:
    region = compute.location or context.workspace.location
    return region.replace(" ", "").lower() if region else None
