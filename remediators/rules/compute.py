"""Checks on the compute clusters that batch deployments run on, and their subnets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from remediators.estate.estate import WorkspaceContext
from remediators.estate.models import NetworkSecurityGroup, RouteTable, Subnet, norm_id
from remediators.findings import Finding, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.common import UsedCluster, cluster_region, used_clusters
from remediators.rules.network import (
    Party,
    default_route_to_appliance,
    evaluate_flow,
    format_ports,
    has_internet_route_for_tag,
)
from remediators.rules.service_tags import (
    CURRENT_OUTBOUND,
    FIREWALL_INTERNET_ROUTE_TAGS,
    INBOUND_BATCH_NODE_MANAGEMENT,
)

logger = logging.getLogger(__name__)


def _subnet(context: WorkspaceContext, cluster: UsedCluster) -> Subnet | None:
    """Return the cluster's subnet, or None (logged) when the estate lacks it."""
    subnet_id = cluster.compute.subnet_id
    if subnet_id is None:
        return None
    subnet = context.subnets.get(norm_id(subnet_id))
    if subnet is None:
        logger.warning(
            "subnet %s of cluster %s is not in the estate; its NSG and routes are not checked",
            subnet_id,
            cluster.compute.name,
            extra={"resource_id": cluster.compute.id, "subnet_id": subnet_id},
        )
    return subnet


def _nsg(context: WorkspaceContext, subnet: Subnet) -> NetworkSecurityGroup | None:
    return context.network_security_groups.get(norm_id(subnet.network_security_group_id))


def _route_table(context: WorkspaceContext, subnet: Subnet) -> RouteTable | None:
    return context.route_tables.get(norm_id(subnet.route_table_id))


def _common_details(cluster: UsedCluster, subnet: Subnet | None) -> dict[str, Any]:
    return {
        "subnet_id": cluster.compute.subnet_id,
        "subnet_found": subnet is not None,
        "deployments": list(cluster.deployment_ids),
        "batch_endpoints": list(cluster.endpoint_ids),
    }


@check("compute.virtual-network")
def virtual_network(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    if context.workspace.has_managed_network:
        return
    for cluster in used_clusters(context):
        compute = cluster.compute
        if compute.subnet_id is not None:
            continue
        yield make_finding(
            "compute.virtual-network",
            compute.id,
            context.workspace.id,
            f"Cluster {compute.name} runs batch deployments but is in no virtual network and "
            "the workspace has no managed network, so it cannot reach the workspace's private "
            "endpoints. Fix: create a cluster with az ml compute create --type AmlCompute "
            "--vnet-name <vnet> --subnet <subnet> and point the deployments at it; a "
            "cluster's subnet cannot be changed after creation.",
            **_common_details(cluster, None),
        )


@check("compute.inbound-rules")
def inbound_rules(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    required = INBOUND_BATCH_NODE_MANAGEMENT
    for cluster in used_clusters(context):
        compute = cluster.compute
        if not compute.enable_node_public_ip:
            continue
        subnet = _subnet(context, cluster)
        if subnet is None:
            continue
        nsg = _nsg(context, subnet)
        # Without an NSG on the subnet nothing filters the traffic.
        if nsg is None:
            continue
        decision = evaluate_flow(
            nsg.security_rules,
            direction="inbound",
            protocol=required.protocol,
            source=Party.service(required.tag, cluster_region(context, compute)),
            destination=Party.subnet(subnet.address_prefixes),
            ports=required.ports,
        )
        if decision.all_admitted:
            continue
        blocked = format_ports(decision.blocked)
        yield make_finding(
            "compute.inbound-rules",
            compute.id,
            context.workspace.id,
            f"NSG {nsg.name} on the subnet of public-IP cluster {compute.name} does not admit "
            f"TCP {blocked} inbound from BatchNodeManagement, so Azure Batch cannot manage the "
            "nodes and batch jobs never start. Fix: az network nsg rule create --nsg-name "
            f"{nsg.name} --direction Inbound --access Allow --protocol Tcp "
            "--source-address-prefixes BatchNodeManagement --destination-port-ranges "
            "29876-29877 --priority <lower than any deny>.",
            nsg_id=nsg.id,
            required=required.label,
            ports_not_admitted=blocked,
            deciding_rules={str(p): r for p, r in sorted(decision.deciding_rules.items())},
            **_common_details(cluster, subnet),
        )


@check("compute.outbound-rules")
def outbound_rules(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    for cluster in used_clusters(context):
        subnet = _subnet(context, cluster)
        if subnet is None:
            continue
        nsg = _nsg(context, subnet)
        if nsg is None:
            continue
        region = cluster_region(context, cluster.compute)
        blocked: list[str] = []
        for required in CURRENT_OUTBOUND.tags:
            decision = evaluate_flow(
                nsg.security_rules,
                direction="outbound",
                protocol=required.protocol,
                source=Party.subnet(subnet.address_prefixes),
                destination=Party.service(required.tag, region),
                ports=required.ports,
            )
            if not decision.all_admitted:
                blocked.append(f"{required.tag}:{format_ports(decision.blocked)}")
        if not blocked:
            continue
        yield make_finding(
            "compute.outbound-rules",
            cluster.compute.id,
            context.workspace.id,
            f"NSG {nsg.name} on the subnet of cluster {cluster.compute.name} blocks outbound "
            f"traffic to {', '.join(blocked)}, which the nodes need to run batch jobs (service "
            f"tags as of {CURRENT_OUTBOUND.version}, {CURRENT_OUTBOUND.source}). Fix: add "
            f"outbound allow rules, for example az network nsg rule create --nsg-name "
            f"{nsg.name} --direction Outbound --access Allow --protocol Tcp "
            f"--destination-address-prefixes <tag> --destination-port-ranges 443.",
            nsg_id=nsg.id,
            blocked=blocked,
            region=region,
            tag_list_version=CURRENT_OUTBOUND.version,
            **_common_details(cluster, subnet),
        )


@check("compute.outbound-path")
def outbound_path(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    for cluster in used_clusters(context):
        compute = cluster.compute
        if compute.enable_node_public_ip:
            continue
        subnet = _subnet(context, cluster)
        if subnet is None or subnet.nat_gateway_id:
            continue
        if subnet.route_table_id and _route_table(context, subnet) is None:
            # The route table exists but was not read: its routes are unknown.
            continue
        if default_route_to_appliance(_route_table(context, subnet)) is not None:
            continue
        yield make_finding(
            "compute.outbound-path",
            compute.id,
            context.workspace.id,
            f"Cluster {compute.name} has no public IP and its subnet {subnet.name} has neither "
            "a NAT gateway nor a 0.0.0.0/0 route to a virtual appliance, so the nodes have no "
            "egress and cannot reach Azure Batch, storage or the registry. Fix: az network "
            f"vnet subnet update --name {subnet.name} --nat-gateway <nat gateway>, or route "
            "0.0.0.0/0 to your firewall.",
            route_table_id=subnet.route_table_id,
            nat_gateway_id=subnet.nat_gateway_id,
            **_common_details(cluster, subnet),
        )


@check("compute.firewall-routes")
def firewall_routes(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    for cluster in used_clusters(context):
        compute = cluster.compute
        if not compute.enable_node_public_ip:
            continue
        subnet = _subnet(context, cluster)
        if subnet is None:
            continue
        table = _route_table(context, subnet)
        if table is None or default_route_to_appliance(table) is None:
            continue
        region = cluster_region(context, compute)
        missing = [
            tag
            for tag in FIREWALL_INTERNET_ROUTE_TAGS
            if not has_internet_route_for_tag(table, tag, region)
        ]
        if not missing:
            continue
        yield make_finding(
            "compute.firewall-routes",
            compute.id,
            context.workspace.id,
            f"Public-IP cluster {compute.name} routes 0.0.0.0/0 to a virtual appliance through "
            f"route table {table.name}, but has no route with next hop Internet for "
            f"{', '.join(missing)}; Azure Batch reaches the nodes on their public IPs, so the "
            "replies are dropped by asymmetric routing and the nodes become unusable. Fix: az "
            f"network route-table route create --route-table-name {table.name} "
            "--address-prefix <tag> --next-hop-type Internet for each tag.",
            route_table_id=table.id,
            missing_routes=missing,
            region=region,
            **_common_details(cluster, subnet),
        )
