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

`SweepCollector` (`LiveSource.scope_estates`) reads every workspace of a subscription or
resource group at once: one list per resource type for the whole subscription, then per
workspace only what no subscription-wide list offers (computes, batch endpoints and their
deployments), so a sweep costs a few requests per workspace instead of twenty.

Payloads stay raw ARM JSON: single GETs go through the SDK's `cls=` hook, which hands over
the response body, and list items of the TypeSpec-generated clients (azure-mgmt-network 33,
azure-mgmt-storage 25) are `MutableMapping` models whose `as_dict()` returns the wire JSON
with systemData and unknown properties intact. A 404 leaves a dependency out, which
`build_context` records as missing. A failed Resource Graph query leaves the network history
unknown, and a failed A-record list of a DNS zone makes `SweepCollector` read that zone's
zone groups per private endpoint. Every other error propagates, so no estate is built from
a partial read.

`CollectedSource` serves estates that `scope_estates` already read, so the timer sweep and
the CLI evaluate a whole scope through the same code as one queued workspace.
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
from remediators.estate.estate import KEY_VAULT as KEY_VAULT_TYPE
from remediators.estate.estate import NSG as NSG_TYPE
from remediators.estate.estate import PRIVATE_ENDPOINT as PRIVATE_ENDPOINT_TYPE
from remediators.estate.estate import REGISTRY as REGISTRY_TYPE
from remediators.estate.estate import ROUTE_TABLE as ROUTE_TABLE_TYPE
from remediators.estate.estate import STORAGE_ACCOUNT as STORAGE_ACCOUNT_TYPE
from remediators.estate.estate import VIRTUAL_NETWORK as VIRTUAL_NETWORK_TYPE
from remediators.estate.estate import Estate
from remediators.estate.models import (
    Compute,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Subnet,
    Workspace,
    as_dict,
    as_list,
    as_text,
    last_segment,
    norm_id,
    parent_id,
    resource_group_of,
    subscription_of,
)
from remediators.estate.source import EstateSource
from remediators.rules.dns_zones import AZURE_CLOUD, required_zones

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

    def scope_estates(self, scope: str) -> dict[str, Estate]:
        """Return the estate of every workspace in `scope`, read with shared list requests."""
        return SweepCollector(self, max_workers=self.max_workers).collect(scope)

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
            if norm_id(network_id) in state.networks:
                continue
            # Several computes and private endpoints often share one subnet: read it once.
            subnets = by_network.setdefault(network_id, [])
            if norm_id(subnet_id) not in map(norm_id, subnets):
                subnets.append(subnet_id)
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


# Sweep ------------------------------------------------------------------------------------

# Subscription-wide lists a sweep reads once, by the estate type of their items.
_LISTED_TYPES = {
    "storage accounts": STORAGE_ACCOUNT_TYPE,
    "registries": REGISTRY_TYPE,
    "key vaults": KEY_VAULT_TYPE,
    "private endpoints": PRIVATE_ENDPOINT_TYPE,
    "virtual networks": VIRTUAL_NETWORK_TYPE,
    "network security groups": NSG_TYPE,
    "route tables": ROUTE_TABLE_TYPE,
}
# Name of the zone group a sweep derives from A records (see `SweepCollector`).
DERIVED_ZONE_GROUP = "from-a-records"
# Resource Graph caps a query's length; this many ids keep a `resourcechanges` query short.
_CHANGE_QUERY_IDS = 50


@dataclass
class _Shared:
    """Resources a sweep reads once for every workspace of its scope."""

    subscription: str
    workspaces: list[Json] = field(default_factory=list)
    listed: dict[str, dict[str, Json]] = field(default_factory=dict)
    zones: list[Json] = field(default_factory=list)
    # Zone name -> IP address -> record names, from the A records of each zone.
    records: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    changes: dict[str, list[Json]] = field(default_factory=dict)
    # Lowercased target id -> the private endpoints that connect to it, built on first use.
    by_target: dict[str, dict[str, Json]] | None = None

    def get(self, resource_id: str) -> Json | None:
        for payloads in self.listed.values():
            found = payloads.get(norm_id(resource_id))
            if found is not None:
                return found
        return None

    def is_listed(self, resource_id: str | None) -> bool:
        """Return whether `resource_id` is in the swept subscription, so a list includes it."""
        return bool(resource_id) and (subscription_of(resource_id or "") or "").lower() == (
            self.subscription.lower()
        )


class SweepCollector:
    """Collect every workspace of a subscription or resource group with shared reads.

    Each resource type with a subscription-wide list is listed once (workspaces, storage
    accounts, registries, key vaults, private endpoints, virtual networks with their subnets,
    NSGs, route tables, private DNS zones), and one Resource Graph query covers the change
    records of 50 workspaces. Per workspace only what has no such list is read: its computes,
    its batch endpoints and each endpoint's deployments. Dependencies in other subscriptions
    are read one by one, as `LiveSource` does.

    DNS is checked per zone where that takes fewer requests than per private endpoint: the
    A records of each private DNS zone the endpoints need are listed, and an endpoint with
    a record for one of its addresses in every zone its groups need gets a zone group named
    `from-a-records` built from them (ARM writes those records for a zone group; the group
    itself has no list across endpoints). Every other endpoint's zone groups are read.

    NOTE: an endpoint whose records were written by hand, without a zone group, passes here
    and fails the per-workspace check ("has no DNS zone group"). An endpoint whose address
    ARM does not report (no customDnsConfigs or ipConfigurations) is never judged by records.
    A private endpoint that two workspaces use has its zone groups read once for each.
    """

    def __init__(
        self, source: LiveSource, *, max_workers: int = 16, cloud: str = AZURE_CLOUD
    ) -> None:
        self.source = source
        self.clients = source.clients
        self.max_workers = max_workers
        self.cloud = cloud
        self.rounds = 0

    def collect(self, scope: str) -> dict[str, Estate]:
        """Return the estate of every workspace in `scope`, keyed by workspace id."""
        subscription = subscription_of(scope)
        if not subscription:
            raise ValueError(
                f"scope {scope!r} is not a subscription or resource group id; expected "
                "/subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>"
            )
        shared = _Shared(subscription)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            self._run(pool, self._list_fetches(shared, resource_group_of(scope)))
            states = [self._seeded(shared, w) for w in shared.workspaces]
            self._run(pool, self._workspace_fetches(shared, states))
            for state in states:
                self._attach(shared, state)
            while fetches := self._next_fetches(shared, states):
                self._run(pool, fetches)
        logger.info(
            "swept %d workspaces in %d rounds",
            len(states),
            self.rounds,
            extra={"scope": scope},
        )
        return {s.workspace_id: self.source._estate(s) for s in states}

    def _next_fetches(self, shared: _Shared, states: list[_Collection]) -> list[Fetch]:
        """Return the reads still needed per workspace: deployments, zone groups that the A
        records did not cover, and anything in another subscription."""
        fetches: list[Fetch] = []
        for state in states:
            # A dependency read from another subscription can name listed endpoints.
            for key, payload in self._relevant_endpoints(shared, state).items():
                state.private_endpoints.setdefault(key, payload)
            fetches += self.source._next_round(state)
        return fetches

    def _run(self, pool: ThreadPoolExecutor, fetches: list[Fetch]) -> None:
        if fetches:
            self.rounds += 1
            # As in `workspace_estate`: the active time budget applies in the workers too.
            contexts = [contextvars.copy_context() for _ in fetches]
            for _ in pool.map(_run_in, contexts, fetches):
                pass

    # Round 1: one list per resource type ---------------------------------------------------

    def _list_fetches(self, shared: _Shared, resource_group: str | None) -> list[Fetch]:
        subscription = shared.subscription
        network = self.clients.network(subscription)
        listers: dict[str, Callable[[], Iterable[Any]]] = {
            "storage accounts": self.clients.storage(subscription).storage_accounts.list,
            "registries": self.clients.container_registry(subscription).registries.list,
            "key vaults": self.clients.key_vault(subscription).vaults.list_by_subscription,
            "private endpoints": network.private_endpoints.list_by_subscription,
            "virtual networks": network.virtual_networks.list_all,
            "network security groups": network.network_security_groups.list_all,
            "route tables": network.route_tables.list_all,
        }
        fetches: list[Fetch] = [
            (f"{label} of {subscription}", partial(self._read_list, shared, label, lister))
            for label, lister in listers.items()
        ]
        ml = self.clients.machine_learning(subscription)

        def read_workspaces() -> None:
            shared.workspaces = list(ml.list_workspaces(resource_group))

        def read_zones() -> None:
            zones = self.clients.private_dns(subscription).private_zones.list()
            shared.zones = [raw_item(z) for z in zones]

        fetches.append((f"workspaces of {subscription}", read_workspaces))
        fetches.append((f"private DNS zones of {subscription}", read_zones))
        return fetches

    def _read_list(self, shared: _Shared, label: str, lister: Callable[[], Iterable[Any]]) -> None:
        payloads: dict[str, Json] = {}
        for item in lister():
            payload = raw_item(item)
            payload.setdefault("type", _LISTED_TYPES[label])
            payloads[norm_id(str(payload.get("id")))] = payload
        shared.listed[label] = payloads

    # Seeding each workspace from the lists -------------------------------------------------

    def _seeded(self, shared: _Shared, workspace: Json) -> _Collection:
        state = _Collection(str(workspace["id"]), workspace=workspace)
        state.listed_subscriptions.add(shared.subscription.lower())
        for resource_id in self.source._targets(state)[1:]:
            if shared.is_listed(resource_id):
                state.dependencies[norm_id(resource_id)] = shared.get(resource_id)
        return state

    def _relevant_endpoints(self, shared: _Shared, state: _Collection) -> dict[str, Json]:
        endpoints = shared.listed.get("private endpoints", {})
        targets = {norm_id(t) for t in self.source._targets(state)}
        relevant = {}
        for key in map(norm_id, self.source._named_private_endpoints(state)):
            if key in endpoints:
                relevant[key] = endpoints[key]
        for key, payload in self._by_target(shared).items():
            if key in targets:
                relevant.update(payload)
        return relevant

    def _by_target(self, shared: _Shared) -> dict[str, dict[str, Json]]:
        """Private endpoints of the subscription keyed by the lowercased ids they target."""
        if shared.by_target is not None:
            return shared.by_target
        index: dict[str, dict[str, Json]] = {}
        for key, payload in shared.listed.get("private endpoints", {}).items():
            for connection in PrivateEndpoint.from_arm(payload).connections:
                if connection.private_link_service_id:
                    target = norm_id(connection.private_link_service_id)
                    index.setdefault(target, {})[key] = payload
        shared.by_target = index
        return index

    # Round 2: per-workspace lists, change records, zone records ----------------------------

    def _workspace_fetches(self, shared: _Shared, states: list[_Collection]) -> list[Fetch]:
        fetches: list[Fetch] = []
        for state in states:
            state.private_endpoints.update(self._relevant_endpoints(shared, state))
            subscription, _, name = _parts(state.workspace_id)
            ml = self.clients.machine_learning(subscription)
            fetches.append(
                (f"computes of {name}", partial(self._read_children, state, "computes", ml))
            )
            fetches.append(
                (f"endpoints of {name}", partial(self._read_children, state, "endpoints", ml))
            )
        ids = [s.workspace_id for s in states]
        for start in range(0, len(ids), _CHANGE_QUERY_IDS):
            chunk = ids[start : start + _CHANGE_QUERY_IDS]
            read = partial(self._read_changes, shared, chunk)
            fetches.append((f"changes of {len(chunk)} workspaces", read))
        fetches += self._record_fetches(shared, states)
        return fetches

    @staticmethod
    def _read_children(state: _Collection, kind: str, ml: Any) -> None:
        _, group, name = _parts(state.workspace_id)
        if kind == "computes":
            state.computes = _or_empty(lambda: list(ml.list_computes(group, name)))
        else:
            state.endpoints = _or_empty(lambda: list(ml.list_batch_endpoints(group, name)))

    def _read_changes(self, shared: _Shared, workspace_ids: list[str]) -> None:
        quoted = ", ".join(_kql_string(w) for w in workspace_ids)
        query = (
            f"resourcechanges | where properties.targetResourceId in~ ({quoted}) "
            "| order by properties.changeAttributes.timestamp desc"
        )
        try:
            rows = _graph_rows(self.clients, shared.subscription, query)
        except AzureError as error:
            # As for one workspace: without change records the history is unknown.
            logger.warning(
                "reading Resource Graph change records of %d workspaces failed, so their "
                "network history is unknown: %s",
                len(workspace_ids),
                _first_line(error),
            )
            return
        for row in rows:
            target = norm_id(str(as_dict(row.get("properties")).get("targetResourceId") or ""))
            shared.changes.setdefault(target, []).append(row)

    def _needed_zones(self, endpoints: Iterable[Json]) -> dict[str, list[str]]:
        """Return, per endpoint key, the zone names its connection groups need."""
        needed: dict[str, list[str]] = {}
        for payload in endpoints:
            zones: list[str] = []
            for connection in PrivateEndpoint.from_arm(payload).connections:
                for group in connection.group_ids:
                    zones += [z for z in required_zones(group, self.cloud) if z not in zones]
            needed[norm_id(str(payload.get("id")))] = zones
        return needed

    def _record_fetches(self, shared: _Shared, states: list[_Collection]) -> list[Fetch]:
        endpoints: dict[str, Json] = {}
        for state in states:
            endpoints.update({k: v for k, v in state.private_endpoints.items() if v})
        zone_names = {z for zones in self._needed_zones(endpoints.values()).values() for z in zones}
        by_name: dict[str, list[str]] = {}
        for zone in shared.zones:
            by_name.setdefault(str(zone.get("name")).lower(), []).append(str(zone.get("id")))
        # A zone name shared by two zones (two hubs) does not identify the one an endpoint uses.
        usable = {n: ids[0] for n, ids in by_name.items() if n in zone_names and len(ids) == 1}
        if not usable or len(usable) >= len(endpoints):
            return []
        return [
            (f"A records of {name}", partial(self._read_records, shared, name, zone_id))
            for name, zone_id in usable.items()
        ]

    def _read_records(self, shared: _Shared, zone_name: str, zone_id: str) -> None:
        """List the A records of one zone; on any error leave the zone out of `records`.

        Without the zone's records no endpoint that needs the zone gets a derived zone
        group, so its zone groups are read per private endpoint instead. Listing record sets
        needs `Microsoft.Network/privateDnsZones/A/read`, which a reader role may lack.
        """
        try:
            shared.records[zone_name] = self._zone_addresses(zone_id)
        except AzureError as error:
            logger.warning(
                "listing the A records of private DNS zone %s failed, so its private endpoints "
                "are checked by reading their zone groups: %s",
                zone_name,
                _first_line(error),
                extra={"resource_id": zone_id},
            )

    def _zone_addresses(self, zone_id: str) -> dict[str, set[str]]:
        """Return IP address -> record names of the A records of one private DNS zone."""
        subscription, group, name = _parts(zone_id)
        client = self.clients.private_dns(subscription)
        addresses: dict[str, set[str]] = {}
        for item in client.record_sets.list_by_type(group, name, "A"):
            record = raw_item(item)
            properties = as_dict(record.get("properties"))
            for entry in as_list(properties.get("aRecords")):
                address = as_text(as_dict(entry).get("ipv4Address"))
                if address:
                    addresses.setdefault(address, set()).add(str(record.get("name")))
        return addresses

    # Between rounds: networks, security and zone groups from the lists ---------------------

    def _attach(self, shared: _Shared, state: _Collection) -> None:
        state.changes = list(shared.changes.get(norm_id(state.workspace_id), []))
        relevant = self.source._relevant_private_endpoints(state)
        subnet_ids = [c.subnet_id for c in map(Compute.from_arm, state.computes) if c.subnet_id]
        subnet_ids += [
            s for s in (PrivateEndpoint.from_arm(p).subnet_id for p in relevant.values()) if s
        ]
        for subnet_id in subnet_ids:
            network_id = parent_id(subnet_id)
            if not shared.is_listed(network_id) or norm_id(network_id) in state.networks:
                continue
            network = shared.get(network_id)
            state.networks[norm_id(network_id)] = network
            for subnet in as_list(as_dict((network or {}).get("properties")).get("subnets")):
                subnet = as_dict(subnet)
                if subnet.get("id"):
                    state.subnets[norm_id(subnet["id"])] = {"type": SUBNET_TYPE, **subnet}
        for payload in state.subnets.values():
            subnet = Subnet.from_arm(payload or {})
            for resource_id in (subnet.network_security_group_id, subnet.route_table_id):
                if resource_id and shared.is_listed(resource_id):
                    state.security[norm_id(resource_id)] = shared.get(resource_id)
        needed = self._needed_zones(relevant.values())
        for key, payload in relevant.items():
            group = self._derived_zone_group(shared, payload, needed.get(key, []))
            if group is not None:
                state.zone_groups[key] = [group]

    def _derived_zone_group(self, shared: _Shared, endpoint: Json, zones: list[str]) -> Json | None:
        """Build the endpoint's zone group from A records, or None when they do not cover it."""
        if not zones or any(z not in shared.records for z in zones):
            return None
        addresses = _addresses(endpoint)
        if not addresses or any(not addresses & shared.records[z].keys() for z in zones):
            return None
        zone_ids = {str(z.get("name")).lower(): str(z.get("id")) for z in shared.zones}
        endpoint_id = str(endpoint.get("id"))
        return {
            "id": f"{endpoint_id}/privateDnsZoneGroups/{DERIVED_ZONE_GROUP}",
            "name": DERIVED_ZONE_GROUP,
            "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
            "properties": {
                "privateDnsZoneConfigs": [
                    {"name": zone, "properties": {"privateDnsZoneId": zone_ids[zone]}}
                    for zone in zones
                ],
            },
        }


class CollectedSource:
    """An `EstateSource` over estates read beforehand, keyed by workspace id.

    A workspace that was not collected is read from `fallback`, so a caller that reaches
    past the collected scope still gets a current estate.
    """

    def __init__(self, estates: Mapping[str, Estate], fallback: EstateSource) -> None:
        self.estates = {norm_id(k): v for k, v in estates.items()}
        self.fallback = fallback

    def workspace_estate(self, workspace_id: str) -> Estate:
        collected = self.estates.get(norm_id(workspace_id))
        if collected is not None:
            return collected
        return self.fallback.workspace_estate(workspace_id)

    def workspace_ids(self, scope: str) -> list[str]:
        return self.fallback.workspace_ids(scope)


def _addresses(endpoint: Json) -> set[str]:
    """Return the private IP addresses that ARM reports on a private endpoint."""
    properties = as_dict(endpoint.get("properties"))
    found: set[str] = set()
    for config in as_list(properties.get("customDnsConfigs")):
        found.update(str(a) for a in as_list(as_dict(config).get("ipAddresses")) if a)
    for config in as_list(properties.get("ipConfigurations")):
        address = as_text(as_dict(as_dict(config).get("properties")).get("privateIPAddress"))
        if address:
            found.add(address)
    return found


def _kql_string(value: str) -> str:
    """Quote `value` as a KQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _graph_rows(clients: AzureClients, subscription: str, query: str) -> list[Json]:
    """Run a Resource Graph query over one subscription and return every row of every page."""
    graph = clients.resource_graph()
    rows: list[Json] = []
    skip_token = None
    while True:
        options = QueryRequestOptions(result_format="objectArray", skip_token=skip_token)
        request = QueryRequest(subscriptions=[subscription], query=query, options=options)
        page = _raw_get(graph.resources, request)
        rows += [dict(row) for row in as_list(page.get("data"))]
        skip_token = page.get("$skipToken")
        if not skip_token:
            return rows
