"""Builders for a small test estate that the event fixtures in tests/fixtures/events point at.

Workspaces `ws-a` and `ws-b` share storage account `mlstore01`; `ws-c` uses `mlstore02`.
`ws-a` also has a private endpoint, a compute cluster in a subnet with an NSG, a route table
and a NAT gateway, and a batch endpoint with one deployment.
"""

from __future__ import annotations

from typing import Any

from remediators.estate.estate import Estate

SUBSCRIPTION = "6f1c2a0e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_SUBSCRIPTION = "0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml-rg"
PROVIDERS = f"{GROUP}/providers"

WS_A = f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces/ws-a"
WS_B = f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces/ws-b"
WS_C = f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces/ws-c"
STORAGE = f"{PROVIDERS}/Microsoft.Storage/storageAccounts/mlstore01"
OTHER_STORAGE = f"{PROVIDERS}/Microsoft.Storage/storageAccounts/mlstore02"
REGISTRY = f"{PROVIDERS}/Microsoft.ContainerRegistry/registries/mlacr01"
VAULT = f"{PROVIDERS}/Microsoft.KeyVault/vaults/mlkv01"
VNET = f"{PROVIDERS}/Microsoft.Network/virtualNetworks/ml-vnet"
PE_SUBNET = f"{VNET}/subnets/endpoints"
COMPUTE_SUBNET = f"{VNET}/subnets/compute"
NSG = f"{PROVIDERS}/Microsoft.Network/networkSecurityGroups/compute-nsg"
ROUTE_TABLE = f"{PROVIDERS}/Microsoft.Network/routeTables/compute-routes"
NAT_GATEWAY = f"{PROVIDERS}/Microsoft.Network/natGateways/compute-nat"
WS_A_PE = f"{PROVIDERS}/Microsoft.Network/privateEndpoints/ws-a-pe"
COMPUTE = f"{WS_A}/computes/cpu-cluster"
ENDPOINT = f"{WS_A}/batchEndpoints/scoring"
DEPLOYMENT = f"{ENDPOINT}/deployments/blue"


def workspace(resource_id: str, storage: str = STORAGE, **properties: Any) -> dict[str, Any]:
    return {
        "id": resource_id,
        "name": resource_id.rsplit("/", 1)[-1],
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": "eastus",
        "properties": {
            "storageAccount": storage,
            "containerRegistry": REGISTRY,
            "keyVault": VAULT,
            "publicNetworkAccess": "Disabled",
            **properties,
        },
    }


def resource(resource_id: str, resource_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "id": resource_id,
        "name": resource_id.rsplit("/", 1)[-1],
        "type": resource_type,
        "location": "eastus",
        "properties": properties,
    }


def private_endpoint(resource_id: str, target: str, group: str, subnet: str) -> dict[str, Any]:
    connection = {
        "name": f"{group}-connection",
        "properties": {
            "privateLinkServiceId": target,
            "groupIds": [group],
            "privateLinkServiceConnectionState": {"status": "Approved"},
        },
    }
    return resource(
        resource_id,
        "Microsoft.Network/privateEndpoints",
        subnet={"id": subnet},
        privateLinkServiceConnections=[connection],
    )


def build_estate() -> Estate:
    """Build the three-workspace estate described in the module docstring."""
    return Estate(
        [
            workspace(WS_A),
            workspace(WS_B),
            workspace(WS_C, storage=OTHER_STORAGE),
            resource(STORAGE, "Microsoft.Storage/storageAccounts", publicNetworkAccess="Disabled"),
            resource(OTHER_STORAGE, "Microsoft.Storage/storageAccounts"),
            resource(REGISTRY, "Microsoft.ContainerRegistry/registries"),
            resource(VAULT, "Microsoft.KeyVault/vaults"),
            private_endpoint(WS_A_PE, WS_A, "amlworkspace", PE_SUBNET),
            resource(
                VNET,
                "Microsoft.Network/virtualNetworks",
                subnets=[
                    {"id": PE_SUBNET, "name": "endpoints", "properties": {}},
                    {
                        "id": COMPUTE_SUBNET,
                        "name": "compute",
                        "properties": {
                            "networkSecurityGroup": {"id": NSG},
                            "routeTable": {"id": ROUTE_TABLE},
                            "natGateway": {"id": NAT_GATEWAY},
                        },
                    },
                ],
            ),
            resource(NSG, "Microsoft.Network/networkSecurityGroups", securityRules=[]),
            resource(ROUTE_TABLE, "Microsoft.Network/routeTables", routes=[]),
            resource(NAT_GATEWAY, "Microsoft.Network/natGateways"),
            {
                "id": COMPUTE,
                "name": "cpu-cluster",
                "type": "Microsoft.MachineLearningServices/workspaces/computes",
                "properties": {
                    "computeType": "AmlCompute",
                    "properties": {"subnet": {"id": COMPUTE_SUBNET}, "enableNodePublicIp": False},
                },
            },
            resource(ENDPOINT, "Microsoft.MachineLearningServices/workspaces/batchEndpoints"),
            resource(
                DEPLOYMENT,
                "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments",
                compute=COMPUTE,
            ),
        ]
    )
