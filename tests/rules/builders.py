"""Build estates for rule tests from the real ARM payloads in tests/fixtures/arm.

`healthy()` returns the resources of one compliant private workspace with a batch endpoint,
keyed by role. Tests change the copies they need and build an estate or context from them.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from remediators.estate.estate import Estate, NetworkHistory, WorkspaceContext, build_context
from remediators.findings import Finding
from remediators.rules import RuleOptions, run_checks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arm"

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/workspace-1234"
WORKSPACE_ID = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/testworkspace"
STORAGE_ID = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/teststorage"
REGISTRY_ID = f"{GROUP}/providers/Microsoft.ContainerRegistry/registries/testregistry"
VAULT_ID = f"{GROUP}/providers/Microsoft.KeyVault/vaults/testkv"
VNET_ID = f"{GROUP}/providers/Microsoft.Network/virtualNetworks/ml-vnet"
COMPUTE_SUBNET_ID = f"{VNET_ID}/subnets/training"
ENDPOINT_SUBNET_ID = f"{VNET_ID}/subnets/endpoints"
NSG_ID = f"{GROUP}/providers/Microsoft.Network/networkSecurityGroups/training-nsg"
ROUTE_TABLE_ID = f"{GROUP}/providers/Microsoft.Network/routeTables/training-routes"
NAT_GATEWAY_ID = f"{GROUP}/providers/Microsoft.Network/natGateways/training-nat"
ZONES_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/dns/providers/Microsoft.Network"
CLUSTER_NAME = "cpu-cluster"
COMPUTE_ID = f"{WORKSPACE_ID}/computes/{CLUSTER_NAME}"
ENDPOINT_ID = f"{WORKSPACE_ID}/batchEndpoints/scoring"
DEPLOYMENT_ID = f"{ENDPOINT_ID}/deployments/blue"
REGION = "westeurope"

ENDPOINT_CREATED = "2024-03-01T12:00:00.0000000Z"

STORAGE_GROUPS = ("blob", "file", "queue", "table")

WORKSPACE_ZONES = ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@cache
def _sample(name: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / name).read_text())
    return document["responses"]["200"]["body"]


def sample(name: str) -> dict[str, Any]:
    """Return a deep copy of the response body of a fixture file."""
    return copy.deepcopy(_sample(name))


def private_endpoint_id(name: str) -> str:
    return f"{GROUP}/providers/Microsoft.Network/privateEndpoints/{name}"


def zone_id(zone: str) -> str:
    return f"{ZONES_GROUP}/privateDnsZones/{zone}"


# ---------------------------------------------------------------- single resources


def workspace() -> dict[str, Any]:
    payload = sample("ml_workspace_get_2025-09-01.json")
    payload["id"] = WORKSPACE_ID
    payload["location"] = REGION
    props = payload["properties"]
    props.update(
        storageAccount=STORAGE_ID,
        containerRegistry=REGISTRY_ID,
        keyVault=VAULT_ID,
        imageBuildCompute=CLUSTER_NAME,
    )
    # The sample encrypts with a customer-managed key; the healthy case does not.
    del props["encryption"]
    connection = props["privateEndpointConnections"][0]
    connection["id"] = f"{WORKSPACE_ID}/privateEndpointConnections/ws-pe"
    connection["properties"]["privateEndpoint"]["id"] = private_endpoint_id("pe-workspace")
    return payload


def connection_on(target_id: str, endpoint_name: str, status: str = "Approved") -> dict[str, Any]:
    """Return a target-side connection in the shape of the storage sample (actionRequired)."""
    sample_list = sample("storage_privateEndpointConnections_list_2025-06-01.json")
    connection = sample_list["value"][0]
    connection["id"] = f"{target_id}/privateEndpointConnections/{endpoint_name}"
    connection["name"] = endpoint_name
    props = connection["properties"]
    props["privateEndpoint"]["id"] = private_endpoint_id(endpoint_name)
    props["privateLinkServiceConnectionState"]["status"] = status
    return connection


def storage_account(groups: tuple[str, ...] = STORAGE_GROUPS) -> dict[str, Any]:
    payload = sample("storage_account_getProperties_2025-06-01.json")
    payload["id"] = STORAGE_ID
    payload["name"] = "teststorage"
    props = payload["properties"]
    props["publicNetworkAccess"] = "Disabled"
    props["networkAcls"]["defaultAction"] = "Deny"
    props["privateEndpointConnections"] = [connection_on(STORAGE_ID, f"pe-{g}") for g in groups]
    return payload


def registry() -> dict[str, Any]:
    payload = sample("acr_registry_get_2025-04-01.json")
    payload["id"] = REGISTRY_ID
    payload["name"] = "testregistry"
    payload["sku"] = {"name": "Premium", "tier": "Premium"}
    props = payload["properties"]
    props["publicNetworkAccess"] = "Disabled"
    props["networkRuleSet"]["defaultAction"] = "Deny"
    connection = sample("acr_privateEndpointConnection_get_2025-04-01.json")
    connection["id"] = f"{REGISTRY_ID}/privateEndpointConnections/pe-registry"
    connection["properties"]["privateEndpoint"]["id"] = private_endpoint_id("pe-registry")
    props["privateEndpointConnections"] = [connection]
    return payload


def key_vault(with_endpoint: bool = True) -> dict[str, Any]:
    # No vault GET sample is stored; the vault is built around the real connection payload.
    connection = sample("keyvault_privateEndpointConnection_get_2024-11-01.json")
    connection["id"] = f"{VAULT_ID}/privateEndpointConnections/pe-vault"
    connection["properties"]["privateEndpoint"]["id"] = private_endpoint_id("pe-vault")
    return {
        "id": VAULT_ID,
        "name": "testkv",
        "type": "Microsoft.KeyVault/vaults",
        "location": REGION,
        "properties": {
            "publicNetworkAccess": "Disabled",
            "networkAcls": {"defaultAction": "Deny", "bypass": "None"},
            "privateEndpointConnections": [connection] if with_endpoint else [],
        },
    }


def private_endpoint(
    name: str, target_id: str, group: str, zones: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Return a private endpoint and, unless `zones` is empty, its DNS zone group."""
    payload = sample("network_privateEndpoint_get_2025-07-01.json")
    payload["id"] = private_endpoint_id(name)
    payload["name"] = name
    props = payload["properties"]
    link = props["privateLinkServiceConnections"][0]["properties"]
    link["privateLinkServiceId"] = target_id
    link["groupIds"] = [group]
    props["subnet"]["id"] = ENDPOINT_SUBNET_ID
    resources = [payload]
    if zones is None:
        from remediators.rules.dns_zones import required_zones

        zones = required_zones(group)
    if zones:
        resources.append(zone_group(name, zones))
    return resources


def zone_group(endpoint_name: str, zones: tuple[str, ...]) -> dict[str, Any]:
    payload = sample("network_privateDnsZoneGroup_get_2025-03-01.json")
    payload["id"] = f"{private_endpoint_id(endpoint_name)}/privateDnsZoneGroups/default"
    payload["name"] = "default"
    payload["type"] = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
    template = payload["properties"]["privateDnsZoneConfigs"][0]
    configs = []
    for zone in zones:
        config = copy.deepcopy(template)
        config["name"] = zone.replace(".", "-")
        config["properties"]["privateDnsZoneId"] = zone_id(zone)
        configs.append(config)
    payload["properties"]["privateDnsZoneConfigs"] = configs
    return payload


def compute(name: str = CLUSTER_NAME, public_ip: Any = False) -> dict[str, Any]:
    payload = sample("ml_compute_get_AmlCompute_2024-10-01.json")
    payload["id"] = f"{WORKSPACE_ID}/computes/{name}"
    payload["name"] = name
    payload["location"] = REGION
    inner = payload["properties"]["properties"]
    inner["subnet"] = {"id": COMPUTE_SUBNET_ID}
    inner["enableNodePublicIp"] = public_ip
    return payload


def subnet(subnet_id: str = COMPUTE_SUBNET_ID, prefix: str = "10.0.1.0/24") -> dict[str, Any]:
    payload = sample("network_subnet_get_2025-03-01.json")
    payload["id"] = subnet_id
    payload["name"] = subnet_id.rsplit("/", 1)[-1]
    payload["type"] = "Microsoft.Network/virtualNetworks/subnets"
    payload["properties"]["addressPrefix"] = prefix
    return payload


def nsg(custom_rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return the NSG sample with its custom rules replaced by `custom_rules`."""
    payload = sample("network_nsg_get_2025-07-01.json")
    payload["id"] = NSG_ID
    payload["name"] = "training-nsg"
    if custom_rules is not None:
        payload["properties"]["securityRules"] = custom_rules
    return payload


def security_rule(
    name: str,
    priority: int,
    direction: str,
    access: str,
    *,
    protocol: str = "Tcp",
    source: str | list[str] = "*",
    destination: str | list[str] = "*",
    ports: str | list[str] = "*",
    source_ports: str = "*",
) -> dict[str, Any]:
    """Return a security rule in the sample's shape (single or plural prefix and port keys)."""
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "protocol": protocol,
        "sourcePortRange": source_ports,
        "access": access,
        "priority": priority,
        "direction": direction,
    }
    for single, plural, value in (
        ("sourceAddressPrefix", "sourceAddressPrefixes", source),
        ("destinationAddressPrefix", "destinationAddressPrefixes", destination),
        ("destinationPortRange", "destinationPortRanges", ports),
    ):
        if isinstance(value, list):
            props[plural] = value
        else:
            props[single] = value
    return {"name": name, "id": f"{NSG_ID}/securityRules/{name}", "properties": props}


def route_table(routes: list[tuple[str, str]]) -> dict[str, Any]:
    payload = sample("network_routeTable_get_2025-03-01.json")
    payload["id"] = ROUTE_TABLE_ID
    payload["name"] = "training-routes"
    template = payload["properties"]["routes"][0]
    built = []
    for index, (prefix, next_hop) in enumerate(routes):
        route = copy.deepcopy(template)
        route["name"] = f"route{index}"
        route["properties"]["addressPrefix"] = prefix
        route["properties"]["nextHopType"] = next_hop
        if next_hop == "VirtualAppliance":
            route["properties"]["nextHopIpAddress"] = "10.0.0.4"
        built.append(route)
    payload["properties"]["routes"] = built
    return payload


def batch_endpoint(name: str = "scoring", created_at: str = ENDPOINT_CREATED) -> dict[str, Any]:
    payload = sample("ml_batchEndpoint_get_2025-09-01.json")
    payload["id"] = f"{WORKSPACE_ID}/batchEndpoints/{name}"
    payload["name"] = name
    payload["type"] = "Microsoft.MachineLearningServices/workspaces/batchEndpoints"
    payload["location"] = REGION
    payload["properties"]["defaults"]["deploymentName"] = "blue"
    payload["systemData"]["createdAt"] = created_at
    return payload


def batch_deployment(
    endpoint: str = "scoring", name: str = "blue", compute_ref: str = f"azureml:{CLUSTER_NAME}"
) -> dict[str, Any]:
    payload = sample("ml_batchDeployment_get_2025-09-01.json")
    payload["id"] = f"{WORKSPACE_ID}/batchEndpoints/{endpoint}/deployments/{name}"
    payload["name"] = name
    payload["type"] = "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments"
    payload["properties"]["compute"] = compute_ref
    return payload


# ---------------------------------------------------------------- whole estates


def healthy() -> dict[str, Any]:
    """Return a compliant private workspace and its dependencies, keyed by role."""
    resources: dict[str, Any] = {
        "workspace": workspace(),
        "storage": storage_account(),
        "registry": registry(),
        "vault": key_vault(),
        "compute": compute(),
        "compute-subnet": subnet(),
        "endpoint-subnet": subnet(ENDPOINT_SUBNET_ID, "10.0.2.0/24"),
        "nsg": nsg(),
        "endpoint": batch_endpoint(),
        "deployment": batch_deployment(),
    }
    props = resources["compute-subnet"]["properties"]
    props["networkSecurityGroup"] = {"id": NSG_ID}
    props["natGateway"] = {"id": NAT_GATEWAY_ID}
    endpoints = [
        ("pe-workspace", WORKSPACE_ID, "amlworkspace"),
        ("pe-registry", REGISTRY_ID, "registry"),
        ("pe-vault", VAULT_ID, "vault"),
    ] + [(f"pe-{g}", STORAGE_ID, g) for g in STORAGE_GROUPS]
    for name, target, group in endpoints:
        for index, payload in enumerate(private_endpoint(name, target, group)):
            resources[f"{name}#{index}"] = payload
    return resources


def private_history() -> NetworkHistory:
    """Return a history in which W became private before the healthy endpoint was created."""
    return NetworkHistory(
        became_private_at=utc("2024-01-01T00:00:00"),
        earliest_private_evidence=utc("2024-01-01T00:00:00"),
        source="resource-graph",
    )


def estate_of(resources: dict[str, Any]) -> Estate:
    return Estate(r for r in resources.values() if r is not None)


def context_of(
    resources: dict[str, Any], history: NetworkHistory | None = None
) -> WorkspaceContext:
    return build_context(estate_of(resources), WORKSPACE_ID, history or private_history())


def findings_of(
    resources: dict[str, Any],
    options: RuleOptions | None = None,
    history: NetworkHistory | None = None,
) -> list[Finding]:
    return run_checks(context_of(resources, history), options)


def rule_ids(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def only(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule_id]
