"""Checks on private endpoint connections and the DNS zone groups of private endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from remediators.estate.estate import WorkspaceContext
from remediators.estate.models import (
    PrivateEndpoint,
    PrivateEndpointConnection,
    Resource,
    norm_id,
    same_id,
)
from remediators.findings import Action, Finding, Severity, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.dns_zones import required_zones


@dataclass(frozen=True)
class Target:
    """A resource batch endpoints depend on, with the group its private endpoints use."""

    resource: Resource
    kind: str
    default_group: str
    connections: tuple[PrivateEndpointConnection, ...]


def targets(context: WorkspaceContext) -> list[Target]:
    found = [
        Target(
            context.workspace,
            "workspace",
            "amlworkspace",
            context.workspace.private_endpoint_connections,
        )
    ]
    if context.storage_account is not None:
        storage = context.storage_account
        found.append(
            Target(storage, "storage account", "blob", storage.private_endpoint_connections)
        )
    if context.registry is not None:
        registry = context.registry
        found.append(
            Target(registry, "registry", "registry", registry.private_endpoint_connections)
        )
    if context.key_vault is not None:
        vault = context.key_vault
        found.append(Target(vault, "key vault", "vault", vault.private_endpoint_connections))
    return found


# ---------------------------------------------------------------- connection state


@check("private-endpoint.connection-state")
def connection_state(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    for target in targets(context):
        reported: set[str] = set()
        for connection in target.connections:
            reported.add(norm_id(connection.private_endpoint_id))
            finding = _state_finding(
                context, target, connection.status, connection.id or target.resource.id,
                connection.private_endpoint_id, connection.description,
            )  # fmt: skip
            if finding is not None:
                yield finding
        # A manual request appears on the private endpoint before the target lists it.
        for endpoint in context.private_endpoints.values():
            if endpoint.key in reported:
                continue
            for link in endpoint.connections:
                if not same_id(link.private_link_service_id, target.resource.id):
                    continue
                finding = _state_finding(
                    context, target, link.status, endpoint.id, endpoint.id, None
                )
                if finding is not None:
                    yield finding


def _state_finding(
    context: WorkspaceContext,
    target: Target,
    status: str | None,
    resource_id: str,
    endpoint_id: str | None,
    description: str | None,
) -> Finding | None:
    name = target.resource.name
    if status == "Pending":
        severity = Severity.WARNING
        message = (
            f"The private endpoint connection to {target.kind} {name} is Pending: approval is "
            f"needed by the owner of {target.resource.id}. Until then traffic does not flow. "
            f"Fix: the owner runs az network private-endpoint-connection approve --id "
            f"{resource_id}, or approves it in the portal under Networking > Private endpoint "
            "connections."
        )
    elif status in ("Rejected", "Disconnected"):
        severity = Severity.ERROR
        message = (
            f"The private endpoint connection to {target.kind} {name} is {status}, so batch "
            "jobs cannot reach it privately. Fix: delete the private endpoint and create a new "
            f"one, and ask the owner of {target.resource.id} to approve it."
        )
    else:
        return None
    return make_finding(
        "private-endpoint.connection-state",
        resource_id,
        context.workspace.id,
        message,
        severity=severity,
        subject=resource_id,
        status=status,
        target_id=target.resource.id,
        private_endpoint_id=endpoint_id,
        description=description,
    )


# ---------------------------------------------------------------- DNS zones


def _groups_of(endpoint: PrivateEndpoint, target: Target) -> list[str]:
    groups: list[str] = []
    for link in endpoint.connections:
        if same_id(link.private_link_service_id, target.resource.id):
            groups += list(link.group_ids) or [target.default_group]
    return list(dict.fromkeys(groups))


@check("private-endpoint.dns")
def dns(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    all_targets = targets(context)
    for endpoint in context.private_endpoints.values():
        for target in all_targets:
            groups = _groups_of(endpoint, target)
            if not groups:
                continue
            finding = _dns_finding(context, options, endpoint, target, groups)
            if finding is not None:
                yield finding


def _dns_finding(
    context: WorkspaceContext,
    options: RuleOptions,
    endpoint: PrivateEndpoint,
    target: Target,
    groups: list[str],
) -> Finding | None:
    required: list[str] = []
    for group in groups:
        required += [z for z in required_zones(group, options.cloud) if z not in required]
    present = {name for group in endpoint.dns_zone_groups for name in group.zone_names}
    missing = [zone for zone in required if zone.lower() not in present]
    if not missing:
        return None
    zone_group = endpoint.dns_zone_groups[0] if endpoint.dns_zone_groups else None
    if zone_group is None:
        problem = "has no DNS zone group"
        fix = (
            f"az network private-endpoint dns-zone-group create --endpoint-name {endpoint.name} "
            f"--name default --zone-name {missing[0]} --private-dns-zone {missing[0]}"
        )
    else:
        problem = f"has DNS zone group {zone_group.name} without zone(s) {', '.join(missing)}"
        fix = (
            f"az network private-endpoint dns-zone-group add --endpoint-name {endpoint.name} "
            f"--name {zone_group.name} --zone-name {missing[0]} --private-dns-zone {missing[0]}"
        )
    if options.custom_dns:
        fix = f"add A records for the endpoint to zone(s) {', '.join(missing)} in your own DNS"
    return make_finding(
        "private-endpoint.dns",
        endpoint.id,
        context.workspace.id,
        f"Private endpoint {endpoint.name} for {target.kind} {target.resource.name} {problem}, "
        f"so names under {', '.join(missing)} do not resolve to private addresses and batch "
        f"jobs reach the public endpoint or fail. Fix: {fix}.",
        action=Action.ALERT if options.custom_dns else None,
        subject=target.resource.id,
        target_id=target.resource.id,
        group_ids=groups,
        required_zones=required,
        missing_zones=missing,
        zone_group=zone_group.name if zone_group else None,
        zone_group_id=zone_group.id if zone_group else None,
        cloud=options.cloud,
    )
