"""Live collection: read the estate of a workspace from Azure Resource Manager.

`LiveSource` reads in rounds. Each round sends, in parallel, every request that what is
already known makes possible, so the critical path stays short:

1. the workspace, its computes and batch endpoints, its Resource Graph change records and
   the private endpoints of its subscription (one paged list covers all of them);
2. the storage account, registry and key vault, the deployments of each endpoint, the DNS
   zone groups of the private endpoints that target the workspace or a dependency, and
   one GET per virtual network that contains a compute or private endpoint subnet;
3. the NSGs and route tables of those subnets, and any private endpoint a connection names
   that the subscription list did not contain (it lives in another subscription).

A private endpoint found in round 3 adds a round for its zone groups and virtual network,
and one more for that subnet's NSG and route table (five at most).

Payloads stay raw ARM JSON: single GETs go through the SDK's `cls=` hook, which hands over
the response body, and list items of the TypeSpec-generated clients (azure-mgmt-network 33,
azure-mgmt-storage 25) are `MutableMapping` models whose `as_dict()` returns the wire JSON
with systemData and unknown properties intact. A 404 leaves a dependency out, which
`build_context` records as missing. A failed Resource Graph query leaves the network history
unknown; every other error propagates, so no estate is built from a partial read.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from remediators.clients import AzureClients
from remediators.estate.estate import Estate
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

logger = logging.getLogger(__name__)

Json = dict[str, Any]
# A unit of work for one round: a label for the logs and the call that fetches it.
Fetch = tuple[str, Callable[[], Any]]
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"


def raw_body(pipeline_response: Any, deserialized: Any, headers: Any) -> Json:
    """`cls=` hook of the generated SDK operations: return the response body as sent."""
    return dict(pipeline_response.http_response.json())


def raw_item(model: Any) -> Json:
    """Return the ARM JSON of one list item of a generated SDK client.

    TypeSpec-generated models are mappings over the wire JSON, so `as_dict()` keeps
    systemData and properties the SDK does not know. Older msrest models only offer
    `serialize(keep_readonly=True)`, which drops unknown nested properties.
    """
    if isinstance(model, Mapping):
        as_dict_method = getattr(model, "as_dict", None)
        return dict(as_dict_method()) if callable(as_dict_method) else dict(model)
    return dict(model.serialize(keep_readonly=True))


@dataclass
class _Collection:
    """The payloads one `workspace_estate` call has read so far."""

    workspace_id: str
    workspace: Json | None = None
    dependencies: dict[str, Json | None] = field(default_factory=dict)
    computes: list[Json] = field(default_factory=list)
    endpoints: list[Json] = field(default_factory=list)
    deployments: dict[str, list[Json]] = field(default_factory=dict)
    listed_subscriptions: set[str] = field(default_factory=set)
    private_endpoints: dict[str, Json | None] = field(default_factory=dict)
    zone_groups: dict[str, list[Json]] = field(default_factory=dict)
    networks: dict[str, Json | None] = field(default_factory=dict)
    subnets: dict[str, Json | None] = field(default_factory=dict)
    security: dict[str, Json | None] = field(default_factory=dict)
    changes: list[Json] = field(default_factory=list)
    rounds: int = 0


class LiveSource:
    """An `EstateSource` that reads Azure through the management clients of `clients`.

    `max_workers` bounds the requests in flight at once for one workspace.
    """

    def __init__(self, clients: AzureClients, *, max_workers: int = 16) -> None:
        self.clients = clients
        self.max_workers = max_workers

    # EstateSource ------------------------------------------------------------------------

    def workspace_estate(self, workspace_id: str) -> Estate:
        """Read W and everything its batch endpoints depend on; KeyError when W is absent."""
        state = _Collection(workspace_id)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            fetches = self._first_round(state)
            while fetches:
                state.rounds += 1
                # Each fetch runs in a copy of this context, so the active time budget
                # (remediators.budget) applies inside the worker threads too.
                contexts = [contextvars.copy_context() for _ in fetches]
                for _ in pool.map(_run_in, contexts, fetches):
                    pass
                if state.workspace is None:
                    raise KeyError(f"workspace {workspace_id} was not found in Azure")
                fetches = self._next_round(state)
        logger.info(
            "collected workspace estate in %d rounds",
            state.rounds,
            extra={"workspace_id": workspace_id},
        )
        return self._estate(state)

    def workspace_ids(self, scope: str) -> list[str]:
        """Return the workspace ids under a subscription or resource group id."""
        subscription = subscription_of(scope)
        if not subscription:
            raise ValueError(
                f"scope {scope!r} is not a subscription or resource group id; expected "
                "/subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>"
            )
        resource_group = resource_group_of(scope)
        client = self.clients.machine_learning(subscription)
        return [str(w["id"]) for w in client.list_workspaces(resource_group)]

    def export_estate(self, scope: str) -> Estate:
        """Return one estate holding the estates of every workspace in `scope`."""
        exported = Estate()
        for workspace_id in self.workspace_ids(scope):
            estate = self.workspace_estate(workspace_id)
            for payload in estate.resources():
                exported.add(payload)
            exported.changes.extend(estate.changes)
        return exported

    # Rounds ------------------------------------------------------------------------------

    def _first_round(self, state: _Collection) -> list[Fetch]:
        workspace_id = state.workspace_id
        subscription, group, name = _parts(workspace_id)
        ml = self.clients.machine_learning(subscription)

        def read_workspace() -> None:
            state.workspace = _or_none(lambda: ml.get_workspace(group, name))

        def read_computes() -> None:
            state.computes = _or_empty(lambda: list(ml.list_computes(group, name)))

        def read_endpoints() -> None:
            state.endpoints = _or_empty(lambda: list(ml.list_batch_endpoints(group, name)))

        return [
            ("workspace", read_workspace),
            ("computes", read_computes),
            ("batch endpoints", read_endpoints),
            ("resource changes", lambda: self._read_changes(state)),
            self._list_private_endpoints(state, subscription),
        ]

    def _next_round(self, state: _Collection) -> list[Fetch]:
        fetches: list[Fetch] = []
        fetches += self._dependency_fetches(state)
        fetches += self._deployment_fetches(state)
        fetches += self._private_endpoint_fetches(state)
        fetches += self._zone_group_fetches(state)
        fetches += self._network_fetches(state)
        fetches += self._security_fetches(state)
        return fetches

    def _dependency_fetches(self, state: _Collection) -> list[Fetch]:
        workspace = Workspace.from_arm(state.workspace or {})
        readers = {
            workspace.storage_account: self._read_storage_account,
            workspace.container_registry: self._read_registry,
            workspace.key_vault: self._read_key_vault,
        }
        fetches: list[Fetch] = []
        for resource_id, reader in readers.items():
            if not resource_id or norm_id(resource_id) in state.dependencies:
                continue
            state.dependencies[norm_id(resource_id)] = None
            fetches.append((resource_id, _store_into(state.dependencies, resource_id, reader)))
        return fetches

    def _deployment_fetches(self, state: _Collection) -> list[Fetch]:
        fetches: list[Fetch] = []
        for endpoint in state.endpoints:
            endpoint_id = str(endpoint.get("id") or "")
            if not endpoint_id or norm_id(endpoint_id) in state.deployments:
                continue
            state.deployments[norm_id(endpoint_id)] = []
            fetches.append((endpoint_id, self._deployments_reader(state, endpoint_id)))
        return fetches

    def _private_endpoint_fetches(self, state: _Collection) -> list[Fetch]:
        """GET the endpoints that connections name but no subscription list returned."""
        fetches: list[Fetch] = []
        for endpoint_id in self._named_private_endpoints(state):
            key = norm_id(endpoint_id)
            if key in state.private_endpoints:
                continue
            if (subscription_of(endpoint_id) or "").lower() in state.listed_subscriptions:
                continue  # its subscription was listed without it, so it no longer exists
            state.private_endpoints[key] = None
            reader = self._private_endpoint_reader(endpoint_id)
            fetches.append((endpoint_id, _store_into(state.private_endpoints, endpoint_id, reader)))
        return fetches

    def _zone_group_fetches(self, state: _Collection) -> list[Fetch]:
        fetches: list[Fetch] = []
        for key, payload in self._relevant_private_endpoints(state).items():
            if key in state.zone_groups:
                continue
            state.zone_groups[key] = []
            endpoint_id = str(payload.get("id"))
            fetches.append((endpoint_id, self._zone_group_reader(state, endpoint_id)))
        return fetches

    def _network_fetches(self, state: _Collection) -> list[Fetch]:
        """GET each virtual network once for all its subnets that W's resources use."""
        subnet_ids = [c.subnet_id for c in map(Compute.from_arm, state.computes) if c.subnet_id]
        for payload in self._relevant_private_endpoints(state).values():
            subnet_id = PrivateEndpoint.from_arm(payload).subnet_id
            if subnet_id:
                subnet_ids.append(subnet_id)
        by_network: dict[str, list[str]] = {}
        for subnet_id in subnet_ids:
            network_id = parent_id(subnet_id)
            if norm_id(network_id) not in state.networks:
                by_network.setdefault(network_id, []).append(subnet_id)
        fetches: list[Fetch] = []
        for network_id, subnets in by_network.items():
            state.networks[norm_id(network_id)] = None
            fetches.append((network_id, self._network_reader(state, network_id, subnets)))
        return fetches

    def _security_fetches(self, state: _Collection) -> list[Fetch]:
        fetches: list[Fetch] = []
        for payload in state.subnets.values():
            if payload is None:
                continue
            subnet = Subnet.from_arm(payload)
            for resource_id, reader in (
                (subnet.network_security_group_id, self._read_security_group),
                (subnet.route_table_id, self._read_route_table),
            ):
                if not resource_id or norm_id(resource_id) in state.security:
                    continue
                state.security[norm_id(resource_id)] = None
                fetches.append((resource_id, _store_into(state.security, resource_id, reader)))
        return fetches

    # Which private endpoints matter ------------------------------------------------------

    def _targets(self, state: _Collection) -> list[str]:
        workspace = Workspace.from_arm(state.workspace or {})
        targets = [workspace.id, workspace.storage_account, workspace.container_registry]
        targets.append(workspace.key_vault)
        return [t for t in targets if t]

    def _named_private_endpoints(self, state: _Collection) -> list[str]:
        payloads = [state.workspace, *state.dependencies.values()]
        named = []
        for payload in payloads:
            if payload is None:
                continue
            connections = as_list(
                as_dict(payload.get("properties")).get("privateEndpointConnections")
            )
            for item in connections:
                connection = PrivateEndpointConnection.from_arm(as_dict(item))
                if connection.private_endpoint_id:
                    named.append(connection.private_endpoint_id)
        return named

    def _relevant_private_endpoints(self, state: _Collection) -> dict[str, Json]:
        """Return the fetched private endpoints that a connection names or that target W
        or one of its dependencies."""
        named = {norm_id(e) for e in self._named_private_endpoints(state)}
        targets = self._targets(state)
        relevant = {}
        for key, payload in state.private_endpoints.items():
            if payload is None:
                continue
            endpoint = PrivateEndpoint.from_arm(payload)
            if key in named or any(endpoint.targets(t) for t in targets):
                relevant[key] = payload
        return relevant

    # Readers -----------------------------------------------------------------------------

    def _read_changes(self, state: _Collection) -> None:
        subscription = subscription_of(state.workspace_id) or ""
        quoted = state.workspace_id.replace("\\", "\\\\").replace("'", "\\'")
        query = (
            "resourcechanges | where properties.targetResourceId =~ "
            f"'{quoted}' | order by properties.changeAttributes.timestamp desc"
        )
        graph = self.clients.resource_graph()
        rows: list[Json] = []
        skip_token = None
        try:
            while True:
                options = QueryRequestOptions(result_format="objectArray", skip_token=skip_token)
                request = QueryRequest(subscriptions=[subscription], query=query, options=options)
                page = _raw_get(graph.resources, request)
                rows += [dict(row) for row in as_list(page.get("data"))]
                skip_token = page.get("$skipToken")
                if not skip_token:
                    break
        except AzureError as error:
            # Change records are optional evidence: without them the history is unknown, which
            # yields endpoint.network-age-unknown (alert only) and never a recreation. Rows of
            # the pages read before the failure are dropped, because a partial history could
            # date the switch to private wrongly.
            logger.warning(
                "reading Resource Graph change records failed, so the network history of the "
                "workspace is unknown: %s",
                _first_line(error),
                extra={"workspace_id": state.workspace_id},
            )
            return
        state.changes += rows

    def _list_private_endpoints(self, state: _Collection, subscription: str) -> Fetch:
        def read() -> None:
            network = self.clients.network(subscription)
            for item in network.private_endpoints.list_by_subscription():
                payload = raw_item(item)
                state.private_endpoints[norm_id(str(payload.get("id")))] = payload
            state.listed_subscriptions.add(subscription.lower())

        return (f"private endpoints of {subscription}", read)

    def _read_storage_account(self, resource_id: str) -> Json:
        subscription, group, name = _parts(resource_id)
        client = self.clients.storage(subscription)
        return _raw_get(client.storage_accounts.get_properties, group, name)

    def _read_registry(self, resource_id: str) -> Json:
        subscription, group, name = _parts(resource_id)
        client = self.clients.container_registry(subscription)
        return _raw_get(client.registries.get, group, name)

    def _read_key_vault(self, resource_id: str) -> Json:
        subscription, group, name = _parts(resource_id)
        client = self.clients.key_vault(subscription)
        return _raw_get(client.vaults.get, group, name)

    def _read_security_group(self, resource_id: str) -> Json:
        subscription, group, name = _parts(resource_id)
        client = self.clients.network(subscription)
        return _raw_get(client.network_security_groups.get, group, name)

    def _read_route_table(self, resource_id: str) -> Json:
        subscription, group, name = _parts(resource_id)
        client = self.clients.network(subscription)
        return _raw_get(client.route_tables.get, group, name)

    def _private_endpoint_reader(self, endpoint_id: str) -> Callable[[str], Json]:
        def read(resource_id: str) -> Json:
            subscription, group, name = _parts(resource_id)
            client = self.clients.network(subscription)
            return _raw_get(client.private_endpoints.get, group, name)

        return read

    def _deployments_reader(self, state: _Collection, endpoint_id: str) -> Callable[[], None]:
        subscription, group, workspace = _parts(parent_id(endpoint_id))
        endpoint = last_segment(endpoint_id)

        def read() -> None:
            client = self.clients.machine_learning(subscription)
            deployments = _or_empty(
                lambda: list(client.list_batch_deployments(group, workspace, endpoint))
            )
            state.deployments[norm_id(endpoint_id)] = deployments

        return read

    def _zone_group_reader(self, state: _Collection, endpoint_id: str) -> Callable[[], None]:
        subscription, group, name = _parts(endpoint_id)

        def read() -> None:
            client = self.clients.network(subscription)
            groups = _or_empty(
                lambda: [raw_item(g) for g in client.private_dns_zone_groups.list(name, group)]
            )
            state.zone_groups[norm_id(endpoint_id)] = groups

        return read

    def _network_reader(
        self, state: _Collection, network_id: str, subnet_ids: list[str]
    ) -> Callable[[], None]:
        subscription, group, name = _parts(network_id)

        def read() -> None:
            client = self.clients.network(subscription)
            network = _or_none(lambda: _raw_get(client.virtual_networks.get, group, name))
            state.networks[norm_id(network_id)] = network
            if network is None:
                # In Azure a missing network means missing subnets, but an estate may contain
                # subnets without their network, so read those one by one.
                for subnet_id in subnet_ids:
                    subnet = _or_none(
                        partial(_raw_get, client.subnets.get, group, name, last_segment(subnet_id))
                    )
                    if subnet is not None:
                        state.subnets[norm_id(subnet_id)] = {"type": SUBNET_TYPE, **subnet}
                return
            for subnet in as_list(as_dict(network.get("properties")).get("subnets")):
                subnet = as_dict(subnet)
                if subnet.get("id"):
                    state.subnets[norm_id(subnet["id"])] = {"type": SUBNET_TYPE, **subnet}

        return read

    # Result ------------------------------------------------------------------------------

    def _estate(self, state: _Collection) -> Estate:
        payloads: list[Json] = [state.workspace or {}]
        payloads += [p for p in state.dependencies.values() if p is not None]
        payloads += state.computes + state.endpoints
        for deployments in state.deployments.values():
            payloads += deployments
        relevant = self._relevant_private_endpoints(state)
        payloads += list(relevant.values())
        for key in relevant:
            payloads += state.zone_groups.get(key, [])
        payloads += [p for p in state.networks.values() if p is not None]
        payloads += [p for p in state.subnets.values() if p is not None]
        payloads += [p for p in state.security.values() if p is not None]
        payloads += state.changes
        return Estate(_with_types(payloads))


def _with_types(payloads: Iterable[Json]) -> Iterable[Json]:
    for payload in payloads:
        if payload.get("type") or not payload.get("id"):
            yield payload
        else:
            yield {**payload, "type": _type_from_id(str(payload["id"]))}


def _type_from_id(resource_id: str) -> str:
    provider = resource_id.split("/providers/")[-1].split("/")
    return provider[0] + "/" + "/".join(provider[1::2])


def _raw_get(operation: Callable[..., Any], *args: Any) -> Json:
    return cast(Json, operation(*args, cls=raw_body))


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _run_in(context: contextvars.Context, fetch: Fetch) -> None:
    context.run(_run, fetch)


def _run(fetch: Fetch) -> None:
    label, read = fetch
    logger.debug("reading %s", label)
    read()


def _parts(resource_id: str) -> tuple[str, str, str]:
    subscription = subscription_of(resource_id)
    group = resource_group_of(resource_id)
    if not subscription or not group:
        raise ValueError(
            f"{resource_id!r} is not a resource id inside a resource group; expected "
            "/subscriptions/<id>/resourceGroups/<name>/providers/..."
        )
    return subscription, group, last_segment(resource_id)


def _store_into(
    target: dict[str, Json | None], resource_id: str, reader: Callable[[str], Json]
) -> Callable[[], None]:
    def read() -> None:
        target[norm_id(resource_id)] = _or_none(lambda: reader(resource_id))

    return read


def _or_none(read: Callable[[], Json]) -> Json | None:
    try:
        return read()
    except ResourceNotFoundError:
        return None


def _or_empty(read: Callable[[], list[Json]]) -> list[Json]:
    try:
        return read()
    except ResourceNotFoundError:
        return []
