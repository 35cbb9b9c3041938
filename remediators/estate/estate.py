"""The estate: raw ARM resources indexed by id, and the typed context of one workspace.

Live collection and estate files both produce an `Estate`, and rules only ever see the
`WorkspaceContext` that `build_context` assembles from it, so offline and live checks
judge exactly the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remediators.estate.models import (
    BatchDeployment,
    BatchEndpoint,
    Compute,
    KeyVault,
    NetworkSecurityGroup,
    PrivateDnsZoneGroup,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Registry,
    ResourceChangeRecord,
    RouteTable,
    StorageAccount,
    Subnet,
    Workspace,
    as_dict,
    as_list,
    as_text,
    norm_id,
    parent_id,
)

# ARM resource types, lowercased, as the estate compares them.
WORKSPACE = "microsoft.machinelearningservices/workspaces"
COMPUTE = "microsoft.machinelearningservices/workspaces/computes"
BATCH_ENDPOINT = "microsoft.machinelearningservices/workspaces/batchendpoints"
BATCH_DEPLOYMENT = "microsoft.machinelearningservices/workspaces/batchendpoints/deployments"
WORKSPACE_PE_CONNECTION = "microsoft.machinelearningservices/workspaces/privateendpointconnections"
STORAGE_ACCOUNT = "microsoft.storage/storageaccounts"
STORAGE_PE_CONNECTION = "microsoft.storage/storageaccounts/privateendpointconnections"
REGISTRY = "microsoft.containerregistry/registries"
REGISTRY_PE_CONNECTION = "microsoft.containerregistry/registries/privateendpointconnections"
KEY_VAULT = "microsoft.keyvault/vaults"
KEY_VAULT_PE_CONNECTION = "microsoft.keyvault/vaults/privateendpointconnections"
PRIVATE_ENDPOINT = "microsoft.network/privateendpoints"
DNS_ZONE_GROUP = "microsoft.network/privateendpoints/privatednszonegroups"
VIRTUAL_NETWORK = "microsoft.network/virtualnetworks"
SUBNET = "microsoft.network/virtualnetworks/subnets"
NSG = "microsoft.network/networksecuritygroups"
ROUTE_TABLE = "microsoft.network/routetables"
NAT_GATEWAY = "microsoft.network/natgateways"
PRIVATE_DNS_ZONE = "microsoft.network/privatednszones"
RESOURCE_CHANGE = "microsoft.resources/changes"

PE_CONNECTION_TYPES = {
    WORKSPACE_PE_CONNECTION,
    STORAGE_PE_CONNECTION,
    REGISTRY_PE_CONNECTION,
    KEY_VAULT_PE_CONNECTION,
}

# Every type an estate keeps; anything else in an estate file is ignored with a count.
KNOWN_TYPES = {
    WORKSPACE,
    COMPUTE,
    BATCH_ENDPOINT,
    BATCH_DEPLOYMENT,
    STORAGE_ACCOUNT,
    REGISTRY,
    KEY_VAULT,
    PRIVATE_ENDPOINT,
    DNS_ZONE_GROUP,
    VIRTUAL_NETWORK,
    SUBNET,
    NSG,
    ROUTE_TABLE,
    NAT_GATEWAY,
    PRIVATE_DNS_ZONE,
    RESOURCE_CHANGE,
} | PE_CONNECTION_TYPES


def type_of(payload: Mapping[str, Any]) -> str:
    return str(payload.get("type") or "").lower()


class Estate:
    """ARM resource payloads keyed by lowercased id, with children indexed by parent."""

    def __init__(self, resources: Iterable[Mapping[str, Any]] = ()) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}
        self._children: dict[tuple[str, str], list[str]] = {}
        # Keys by lowercased type, in insertion order (a dict used as an ordered set).
        self._by_type: dict[str, dict[str, None]] = {}
        # Private endpoint keys by lowercased target id; built on first use, reset on change.
        self._endpoints_by_target: dict[str, list[str]] | None = None
        self.changes: list[ResourceChangeRecord] = []
        for payload in resources:
            self.add(payload)

    def add(self, payload: Mapping[str, Any]) -> None:
        """Add or replace one resource; change records go to `changes`."""
        kind = type_of(payload)
        if kind == RESOURCE_CHANGE:
            self.changes.append(ResourceChangeRecord.from_arm(payload))
            return
        key = norm_id(str(payload.get("id") or ""))
        if not key:
            raise ValueError("a resource without an id cannot be added to the estate")
        previous = self._by_id.get(key)
        is_new = previous is None
        if previous is not None and type_of(previous) != kind:
            self._by_type.get(type_of(previous), {}).pop(key, None)
        if kind == PRIVATE_ENDPOINT or (
            previous is not None and type_of(previous) == PRIVATE_ENDPOINT
        ):
            self._endpoints_by_target = None
        self._by_id[key] = dict(payload)
        self._by_type.setdefault(kind, {})[key] = None
        if kind == VIRTUAL_NETWORK:
            # Subnets embedded in a virtual network are indexed as resources of their own,
            # unless a standalone subnet object (usually more complete) is already there.
            for subnet in as_list(as_dict(payload.get("properties")).get("subnets")):
                subnet = as_dict(subnet)
                if subnet.get("id") and norm_id(subnet["id"]) not in self._by_id:
                    self.add({"type": "Microsoft.Network/virtualNetworks/subnets", **subnet})
        if is_new and kind.count("/") >= 2:
            parent = norm_id(parent_id(key))
            self._children.setdefault((parent, kind), []).append(key)

    def get(self, resource_id: str | None) -> dict[str, Any] | None:
        return self._by_id.get(norm_id(resource_id)) if resource_id else None

    def __contains__(self, resource_id: object) -> bool:
        return isinstance(resource_id, str) and norm_id(resource_id) in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def resources(self) -> list[dict[str, Any]]:
        return list(self._by_id.values())

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        keys = self._by_type.get(resource_type.lower(), {})
        return [self._by_id[k] for k in keys]

    def children(self, parent: str, child_type: str) -> list[dict[str, Any]]:
        keys = self._children.get((norm_id(parent), child_type.lower()), [])
        return [self._by_id[k] for k in keys]

    def workspace_ids(self) -> list[str]:
        return [str(p["id"]) for p in self.of_type(WORKSPACE)]

    def private_endpoints_targeting(self, target_id: str) -> list[dict[str, Any]]:
        """Return every private endpoint with a connection to `target_id`, under any name."""
        if self._endpoints_by_target is None:
            index: dict[str, list[str]] = {}
            for key in self._by_type.get(PRIVATE_ENDPOINT, {}):
                endpoint = PrivateEndpoint.from_arm(self._by_id[key])
                for connection in endpoint.connections:
                    target = norm_id(connection.private_link_service_id)
                    if target and key not in index.get(target, []):
                        index.setdefault(target, []).append(key)
            self._endpoints_by_target = index
        return [self._by_id[k] for k in self._endpoints_by_target.get(norm_id(target_id), [])]


@dataclass
class NetworkHistory:
    """What is known of when a workspace became private-link enabled."""

    became_private_at: datetime | None = None
    # The earliest time at which the workspace is known to have been private.
    earliest_private_evidence: datetime | None = None
    source: str = "unknown"


@dataclass
class WorkspaceContext:
    """The typed views of one workspace and everything its batch endpoints depend on."""

    workspace: Workspace
    storage_account: StorageAccount | None
    registry: Registry | None
    key_vault: KeyVault | None
    computes: list[Compute]
    endpoints: list[BatchEndpoint]
    deployments: list[BatchDeployment]
    # Keyed by lowercased id: every private endpoint targeting W or one of its dependencies.
    private_endpoints: dict[str, PrivateEndpoint]
    subnets: dict[str, Subnet]
    network_security_groups: dict[str, NetworkSecurityGroup]
    route_tables: dict[str, RouteTable]
    history: NetworkHistory = field(default_factory=NetworkHistory)
    # Ids the workspace references that the estate does not contain.
    missing: list[str] = field(default_factory=list)

    @property
    def workspace_id(self) -> str:
        return self.workspace.id

    def compute_by_name(self, name: str | None) -> Compute | None:
        if not name:
            return None
        for compute in self.computes:
            if compute.name.lower() == name.lower():
                return compute
        return None

    def deployments_of(self, endpoint: BatchEndpoint) -> list[BatchDeployment]:
        return [d for d in self.deployments if norm_id(d.endpoint_id) == endpoint.key]

    def private_endpoint(self, resource_id: str | None) -> PrivateEndpoint | None:
        return self.private_endpoints.get(norm_id(resource_id)) if resource_id else None


def _connections_with_children(
    estate: Estate, target: Mapping[str, Any], child_type: str
) -> list[dict[str, Any]]:
    """Merge connections embedded in the target with those stored as child objects."""
    props = as_dict(target.get("properties"))
    merged: dict[str, dict[str, Any]] = {}
    for item in as_list(props.get("privateEndpointConnections")):
        item = as_dict(item)
        merged[norm_id(as_text(item.get("id"))) or str(len(merged))] = item
    for child in estate.children(str(target.get("id")), child_type):
        merged[norm_id(as_text(child.get("id")))] = child
    return list(merged.values())


def _with_connections(
    estate: Estate, payload: dict[str, Any] | None, child_type: str
) -> dict[str, Any] | None:
    if payload is None:
        return None
    connections = _connections_with_children(estate, payload, child_type)
    properties = {**as_dict(payload.get("properties")), "privateEndpointConnections": connections}
    return {**payload, "properties": properties}


def _note_missing(missing: list[str], resource_id: str) -> None:
    if all(norm_id(known) != norm_id(resource_id) for known in missing):
        missing.append(resource_id)


def build_context(
    estate: Estate, workspace_id: str, history: NetworkHistory | None = None
) -> WorkspaceContext:
    """Assemble the typed context of `workspace_id`; KeyError when the estate lacks it."""
    raw_workspace = _with_connections(estate, estate.get(workspace_id), WORKSPACE_PE_CONNECTION)
    if raw_workspace is None:
        raise KeyError(f"workspace {workspace_id} is not in the estate")
    workspace = Workspace.from_arm(raw_workspace)
    missing: list[str] = []

    def dependency(resource_id: str | None, child_type: str) -> dict[str, Any] | None:
        if not resource_id:
            return None
        payload = _with_connections(estate, estate.get(resource_id), child_type)
        if payload is None:
            missing.append(resource_id)
        return payload

    raw_storage = dependency(workspace.storage_account, STORAGE_PE_CONNECTION)
    raw_registry = dependency(workspace.container_registry, REGISTRY_PE_CONNECTION)
    raw_vault = dependency(workspace.key_vault, KEY_VAULT_PE_CONNECTION)

    computes = [Compute.from_arm(p) for p in estate.children(workspace.id, COMPUTE)]
    endpoints = [BatchEndpoint.from_arm(p) for p in estate.children(workspace.id, BATCH_ENDPOINT)]
    deployments = [
        BatchDeployment.from_arm(p)
        for endpoint in endpoints
        for p in estate.children(endpoint.id, BATCH_DEPLOYMENT)
    ]

    # Private endpoints: those named by any connection, and any others targeting W or a
    # dependency (an endpoint whose connection the target does not list yet still counts).
    targets = [workspace.id] + [
        str(p["id"]) for p in (raw_storage, raw_registry, raw_vault) if p is not None
    ]
    endpoint_ids: list[str] = []
    for payload in (raw_workspace, raw_storage, raw_registry, raw_vault):
        if payload is None:
            continue
        for item in as_list(as_dict(payload.get("properties")).get("privateEndpointConnections")):
            connection = PrivateEndpointConnection.from_arm(as_dict(item))
            if connection.private_endpoint_id:
                endpoint_ids.append(connection.private_endpoint_id)
    for target in targets:
        endpoint_ids += [str(p["id"]) for p in estate.private_endpoints_targeting(target)]
    private_endpoints: dict[str, PrivateEndpoint] = {}
    for endpoint_id in endpoint_ids:
        payload = estate.get(endpoint_id)
        if payload is None or norm_id(endpoint_id) in private_endpoints:
            continue
        groups = [
            PrivateDnsZoneGroup.from_arm(g) for g in estate.children(endpoint_id, DNS_ZONE_GROUP)
        ]
        private_endpoints[norm_id(endpoint_id)] = PrivateEndpoint.from_arm(payload, groups)

    subnets: dict[str, Subnet] = {}
    nsgs: dict[str, NetworkSecurityGroup] = {}
    route_tables: dict[str, RouteTable] = {}
    subnet_ids = [c.subnet_id for c in computes if c.subnet_id]
    subnet_ids += [pe.subnet_id for pe in private_endpoints.values() if pe.subnet_id]
    for subnet_id in subnet_ids:
        raw_subnet = estate.get(subnet_id)
        if raw_subnet is None:
            _note_missing(missing, subnet_id)
            continue
        subnet = Subnet.from_arm(raw_subnet)
        subnets[subnet.key] = subnet
        raw_nsg = estate.get(subnet.network_security_group_id)
        if raw_nsg is not None:
            nsgs[norm_id(subnet.network_security_group_id)] = NetworkSecurityGroup.from_arm(raw_nsg)
        elif subnet.network_security_group_id:
            _note_missing(missing, subnet.network_security_group_id)
        raw_routes = estate.get(subnet.route_table_id)
        if raw_routes is not None:
            route_tables[norm_id(subnet.route_table_id)] = RouteTable.from_arm(raw_routes)
        elif subnet.route_table_id:
            _note_missing(missing, subnet.route_table_id)

    return WorkspaceContext(
        workspace=workspace,
        storage_account=StorageAccount.from_arm(raw_storage) if raw_storage else None,
        registry=Registry.from_arm(raw_registry) if raw_registry else None,
        key_vault=KeyVault.from_arm(raw_vault) if raw_vault else None,
        computes=computes,
        endpoints=endpoints,
        deployments=deployments,
        private_endpoints=private_endpoints,
        subnets=subnets,
        network_security_groups=nsgs,
        route_tables=route_tables,
        history=history or NetworkHistory(),
        missing=missing,
    )
