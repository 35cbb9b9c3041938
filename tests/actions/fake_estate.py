"""Builders of a small estate in the fake ARM: a workspace, its storage, network and zones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from azure.core.credentials import AccessToken

from fake_arm import FakeArm, FakeArmTransport
from remediators.clients import AzureClients

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000bb"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml"
NETWORK_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/net"
DNS_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/dns"
WORKSPACE = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/ws"
STORAGE = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/sa"
VAULT = f"{GROUP}/providers/Microsoft.KeyVault/vaults/kv"
VNET = f"{NETWORK_GROUP}/providers/Microsoft.Network/virtualNetworks/vnet"
PE_SUBNET = f"{VNET}/subnets/pe"
POLICY_SUBNET = f"{VNET}/subnets/policies"
ZONES = f"{DNS_GROUP}/providers/Microsoft.Network/privateDnsZones"
ZONE_NAMES = (
    "privatelink.blob.core.windows.net",
    "privatelink.file.core.windows.net",
    "privatelink.queue.core.windows.net",
    "privatelink.table.core.windows.net",
    "privatelink.vaultcore.azure.net",
    "privatelink.api.azureml.ms",
    "privatelink.notebooks.azure.net",
)


class FakeCredential:
    """A token credential that never contacts an identity endpoint."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", 4_102_444_800)


def endpoint_id(name: str) -> str:
    return f"{NETWORK_GROUP}/providers/Microsoft.Network/privateEndpoints/{name}"


def private_endpoint(
    name: str, target: str, group: str, subnet: str = PE_SUBNET, manual: bool = False
) -> dict[str, Any]:
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    status = "Pending" if manual else "Approved"
    return {
        "id": endpoint_id(name),
        "name": name,
        "type": "Microsoft.Network/privateEndpoints",
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "subnet": {"id": subnet},
            key: [
                {
                    "name": f"{name}-connection",
                    "properties": {
                        "privateLinkServiceId": target,
                        "groupIds": [group],
                        "privateLinkServiceConnectionState": {"status": status},
                    },
                }
            ],
        },
    }


def zone_group(endpoint: str, zones: Iterable[str], name: str = "default") -> dict[str, Any]:
    return {
        "id": f"{endpoint_id(endpoint)}/privateDnsZoneGroups/{name}",
        "name": name,
        "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "properties": {
            "privateDnsZoneConfigs": [
                {
                    "name": zone.replace(".", "-"),
                    "properties": {"privateDnsZoneId": f"{ZONES}/{zone}"},
                }
                for zone in zones
            ]
        },
    }


def connection(target: str, endpoint: str, group: str) -> dict[str, Any]:
    return {
        "id": f"{target}/privateEndpointConnections/{endpoint}.conn",
        "name": f"{endpoint}.conn",
        "properties": {
            "privateEndpoint": {"id": endpoint_id(endpoint)},
            "groupIds": [group],
            "privateLinkServiceConnectionState": {"status": "Approved"},
        },
    }


def workspace(managed_network: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "publicNetworkAccess": "Disabled",
        "storageAccount": STORAGE,
        "keyVault": VAULT,
        "privateEndpointConnections": [connection(WORKSPACE, "pe-ws", "amlworkspace")],
    }
    if managed_network:
        properties["managedNetwork"] = {
            "isolationMode": "AllowOnlyApprovedOutbound",
            "outboundRules": {},
        }
    return {
        "id": WORKSPACE,
        "name": "ws",
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": "westeurope",
        "properties": properties,
    }


def estate(
    *, storage_groups: Iterable[str] = ("blob", "file"), managed_network: bool = False
) -> list[dict[str, Any]]:
    """Return the resources: storage with endpoints for `storage_groups`, and their zones."""
    groups = list(storage_groups)
    storage = {
        "id": STORAGE,
        "name": "sa",
        "type": "Microsoft.Storage/storageAccounts",
        "location": "westeurope",
        "properties": {
            "publicNetworkAccess": "Disabled",
            "privateEndpointConnections": [
                connection(STORAGE, f"pe-sa-{group}", group) for group in groups
            ],
        },
    }
    network = {
        "id": VNET,
        "name": "vnet",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [
                {
                    "id": PE_SUBNET,
                    "name": "pe",
                    "properties": {
                        "addressPrefix": "10.0.1.0/24",
                        "privateEndpointNetworkPolicies": "Disabled",
                    },
                },
                {
                    "id": POLICY_SUBNET,
                    "name": "policies",
                    "properties": {
                        "addressPrefix": "10.0.2.0/24",
                        "privateEndpointNetworkPolicies": "Enabled",
                    },
                },
            ],
        },
    }
    vault = {
        "id": VAULT,
        "name": "kv",
        "type": "Microsoft.KeyVault/vaults",
        "location": "westeurope",
        "properties": {"privateEndpointConnections": []},
    }
    resources = [workspace(managed_network), storage, vault, network]
    resources.append(private_endpoint("pe-ws", WORKSPACE, "amlworkspace"))
    resources.append(
        zone_group("pe-ws", ["privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"])
    )
    for group in groups:
        resources.append(private_endpoint(f"pe-sa-{group}", STORAGE, group))
        resources.append(zone_group(f"pe-sa-{group}", [f"privatelink.{group}.core.windows.net"]))
    resources += [
        {
            "id": f"{ZONES}/{zone}",
            "name": zone,
            "type": "Microsoft.Network/privateDnsZones",
            "location": "global",
            "properties": {},
        }
        for zone in ZONE_NAMES
    ]
    return resources


def fake_arm(**options: Any) -> FakeArm:
    arm = FakeArm(estate(**options))
    arm.add_resource_group(f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/other")
    return arm


def clients_for(arm: FakeArm) -> AzureClients:
    """Build real SDK clients that reach `arm`, without waits between LRO polls."""
    return AzureClients(FakeCredential(), transport=FakeArmTransport(arm), polling_interval=0)


def writes(arm: FakeArm) -> list[str]:
    """Return `METHOD path` of every logged request that is not a GET."""
    return [f"{r.method} {r.path}" for r in arm.requests if r.method != "GET"]
