"""The naive collector the benchmark compares against: one GET per resource, one at a time.

It reads what `LiveSource` reads, through the same SDK clients, the way a first version
would: the workspace, its lists, each dependency, each private endpoint its connections
name, each endpoint's zone groups, each subnet, NSG and route table, in sequence. It finds
private endpoints only through connections, and it never shares a read between workspaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from remediators.clients import AzureClients
from remediators.estate.estate import Estate
from remediators.estate.live import raw_body, raw_item
from remediators.estate.models import (
    Compute,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Subnet,
    Workspace,
    as_dict,
    as_list,
    last_segment,
    norm_id,
    parent_id,
    resource_group_of,
    subscription_of,
)

Json = dict[str, Any]
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"


class NaiveSource:
    """An `EstateSource` that sends one request at a time, one per resource."""

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def workspace_ids(self, scope: str) -> list[str]:
        subscription = subscription_of(scope) or ""
        client = self.clients.machine_learning(subscription)
        return [str(w["id"]) for w in client.list_workspaces(resource_group_of(scope))]

    def workspace_estate(self, workspace_id: str) -> Estate:
        subscription, group, name = _parts(workspace_id)
        ml = self.clients.machine_learning(subscription)
        try:
            workspace = ml.get_workspace(group, name)
        except ResourceNotFoundError as error:
            raise KeyError(f"workspace {workspace_id} was not found in Azure") from error
        payloads: list[Json] = [workspace]
        computes = list(ml.list_computes(group, name))
        endpoints = list(ml.list_batch_endpoints(group, name))
        payloads += computes + endpoints
        for endpoint in endpoints:
            payloads += list(ml.list_batch_deployments(group, name, str(endpoint["name"])))
        view = Workspace.from_arm(workspace)
        dependencies = [
            self._get(view.storage_account, self._storage),
            self._get(view.container_registry, self._registry),
            self._get(view.key_vault, self._vault),
        ]
        payloads += [d for d in dependencies if d is not None]
        subnet_ids = [c.subnet_id for c in map(Compute.from_arm, computes) if c.subnet_id]
        for endpoint_id in _named_endpoints([workspace, *dependencies]):
            found = self._get(endpoint_id, self._private_endpoint)
            if found is None:
                continue
            payloads.append(found)
            payloads += self._zone_groups(endpoint_id)
            subnet = PrivateEndpoint.from_arm(found).subnet_id
            if subnet:
                subnet_ids.append(subnet)
        seen: set[str] = set()
        for subnet_id in subnet_ids:
            if norm_id(subnet_id) in seen:
                continue
            seen.add(norm_id(subnet_id))
            payloads += self._subnet_and_security(subnet_id, seen)
        payloads += self._changes(workspace_id)
        return Estate(payloads)

    # Readers -------------------------------------------------------------------------------

    def _get(self, resource_id: str | None, reader: Any) -> Json | None:
        if not resource_id:
            return None
        try:
            return dict(reader(*_parts(resource_id)))
        except ResourceNotFoundError:
            return None

    def _storage(self, subscription: str, group: str, name: str) -> Json:
        client = self.clients.storage(subscription)
        return _raw(client.storage_accounts.get_properties, group, name)

    def _registry(self, subscription: str, group: str, name: str) -> Json:
        client = self.clients.container_registry(subscription)
        return _raw(client.registries.get, group, name)

    def _vault(self, subscription: str, group: str, name: str) -> Json:
        client = self.clients.key_vault(subscription)
        return _raw(client.vaults.get, group, name)

    def _private_endpoint(self, subscription: str, group: str, name: str) -> Json:
        client = self.clients.network(subscription)
        return _raw(client.private_endpoints.get, group, name)

    def _security_group(self, subscription: str, group: str, name: str) -> Json:
        client = self.clients.network(subscription)
        return _raw(client.network_security_groups.get, group, name)

    def _route_table(self, subscription: str, group: str, name: str) -> Json:
        client = self.clients.network(subscription)
        return _raw(client.route_tables.get, group, name)

    def _zone_groups(self, endpoint_id: str) -> list[Json]:
        subscription, group, name = _parts(endpoint_id)
        client = self.clients.network(subscription)
        try:
            return [raw_item(g) for g in client.private_dns_zone_groups.list(name, group)]
        except ResourceNotFoundError:
            return []

    def _subnet_and_security(self, subnet_id: str, seen: set[str]) -> list[Json]:
        network_id = parent_id(subnet_id)
        subscription, group, network = _parts(network_id)
        client = self.clients.network(subscription)
        try:
            subnet = _raw(client.subnets.get, group, network, last_segment(subnet_id))
        except ResourceNotFoundError:
            return []
        payloads: list[Json] = [{"type": SUBNET_TYPE, **subnet}]
        view = Subnet.from_arm(subnet)
        for resource_id, reader in (
            (view.network_security_group_id, self._security_group),
            (view.route_table_id, self._route_table),
        ):
            if resource_id and norm_id(resource_id) not in seen:
                seen.add(norm_id(resource_id))
                payload = self._get(resource_id, reader)
                if payload is not None:
                    payloads.append(payload)
        return payloads

    def _changes(self, workspace_id: str) -> list[Json]:
        escaped = workspace_id.replace("\\", "\\\\").replace("'", "\\'")
        query = (
            f"resourcechanges | where properties.targetResourceId =~ '{escaped}' "
            "| order by properties.changeAttributes.timestamp desc"
        )
        graph = self.clients.resource_graph()
        rows: list[Json] = []
        skip_token = None
        while True:
            options = QueryRequestOptions(result_format="objectArray", skip_token=skip_token)
            request = QueryRequest(
                subscriptions=[subscription_of(workspace_id) or ""], query=query, options=options
            )
            page = _raw(graph.resources, request)
            rows += [dict(row) for row in as_list(page.get("data"))]
            skip_token = page.get("$skipToken")
            if not skip_token:
                return rows


def _named_endpoints(payloads: list[Json | None]) -> list[str]:
    named: list[str] = []
    for payload in payloads:
        if payload is None:
            continue
        connections = as_list(as_dict(payload.get("properties")).get("privateEndpointConnections"))
        for item in connections:
            endpoint_id = PrivateEndpointConnection.from_arm(as_dict(item)).private_endpoint_id
            if endpoint_id and all(norm_id(endpoint_id) != norm_id(n) for n in named):
                named.append(endpoint_id)
    return named


def _raw(operation: Callable[..., Any], *args: Any) -> Json:
    return cast(Json, operation(*args, cls=raw_body))


def _parts(resource_id: str) -> tuple[str, str, str]:
    return (
        subscription_of(resource_id) or "",
        resource_group_of(resource_id) or "",
        last_segment(resource_id),
    )
