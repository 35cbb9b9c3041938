"""Map resource changes to the workspaces whose evaluation they affect.

A change to the workspace or one of its children maps to that workspace by id. A change to a
shared dependency (storage, registry, key vault, private endpoint, network, private DNS zone)
maps through a `DependencyIndex` of what each workspace is known to use. The index still
finds the dependants of a deleted resource, whose event has no body. A change to a child
that the rules read through its parent (an NSG security rule, a route, a zone's virtual
network link) routes as a change of that parent.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from remediators.estate import estate as types
from remediators.estate.estate import Estate, WorkspaceContext, build_context
from remediators.estate.models import as_dict, as_list, as_text, norm_id, parent_id
from remediators.events import (
    Ignored,
    Normalised,
    Rejected,
    ResourceChange,
    resource_type_of,
    usable_resource_id,
)

logger = logging.getLogger(__name__)

OUTBOUND_RULE = "microsoft.machinelearningservices/workspaces/outboundrules"
SECURITY_RULE = "microsoft.network/networksecuritygroups/securityrules"
ROUTE = "microsoft.network/routetables/routes"
DNS_ZONE_LINK = "microsoft.network/privatednszones/virtualnetworklinks"
# Zone groups write A records, so other record types in a privatelink zone are not routed.
DNS_A_RECORD = "microsoft.network/privatednszones/a"

# Workspace children, with how many type/name levels up their workspace is.
_WORKSPACE_CHILDREN: dict[str, int] = {
    types.COMPUTE: 1,
    types.BATCH_ENDPOINT: 1,
    types.WORKSPACE_PE_CONNECTION: 1,
    OUTBOUND_RULE: 1,
    types.BATCH_DEPLOYMENT: 2,
}

# Child resources judged as their parent, one type/name level up. The rules read NSG rules,
# routes and connections from the parent's payload, so `az network nsg rule create` or a
# connection approval counts as a change of the NSG or storage account it belongs to.
# Other children of handled types (vault secrets, storage containers) change no finding.
_JUDGED_AS_PARENT: frozenset[str] = frozenset(
    {
        types.STORAGE_PE_CONNECTION,
        types.REGISTRY_PE_CONNECTION,
        types.KEY_VAULT_PE_CONNECTION,
        types.DNS_ZONE_GROUP,
        SECURITY_RULE,
        ROUTE,
        DNS_ZONE_LINK,
        DNS_A_RECORD,
    }
)

# Shared resources whose dependants come from the index.
_DEPENDENCY_TYPES: tuple[str, ...] = (
    types.STORAGE_ACCOUNT,
    types.REGISTRY,
    types.KEY_VAULT,
    types.PRIVATE_ENDPOINT,
    types.SUBNET,
    types.VIRTUAL_NETWORK,
    types.NSG,
    types.ROUTE_TABLE,
    types.NAT_GATEWAY,
    types.PRIVATE_DNS_ZONE,
)

# The exact ARM types (lowercased) the router handles. The Event Grid subscription filters on
# this list, so every type routed here must be in it and nothing else.
HANDLED_RESOURCE_TYPES: tuple[str, ...] = (
    types.WORKSPACE,
    *_WORKSPACE_CHILDREN,
    *_DEPENDENCY_TYPES,
    *sorted(_JUDGED_AS_PARENT),
)


class DependencyIndex:
    """Index of the workspaces that use each resource, keyed by lowercased resource id.

    Built from an estate and updated per workspace after each evaluation, it still returns
    the dependants of resources that have since been deleted.
    """

    def __init__(self) -> None:
        self._dependants: dict[str, set[str]] = {}
        self._uses: dict[str, set[str]] = {}
        self._names: dict[str, str] = {}

    @classmethod
    def from_estate(cls, estate: Estate) -> DependencyIndex:
        index = cls()
        for workspace_id in estate.workspace_ids():
            index.update(build_context(estate, workspace_id))
        return index

    def update(self, context: WorkspaceContext) -> None:
        """Replace what is recorded for the context's workspace with what it uses now."""
        workspace_key = norm_id(context.workspace_id)
        self.remove(context.workspace_id)
        self._names[workspace_key] = context.workspace_id
        used = {norm_id(r) for r in dependencies_of(context) if r}
        self._uses[workspace_key] = used
        for resource_key in used:
            self._dependants.setdefault(resource_key, set()).add(workspace_key)

    def remove(self, workspace_id: str) -> None:
        workspace_key = norm_id(workspace_id)
        for resource_key in self._uses.pop(workspace_key, set()):
            dependants = self._dependants.get(resource_key)
            if dependants is not None:
                dependants.discard(workspace_key)
                if not dependants:
                    del self._dependants[resource_key]
        self._names.pop(workspace_key, None)

    def dependants(self, resource_id: str) -> list[str]:
        """Return the ids of the workspaces known to use `resource_id`, sorted."""
        keys = self._dependants.get(norm_id(resource_id), set())
        return sorted(self._names[k] for k in keys)

    def workspace_ids(self) -> list[str]:
        return sorted(self._names.values())

    def __len__(self) -> int:
        return len(self._names)


def dependencies_of(context: WorkspaceContext) -> list[str]:
    """List every resource id outside the workspace whose change can alter its findings."""
    workspace = context.workspace
    ids: list[str | None] = [
        workspace.storage_account,
        workspace.container_registry,
        workspace.key_vault,
    ]
    for endpoint in context.private_endpoints.values():
        ids.append(endpoint.id)
        ids.append(endpoint.subnet_id)
        for group in endpoint.dns_zone_groups:
            ids += group.zone_ids
    ids += [compute.subnet_id for compute in context.computes]
    for subnet in context.subnets.values():
        ids += [
            subnet.virtual_network_id,
            subnet.network_security_group_id,
            subnet.route_table_id,
            subnet.nat_gateway_id,
        ]
    subnet_ids = [i for i in ids if i and resource_type_of(i) == types.SUBNET]
    ids += [parent_id(i) for i in subnet_ids]
    return sorted({i for i in ids if i})


@dataclass(frozen=True)
class Target:
    """A workspace one change affects, and why."""

    workspace_id: str
    reason: str


@dataclass(frozen=True)
class WorkspaceRoute:
    """One evaluation to run: a workspace, the reasons and the events behind it."""

    workspace_id: str
    reasons: tuple[str, ...]
    event_ids: tuple[str, ...]


@dataclass
class RoutingResult:
    """The evaluations a delivery calls for, and every event that called for none."""

    routes: list[WorkspaceRoute] = field(default_factory=list)
    skipped: list[Ignored | Rejected] = field(default_factory=list)

    @property
    def ignored(self) -> list[Ignored]:
        return [s for s in self.skipped if isinstance(s, Ignored)]

    @property
    def rejected(self) -> list[Rejected]:
        return [s for s in self.skipped if isinstance(s, Rejected)]


class Router:
    """Route changes to workspaces within the configured subscriptions.

    `scope` contains the subscription ids in scope, and None accepts every subscription.
    """

    def __init__(
        self, index: DependencyIndex | None = None, scope: Collection[str] | None = None
    ) -> None:
        self.index = index
        self.scope = None if scope is None else frozenset(s.lower() for s in scope)

    def targets(self, change: ResourceChange) -> list[Target] | Ignored | Rejected:
        """Return the workspaces `change` affects, or why it affects none."""
        # NOTE: a change to a private DNS zone in a hub subscription outside the scope is
        # rejected here, so its dependants wait for the next sweep.
        if self.scope is not None and change.subscription_id not in self.scope:
            return Rejected(
                change.event_id,
                f"subscription {change.subscription_id} is outside the configured scope",
                change.resource_id,
            )
        kind = change.resource_type
        resource_id = change.resource_id
        child = ""
        if kind in _JUDGED_AS_PARENT:
            child = f"{_child_path(resource_id)} {change.operation} in "
            resource_id = parent_id(resource_id)
            kind = resource_type_of(resource_id)
        if kind == types.WORKSPACE:
            return [Target(resource_id, f"workspace {change.operation}")]
        if kind in _WORKSPACE_CHILDREN:
            workspace_id = parent_id(resource_id, _WORKSPACE_CHILDREN[kind])
            return [Target(workspace_id, f"{_short(kind)} {change.operation}: {resource_id}")]
        if kind in _DEPENDENCY_TYPES:
            return self._dependants(change, resource_id, kind, child)
        return Ignored(change.event_id, f"resource type {kind} affects no rule", change.resource_id)

    def route(self, items: Iterable[Normalised]) -> RoutingResult:
        """Route a whole delivery: one route per workspace, duplicate events dropped.

        Two events are duplicates when they share resource id and correlation id, as Event
        Grid redeliveries and multi-event deployments do.
        """
        result = RoutingResult()
        seen: dict[tuple[str, str | None], str] = {}
        routes: dict[str, tuple[str, list[str], list[str]]] = {}
        for item in items:
            if not isinstance(item, ResourceChange):
                result.skipped.append(item)
                continue
            key = (norm_id(item.resource_id), item.correlation_id)
            if key in seen:
                result.skipped.append(
                    Ignored(item.event_id, f"duplicate of event {seen[key]}", item.resource_id)
                )
                continue
            seen[key] = item.event_id
            outcome = self.targets(item)
            if not isinstance(outcome, list):
                result.skipped.append(outcome)
                continue
            for target in outcome:
                workspace_key = norm_id(target.workspace_id)
                entry = routes.setdefault(workspace_key, (target.workspace_id, [], []))
                if target.reason not in entry[1]:
                    entry[1].append(target.reason)
                if item.event_id not in entry[2]:
                    entry[2].append(item.event_id)
        result.routes = [
            WorkspaceRoute(workspace_id, tuple(reasons), tuple(event_ids))
            for workspace_id, reasons, event_ids in routes.values()
        ]
        return result

    def _dependants(
        self, change: ResourceChange, resource_id: str, kind: str, child: str = ""
    ) -> list[Target] | Ignored:
        """Return the workspaces that use `resource_id`, with `child` as a child's reason prefix."""
        found = set(self.index.dependants(resource_id)) if self.index is not None else set()
        if kind == types.PRIVATE_ENDPOINT and not child:
            for target_id in _private_endpoint_targets(change.body):
                target_kind = resource_type_of(target_id)
                if target_kind == types.WORKSPACE:
                    found.add(target_id)
                elif self.index is not None:
                    found.update(self.index.dependants(target_id))
        in_scope = [w for w in sorted(found) if self._in_scope(w)]
        if not in_scope:
            # NOTE: a dependency that no known workspace uses yet (a private endpoint created
            # without a body in its event) is picked up by the next sweep or workspace event.
            return Ignored(
                change.event_id,
                f"no known workspace in scope uses {_short(kind)} {resource_id}",
                change.resource_id,
            )
        if child:
            reason = f"{child}{_short(kind)} {resource_id}"
        else:
            reason = f"{_short(kind)} {change.operation}: {resource_id}"
        return [Target(workspace_id, reason) for workspace_id in in_scope]

    def _in_scope(self, workspace_id: str) -> bool:
        if self.scope is None:
            return True
        segments = workspace_id.split("/")
        return len(segments) > 2 and segments[2].lower() in self.scope


def _private_endpoint_targets(body: Mapping[str, Any] | None) -> list[str]:
    """Return the resources a private endpoint body connects to (Azure Resource Notifications)."""
    properties = as_dict(as_dict(body).get("properties"))
    targets: list[str] = []
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        for connection in as_list(properties.get(key)):
            inner = as_dict(as_dict(connection).get("properties"))
            # The body comes from the event, so a forged target id is dropped here.
            target = usable_resource_id(as_text(inner.get("privateLinkServiceId")))
            if target:
                targets.append(target)
    return targets


def _short(kind: str) -> str:
    return kind.rsplit("/", 1)[-1]


def _child_path(resource_id: str) -> str:
    """Return the last type/name pair of a child id as ARM spells it, such as `routes/default`."""
    return "/".join(resource_id.rstrip("/").split("/")[-2:])
