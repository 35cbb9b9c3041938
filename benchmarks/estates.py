"""Benchmark estates built by code from the real ARM payloads in benchmarks/payloads/.

Every resource starts from the ARM GET sample of its type (copied unchanged, see
benchmarks/payloads/PROVENANCE.md) and gets the ids, names and links of its workspace.

One reference workspace contains 1 storage account, 1 registry, 1 key vault, 2 compute
clusters in 1 virtual network, and 3 batch endpoints with 1 deployment each. It also has 7
private endpoints (workspace, storage blob, file, queue and table, registry, vault), each with
a DNS zone group whose zones contain the endpoint's A record. One workspace in ten lacks one
zone, so the DNS rule has something to find. The virtual network has a compute subnet (NSG and
NAT gateway) and a private endpoint subnet (no NSG, as private endpoints ignore NSGs unless
network policies are on). The private DNS zones live once, in a hub resource group.

`sweep_estate(n)` puts n such workspaces, each in its own resource group, in one subscription.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from remediators.rules.dns_zones import required_zones

Json = dict[str, Any]

PAYLOADS = Path(__file__).parent / "payloads"
SUBSCRIPTION = "5b2c7f3e-8a41-4d9c-b6e2-0f1a2b3c4d5e"
REGION = "westeurope"
DNS_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dns-hub"
CREATED_AT = "2026-01-05T08:00:00.000Z"
BECAME_PRIVATE_AT = "2025-12-01T09:00:00.000Z"

# The private endpoints of one workspace: (name suffix, target kind, group id).
ENDPOINT_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("mlw", "workspace", "amlworkspace"),
    ("blob", "storage", "blob"),
    ("file", "storage", "file"),
    ("queue", "storage", "queue"),
    ("table", "storage", "table"),
    ("acr", "registry", "registry"),
    ("kv", "vault", "vault"),
)
# The zone the planted fault leaves out (see `has_dns_fault`).
MISSING_ZONE = "privatelink.notebooks.azure.net"
CLUSTERS = ("cpu-cluster", "gpu-cluster")
ENDPOINTS = ("churn-scoring", "fraud-scoring", "demand-forecast")


def sample(name: str) -> Json:
    """Return a deep copy of the 200 response body of a copied ARM sample."""
    document = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(document["responses"]["200"]["body"])


def dns_zone_names() -> list[str]:
    """Return every private DNS zone that the endpoints of a reference workspace need."""
    names: list[str] = []
    for _, _, group in ENDPOINT_GROUPS:
        names += [z for z in required_zones(group) if z not in names]
    return names


def zone_id(zone: str) -> str:
    return f"{DNS_GROUP}/providers/Microsoft.Network/privateDnsZones/{zone}"


class WorkspaceIds:
    """The ids of workspace number `index` and everything it owns."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.suffix = f"{index:03d}"
        self.group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml-{self.suffix}"
        providers = f"{self.group}/providers"
        self.workspace = (
            f"{providers}/Microsoft.MachineLearningServices/workspaces/mlw-{self.suffix}"
        )
        self.storage = f"{providers}/Microsoft.Storage/storageAccounts/stml{self.suffix}"
        self.registry = f"{providers}/Microsoft.ContainerRegistry/registries/acrml{self.suffix}"
        self.vault = f"{providers}/Microsoft.KeyVault/vaults/kv-ml-{self.suffix}"
        self.network = f"{providers}/Microsoft.Network/virtualNetworks/vnet-ml-{self.suffix}"
        self.compute_subnet = f"{self.network}/subnets/snet-compute"
        self.endpoint_subnet = f"{self.network}/subnets/snet-private-endpoints"
        self.nsg = f"{providers}/Microsoft.Network/networkSecurityGroups/nsg-compute-{self.suffix}"
        self.nat = f"{providers}/Microsoft.Network/natGateways/ng-ml-{self.suffix}"

    def private_endpoint(self, suffix: str) -> str:
        return (
            f"{self.group}/providers/Microsoft.Network/privateEndpoints/pe-{suffix}-{self.suffix}"
        )

    def target(self, kind: str) -> str:
        return {
            "workspace": self.workspace,
            "storage": self.storage,
            "registry": self.registry,
            "vault": self.vault,
        }[kind]

    def ip(self, position: int) -> str:
        """Return a private IP in the endpoint subnet, unique across the estate."""
        return f"10.{self.index // 250}.{self.index % 250}.{4 + position}"


def _system_data() -> Json:
    return {
        "createdAt": CREATED_AT,
        "createdBy": "mlops@contoso.com",
        "createdByType": "User",
        "lastModifiedAt": CREATED_AT,
        "lastModifiedBy": "mlops@contoso.com",
        "lastModifiedByType": "User",
    }


def _connection(ids: WorkspaceIds, target: str, suffix: str, kind: str) -> Json:
    name = f"pe-{suffix}-{ids.suffix}.conn"
    return {
        "id": f"{target}/privateEndpointConnections/{name}",
        "name": name,
        "type": f"{_arm_type(kind)}/privateEndpointConnections",
        "properties": {
            "privateEndpoint": {"id": ids.private_endpoint(suffix)},
            "privateLinkServiceConnectionState": {
                "status": "Approved",
                "description": "Auto-Approved",
                "actionsRequired": "None",
            },
            "provisioningState": "Succeeded",
        },
    }


def _arm_type(kind: str) -> str:
    return {
        "workspace": "Microsoft.MachineLearningServices/workspaces",
        "storage": "Microsoft.Storage/storageAccounts",
        "registry": "Microsoft.ContainerRegistry/registries",
        "vault": "Microsoft.KeyVault/vaults",
    }[kind]


def _connections_of(ids: WorkspaceIds, kind: str) -> list[Json]:
    return [
        _connection(ids, ids.target(kind), suffix, kind)
        for suffix, target_kind, _ in ENDPOINT_GROUPS
        if target_kind == kind
    ]


def workspace(ids: WorkspaceIds) -> Json:
    body = sample("ml_workspace_get_2025-09-01")
    body.update(
        id=ids.workspace,
        name=ids.workspace.rsplit("/", 1)[-1],
        location=REGION,
        tags={"team": "scoring"},
        systemData=_system_data(),
    )
    properties = body["properties"]
    for key in ("encryption", "sharedPrivateLinkResources", "discoveryUrl"):
        properties.pop(key, None)
    properties.update(
        storageAccount=ids.storage,
        containerRegistry=ids.registry,
        keyVault=ids.vault,
        publicNetworkAccess="Disabled",
        allowPublicAccessWhenBehindVnet=False,
        imageBuildCompute=CLUSTERS[0],
        privateEndpointConnections=_connections_of(ids, "workspace"),
        privateLinkCount=1,
    )
    return body


def storage_account(ids: WorkspaceIds) -> Json:
    body = sample("storage_account_getProperties_2025-06-01")
    body.update(id=ids.storage, name=ids.storage.rsplit("/", 1)[-1], location=REGION)
    properties = body["properties"]
    properties["publicNetworkAccess"] = "Disabled"
    properties["networkAcls"] = {"bypass": "AzureServices", "defaultAction": "Deny"}
    properties["privateEndpointConnections"] = _connections_of(ids, "storage")
    return body


def registry(ids: WorkspaceIds) -> Json:
    body = sample("acr_registry_get_2025-04-01")
    body.update(id=ids.registry, name=ids.registry.rsplit("/", 1)[-1], location=REGION)
    body["sku"] = {"name": "Premium", "tier": "Premium"}
    properties = body["properties"]
    properties["publicNetworkAccess"] = "Disabled"
    properties["privateEndpointConnections"] = _connections_of(ids, "registry")
    return body


def key_vault(ids: WorkspaceIds) -> Json:
    """Build the key vault in its 2024-11-01 GET shape, because no vault GET sample is
    copied. Its connection starts from the copied connection sample."""
    connection = sample("keyvault_privateEndpointConnection_get_2024-11-01")
    template = _connection(ids, ids.vault, "kv", "vault")
    connection.update(id=template["id"], name=template["name"], type=template["type"])
    connection["properties"]["privateEndpoint"] = template["properties"]["privateEndpoint"]
    return {
        "id": ids.vault,
        "name": ids.vault.rsplit("/", 1)[-1],
        "type": "Microsoft.KeyVault/vaults",
        "location": REGION,
        "properties": {
            "tenantId": "3c1f9a27-5b8e-4d62-a0f4-7e2b9c6d1a85",
            "sku": {"family": "A", "name": "standard"},
            "publicNetworkAccess": "Disabled",
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny"},
            "privateEndpointConnections": [connection],
        },
    }


def cluster(ids: WorkspaceIds, name: str) -> Json:
    body = sample("ml_compute_get_AmlCompute_2024-10-01")
    body.update(id=f"{ids.workspace}/computes/{name}", name=name, location=REGION)
    inner = body["properties"]["properties"]
    inner.update(
        subnet={"id": ids.compute_subnet},
        remoteLoginPortPublicAccess="Disabled",
        enableNodePublicIp=False,
    )
    return body


def batch_endpoint(ids: WorkspaceIds, name: str) -> Json:
    body = sample("ml_batchEndpoint_get_2025-09-01")
    endpoint_id = f"{ids.workspace}/batchEndpoints/{name}"
    body.update(
        id=endpoint_id,
        name=name,
        type="Microsoft.MachineLearningServices/workspaces/batchEndpoints",
        location=REGION,
        systemData=_system_data(),
    )
    body.pop("sku", None)
    body["properties"].update(
        authMode="AADToken",
        defaults={"deploymentName": "blue"},
        provisioningState="Succeeded",
        scoringUri=f"https://{name}-{ids.suffix}.{REGION}.inference.ml.azure.com/jobs",
    )
    return body


def batch_deployment(ids: WorkspaceIds, endpoint: str, cluster_name: str) -> Json:
    body = sample("ml_batchDeployment_get_2025-09-01")
    endpoint_id = f"{ids.workspace}/batchEndpoints/{endpoint}"
    body.update(
        id=f"{endpoint_id}/deployments/blue",
        name="blue",
        type="Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments",
        location=REGION,
        systemData=_system_data(),
    )
    body.pop("sku", None)
    body["properties"].update(
        compute=f"{ids.workspace}/computes/{cluster_name}", provisioningState="Succeeded"
    )
    return body


def private_endpoint(ids: WorkspaceIds, position: int) -> Json:
    suffix, kind, group = ENDPOINT_GROUPS[position]
    body = sample("network_privateEndpoint_get_2025-07-01")
    endpoint_id = ids.private_endpoint(suffix)
    body.update(id=endpoint_id, name=endpoint_id.rsplit("/", 1)[-1], location=REGION)
    properties = body["properties"]
    connection = properties["privateLinkServiceConnections"][0]
    connection["id"] = f"{endpoint_id}/privateLinkServiceConnections/{body['name']}"
    connection["properties"].update(privateLinkServiceId=ids.target(kind), groupIds=[group])
    properties["subnet"] = {"id": ids.endpoint_subnet}
    nic = f"{ids.group}/providers/Microsoft.Network/networkInterfaces/{body['name']}.nic"
    properties["networkInterfaces"] = [{"id": nic}]
    address = ids.ip(position)
    properties["customDnsConfigs"] = [
        {"fqdn": f"{_record_name(ids, kind)}.{zone}", "ipAddresses": [address]}
        for zone in required_zones(group)
    ]
    properties["ipConfigurations"] = []
    properties["customNetworkInterfaceName"] = f"{body['name']}.nic"
    return body


def zone_group(endpoint: Json) -> Json:
    body = sample("network_privateDnsZoneGroup_get_2025-03-01")
    body.update(
        id=f"{endpoint['id']}/privateDnsZoneGroups/default",
        name="default",
        type="Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    )
    configs = []
    for config in endpoint["properties"]["customDnsConfigs"]:
        zone = config["fqdn"].split(".", 1)[1]
        configs.append(
            {
                "name": zone.replace(".", "-"),
                "properties": {
                    "privateDnsZoneId": zone_id(zone),
                    "recordSets": [
                        {
                            "recordType": "A",
                            "recordSetName": config["fqdn"].split(".", 1)[0],
                            "fqdn": config["fqdn"],
                            "ttl": 10,
                            "ipAddresses": list(config["ipAddresses"]),
                            "provisioningState": "Succeeded",
                        }
                    ],
                },
            }
        )
    body["properties"] = {"provisioningState": "Succeeded", "privateDnsZoneConfigs": configs}
    return body


def record_sets(endpoint: Json) -> list[Json]:
    """Build the A records that a zone group writes into the hub zones for `endpoint`."""
    records = []
    for config in endpoint["properties"]["customDnsConfigs"]:
        name, zone = config["fqdn"].split(".", 1)
        records.append(
            {
                "id": f"{zone_id(zone)}/A/{name}",
                "name": name,
                "type": "Microsoft.Network/privateDnsZones/A",
                "properties": {
                    "fqdn": f"{config['fqdn']}.",
                    "ttl": 10,
                    "isAutoRegistered": False,
                    "aRecords": [{"ipv4Address": ip} for ip in config["ipAddresses"]],
                },
            }
        )
    return records


def network(ids: WorkspaceIds) -> list[Json]:
    compute = sample("network_subnet_get_2025-03-01")
    compute.update(id=ids.compute_subnet, name="snet-compute")
    compute["properties"].update(
        addressPrefix=f"10.{100 + ids.index // 250}.{ids.index % 250}.0/25",
        networkSecurityGroup={"id": ids.nsg},
        natGateway={"id": ids.nat},
    )
    endpoints = sample("network_subnet_get_2025-03-01")
    endpoints.update(id=ids.endpoint_subnet, name="snet-private-endpoints")
    endpoints["properties"].update(
        addressPrefix=f"10.{ids.index // 250}.{ids.index % 250}.0/26",
        privateEndpointNetworkPolicies="Disabled",
    )
    vnet = {
        "id": ids.network,
        "name": ids.network.rsplit("/", 1)[-1],
        "type": "Microsoft.Network/virtualNetworks",
        "location": REGION,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/8"]},
            "subnets": [compute, endpoints],
            "provisioningState": "Succeeded",
        },
    }
    nsg = sample("network_nsg_get_2025-07-01")
    nsg.update(id=ids.nsg, name=ids.nsg.rsplit("/", 1)[-1], location=REGION)
    nat = {
        "id": ids.nat,
        "name": ids.nat.rsplit("/", 1)[-1],
        "type": "Microsoft.Network/natGateways",
        "location": REGION,
        "sku": {"name": "Standard"},
        "properties": {"provisioningState": "Succeeded", "subnets": [{"id": ids.compute_subnet}]},
    }
    return [vnet, nsg, nat]


def change_record(ids: WorkspaceIds) -> Json:
    """Build the Resource Graph change row of the workspace turning publicNetworkAccess off."""
    return {
        "id": f"{ids.workspace}/providers/Microsoft.Resources/changes/chg-{ids.suffix}",
        "name": f"chg-{ids.suffix}",
        "type": "microsoft.resources/changes",
        "tenantId": "3c1f9a27-5b8e-4d62-a0f4-7e2b9c6d1a85",
        "subscriptionId": SUBSCRIPTION,
        "properties": {
            "targetResourceId": ids.workspace,
            "targetResourceType": "microsoft.machinelearningservices/workspaces",
            "changeType": "Update",
            "changeAttributes": {"timestamp": BECAME_PRIVATE_AT, "changesCount": 1},
            "changes": {
                "properties.publicNetworkAccess": {
                    "previousValue": "Enabled",
                    "newValue": "Disabled",
                    "propertyChangeType": "Update",
                }
            },
        },
    }


def has_dns_fault(index: int) -> bool:
    """Return whether workspace `index` has the planted fault, one workspace in ten. Its
    workspace private endpoint's zone group, and so the hub zone, lacks the notebooks zone."""
    return index % 10 == 3


def workspace_resources(index: int) -> list[Json]:
    """Build every resource of reference workspace number `index`, DNS zones excluded."""
    ids = WorkspaceIds(index)
    resources = [workspace(ids), storage_account(ids), registry(ids), key_vault(ids)]
    resources += [cluster(ids, name) for name in CLUSTERS]
    for position, name in enumerate(ENDPOINTS):
        resources.append(batch_endpoint(ids, name))
        resources.append(batch_deployment(ids, name, CLUSTERS[position % len(CLUSTERS)]))
    for position in range(len(ENDPOINT_GROUPS)):
        endpoint = private_endpoint(ids, position)
        group, records = zone_group(endpoint), record_sets(endpoint)
        if position == 0 and has_dns_fault(index):
            configs = group["properties"]["privateDnsZoneConfigs"]
            group["properties"]["privateDnsZoneConfigs"] = [
                c for c in configs if MISSING_ZONE not in c["properties"]["privateDnsZoneId"]
            ]
            records = [r for r in records if MISSING_ZONE not in r["id"]]
        resources += [endpoint, group, *records]
    resources += network(ids)
    resources.append(change_record(ids))
    return resources


def dns_zones() -> list[Json]:
    return [
        {
            "id": zone_id(zone),
            "name": zone,
            "type": "Microsoft.Network/privateDnsZones",
            "location": "global",
            "properties": {"provisioningState": "Succeeded"},
        }
        for zone in dns_zone_names()
    ]


def reference_estate() -> list[Json]:
    """Build one reference workspace with its hub DNS zones."""
    return dns_zones() + workspace_resources(0)


def sweep_estate(workspaces: int) -> list[Json]:
    """`workspaces` reference workspaces in one subscription, sharing the hub DNS zones."""
    resources = dns_zones()
    for index in range(workspaces):
        resources += workspace_resources(index)
    return resources


def workspace_id(index: int) -> str:
    return WorkspaceIds(index).workspace


def _record_name(ids: WorkspaceIds, kind: str) -> str:
    return ids.target(kind).rsplit("/", 1)[-1].lower()
