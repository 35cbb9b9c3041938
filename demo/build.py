"""Build the demo estates from the real ARM payloads in demo/payloads/.

Run `python -m demo.build` to rewrite demo/estate.json and demo/compliant-estate.json. Each
resource starts from the ARM GET sample of its type (copied unchanged into demo/payloads/),
gets the demo's ids and names, and then gets exactly the settings the demo story needs.
tests/test_demo.py checks that the committed files equal what this module builds.

The faulty estate plants these faults in workspace mlw-contoso-batch:

1-2. storage account stcontosobatch has private endpoints for blob and file only;
3.   the workspace private endpoint's zone group lacks privatelink.notebooks.azure.net;
4.   registry acrcontosobatch has quarantine enabled;
5.   imageBuildCompute is "" while the registry is private;
6-7. cluster batch-cluster has no public IP, no egress path, and an NSG that blocks
     AzureFrontDoor.FirstParty;
8.   batch endpoint churn-scoring was created before the workspace became private.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DEMO = Path(__file__).parent
PAYLOADS = DEMO / "payloads"
ESTATE_FILE = DEMO / "estate.json"
COMPLIANT_ESTATE_FILE = DEMO / "compliant-estate.json"

SUBSCRIPTION = "8f6b6c2e-1d3a-4c8e-9b7a-2f4d5e6a7b8c"
RESOURCE_GROUP = "rg-ml-prod"
REGION = "westeurope"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
PROVIDERS = f"{GROUP_ID}/providers"
TENANT = "3c1f9a27-5b8e-4d62-a0f4-7e2b9c6d1a85"

WORKSPACE_NAME = "mlw-contoso-batch"
SANDBOX_NAME = "mlw-contoso-sandbox"
WORKSPACE_ID = f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces/{WORKSPACE_NAME}"
SANDBOX_ID = f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces/{SANDBOX_NAME}"
STORAGE_ID = f"{PROVIDERS}/Microsoft.Storage/storageAccounts/stcontosobatch"
SANDBOX_STORAGE_ID = f"{PROVIDERS}/Microsoft.Storage/storageAccounts/stcontososandbox"
REGISTRY_ID = f"{PROVIDERS}/Microsoft.ContainerRegistry/registries/acrcontosobatch"
KEY_VAULT_ID = f"{PROVIDERS}/Microsoft.KeyVault/vaults/kv-contoso-batch"
VNET_ID = f"{PROVIDERS}/Microsoft.Network/virtualNetworks/vnet-ml-prod"
COMPUTE_SUBNET_ID = f"{VNET_ID}/subnets/snet-compute"
PE_SUBNET_ID = f"{VNET_ID}/subnets/snet-private-endpoints"
NSG_ID = f"{PROVIDERS}/Microsoft.Network/networkSecurityGroups/nsg-compute"
NAT_GATEWAY_ID = f"{PROVIDERS}/Microsoft.Network/natGateways/ng-ml-prod"
CLUSTER_ID = f"{WORKSPACE_ID}/computes/batch-cluster"
CHURN_ID = f"{WORKSPACE_ID}/batchEndpoints/churn-scoring"
FRAUD_ID = f"{WORKSPACE_ID}/batchEndpoints/fraud-scoring"
WORKSPACE_PE_ID = f"{PROVIDERS}/Microsoft.Network/privateEndpoints/pe-mlw-contoso-batch"
# The Resource Graph change record that shows the workspace becoming private.
BECAME_PRIVATE_AT = "2026-10-15T09:42:17.512Z"

# Outbound service tags the compute NSG allows on 443 in the faulty estate: every required
# tag except AzureFrontDoor.FirstParty.
ALLOWED_OUTBOUND_TAGS = (
    "AzureMachineLearning",
    f"BatchNodeManagement.{REGION}",
    f"Storage.{REGION}",
    "AzureResourceManager",
    "AzureActiveDirectory",
    "MicrosoftContainerRegistry",
    "AzureMonitor",
)


def sample(name: str) -> dict[str, Any]:
    """Return a deep copy of the 200 response body of a copied ARM sample."""
    document = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return copy.deepcopy(document["responses"]["200"]["body"])


def system_data(created_at: str) -> dict[str, Any]:
    return {
        "createdAt": created_at,
        "createdBy": "mlops@contoso.com",
        "createdByType": "User",
        "lastModifiedAt": created_at,
        "lastModifiedBy": "mlops@contoso.com",
        "lastModifiedByType": "User",
    }


# ---------------------------------------------------------------- machine learning


def workspace(*, image_build_compute: str) -> dict[str, Any]:
    body = sample("ml_workspace_get_2025-09-01.json")
    properties = body["properties"]
    body.update(
        id=WORKSPACE_ID,
        name=WORKSPACE_NAME,
        location=REGION,
        tags={"team": "risk-analytics", "environment": "prod"},
        identity={"type": "SystemAssigned", "principalId": TENANT, "tenantId": TENANT},
        systemData=system_data("2026-03-02T10:15:00.000Z"),
    )
    # The sample workspace uses a customer-managed key and a shared private link, which
    # the demo workspace does not have.
    for key in ("encryption", "sharedPrivateLinkResources", "discoveryUrl"):
        properties.pop(key, None)
    connection = properties["privateEndpointConnections"][0]
    connection.update(
        id=f"{WORKSPACE_ID}/privateEndpointConnections/pe-mlw-contoso-batch.1f0c",
        name="pe-mlw-contoso-batch.1f0c",
    )
    connection["properties"]["privateEndpoint"]["id"] = WORKSPACE_PE_ID
    properties["privateEndpointConnections"] = [connection]
    properties.update(
        friendlyName="Contoso batch scoring",
        description="Batch scoring for churn and fraud models",
        storageAccount=STORAGE_ID,
        containerRegistry=REGISTRY_ID,
        keyVault=KEY_VAULT_ID,
        applicationInsights=f"{PROVIDERS}/microsoft.insights/components/appi-contoso-batch",
        serviceProvisionedResourceGroup=f"{WORKSPACE_NAME}_8f6b6c2e1d3a4c8e",
        publicNetworkAccess="Disabled",
        allowPublicAccessWhenBehindVnet=False,
        imageBuildCompute=image_build_compute,
        privateLinkCount=1,
    )
    return body


def sandbox_workspace() -> dict[str, Any]:
    body = workspace(image_build_compute="")
    properties = body["properties"]
    body.update(
        id=SANDBOX_ID,
        name=SANDBOX_NAME,
        tags={"team": "risk-analytics", "network-isolation": "exempt"},
    )
    properties.update(
        friendlyName="Contoso sandbox",
        description="Exploration workspace, public by decision of the platform team",
        storageAccount=SANDBOX_STORAGE_ID,
        containerRegistry=None,
        keyVault=KEY_VAULT_ID,
        publicNetworkAccess="Enabled",
        allowPublicAccessWhenBehindVnet=True,
        privateEndpointConnections=[],
        privateLinkCount=0,
    )
    return body


def cluster() -> dict[str, Any]:
    body = sample("ml_compute_get_AmlCompute_2024-10-01.json")
    body.update(id=CLUSTER_ID, name="batch-cluster", location=REGION)
    properties = body["properties"]
    properties.update(
        description="Batch scoring cluster",
        createdOn="2026-03-02T10:40:00.0000000+00:00",
        modifiedOn="2026-03-02T10:40:00.0000000+00:00",
    )
    inner = properties["properties"]
    inner.update(
        vmSize="STANDARD_D4S_V3",
        osType="Linux",
        subnet={"id": COMPUTE_SUBNET_ID},
        remoteLoginPortPublicAccess="Disabled",
        allocationState="Steady",
        enableNodePublicIp=False,
        targetNodeCount=0,
    )
    inner["scaleSettings"] = {
        "maxNodeCount": 4,
        "minNodeCount": 0,
        "nodeIdleTimeBeforeScaleDown": "PT5M",
    }
    return body


def batch_endpoint(endpoint_id: str, created_at: str, deployment: str) -> dict[str, Any]:
    body = sample("ml_batchEndpoint_get_2025-09-01.json")
    name = endpoint_id.rsplit("/", 1)[-1]
    body.update(
        id=endpoint_id,
        name=name,
        type="Microsoft.MachineLearningServices/workspaces/batchEndpoints",
        location=REGION,
        kind="",
        tags={"model": name.split("-")[0]},
        systemData=system_data(created_at),
        identity={"type": "SystemAssigned", "principalId": TENANT, "tenantId": TENANT},
    )
    body.pop("sku", None)
    scoring = f"https://{name}.{REGION}.inference.ml.azure.com/jobs"
    body["properties"] = {
        "description": f"Batch scoring for the {name.split('-')[0]} model",
        "properties": {},
        "scoringUri": scoring,
        "swaggerUri": f"https://{name}.{REGION}.inference.ml.azure.com/swagger.json",
        "authMode": "AADToken",
        "defaults": {"deploymentName": deployment},
        "provisioningState": "Succeeded",
    }
    return body


def batch_deployment(endpoint_id: str, name: str, created_at: str) -> dict[str, Any]:
    body = sample("ml_batchDeployment_get_2025-09-01.json")
    model = endpoint_id.rsplit("/", 1)[-1].split("-")[0]
    body.update(
        id=f"{endpoint_id}/deployments/{name}",
        name=name,
        type="Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments",
        location=REGION,
        kind="",
        tags={},
        systemData=system_data(created_at),
    )
    body.pop("sku", None)
    body.pop("identity", None)
    properties = body["properties"]
    properties.update(
        description=f"{model} model, version 3",
        properties={},
        codeConfiguration={
            "codeId": f"{WORKSPACE_ID}/codes/{model}-scoring/versions/1",
            "scoringScript": "batch_driver.py",
        },
        environmentId=f"{WORKSPACE_ID}/environments/{model}-scoring-env/versions/2",
        environmentVariables={},
        compute=CLUSTER_ID,
        model={"referenceType": "Id", "assetId": f"{WORKSPACE_ID}/models/{model}/versions/3"},
        outputFileName="predictions.csv",
        outputAction="AppendRow",
        provisioningState="Succeeded",
    )
    properties["resources"] = {"instanceCount": 2}
    return body


# ---------------------------------------------------------------- storage, registry, key vault


def storage_account(groups: tuple[str, ...]) -> dict[str, Any]:
    body = sample("storage_account_getProperties_2025-06-01.json")
    body.update(
        id=STORAGE_ID,
        name="stcontosobatch",
        location=REGION,
        kind="StorageV2",
        sku={"name": "Standard_LRS", "tier": "Standard"},
        tags={"team": "risk-analytics"},
    )
    properties = body["properties"]
    for key in ("geoReplicationStats", "secondaryLocation", "statusOfSecondary"):
        properties.pop(key, None)
    properties.update(
        primaryLocation=REGION,
        isHnsEnabled=False,
        supportsHttpsTrafficOnly=True,
        publicNetworkAccess="Disabled",
        primaryEndpoints={
            service: f"https://stcontosobatch.{service}.core.windows.net/"
            for service in ("blob", "file", "queue", "table", "dfs", "web")
        },
        privateEndpointConnections=[storage_connection(group) for group in groups],
    )
    properties["routingPreference"] = {
        "publishInternetEndpoints": False,
        "publishMicrosoftEndpoints": False,
        "routingChoice": "MicrosoftRouting",
    }
    properties["networkAcls"] = {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
        "ipRules": [],
        "resourceAccessRules": [],
        "virtualNetworkRules": [],
    }
    return body


def storage_connection(group: str) -> dict[str, Any]:
    # Storage reports connections without group ids and spells it actionRequired.
    connection = sample("storage_privateEndpointConnections_list_2025-06-01.json")["value"][0]
    name = f"pe-stcontosobatch-{group}.5a1e"
    connection.update(id=f"{STORAGE_ID}/privateEndpointConnections/{name}", name=name)
    connection["properties"]["privateEndpoint"]["id"] = private_endpoint_id("stcontosobatch", group)
    return connection


def sandbox_storage_account() -> dict[str, Any]:
    body = sample("storage_account_getProperties_2025-06-01.json")
    body.update(id=SANDBOX_STORAGE_ID, name="stcontososandbox", location=REGION, tags={})
    body["properties"]["primaryLocation"] = REGION
    return body


def registry(*, quarantine: str) -> dict[str, Any]:
    body = sample("acr_registry_get_2025-04-01.json")
    body.update(
        id=REGISTRY_ID,
        name="acrcontosobatch",
        location=REGION,
        tags={"team": "risk-analytics"},
        sku={"name": "Premium", "tier": "Premium"},
    )
    properties = body["properties"]
    properties.update(
        loginServer="acrcontosobatch.azurecr.io",
        creationDate="2026-03-02T10:05:12.1537861Z",
        publicNetworkAccess="Disabled",
        networkRuleSet={"defaultAction": "Deny", "ipRules": []},
    )
    properties["policies"]["quarantinePolicy"]["status"] = quarantine
    connection = sample("acr_privateEndpointConnection_get_2025-04-01.json")
    connection.update(
        id=f"{REGISTRY_ID}/privateEndpointConnections/pe-acrcontosobatch.77b2",
        name="pe-acrcontosobatch.77b2",
    )
    connection["properties"]["privateEndpoint"]["id"] = private_endpoint_id(
        "acrcontosobatch", "registry"
    )
    properties["privateEndpointConnections"] = [connection]
    return body


def key_vault() -> dict[str, Any]:
    # No key vault GET sample is copied, so the vault is written in the 2024-11-01 GET shape.
    # Its private endpoint connection comes from the copied connection sample.
    connection = sample("keyvault_privateEndpointConnection_get_2024-11-01.json")
    connection.update(
        id=f"{KEY_VAULT_ID}/privateEndpointConnections/pe-kv-contoso-batch.c3d9",
        name="pe-kv-contoso-batch.c3d9",
    )
    connection["properties"]["privateEndpoint"]["id"] = private_endpoint_id(
        "kv-contoso-batch", "vault"
    )
    return {
        "id": KEY_VAULT_ID,
        "name": "kv-contoso-batch",
        "type": "Microsoft.KeyVault/vaults",
        "location": REGION,
        "tags": {"team": "risk-analytics"},
        "properties": {
            "sku": {"family": "A", "name": "standard"},
            "tenantId": TENANT,
            "accessPolicies": [],
            "enableRbacAuthorization": True,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90,
            "enablePurgeProtection": True,
            "vaultUri": "https://kv-contoso-batch.vault.azure.net/",
            "publicNetworkAccess": "Disabled",
            "networkAcls": {
                "bypass": "AzureServices",
                "defaultAction": "Deny",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "privateEndpointConnections": [connection],
            "provisioningState": "Succeeded",
        },
    }


# ---------------------------------------------------------------- private endpoints and DNS


def private_endpoint_id(target_name: str, group: str) -> str:
    name = (
        f"pe-{target_name}"
        if group in ("amlworkspace", "registry", "vault")
        else (f"pe-{target_name}-{group}")
    )
    return f"{PROVIDERS}/Microsoft.Network/privateEndpoints/{name}"


def private_endpoint(endpoint_id: str, target_id: str, group: str) -> dict[str, Any]:
    body = sample("network_privateEndpoint_get_2025-07-01.json")
    name = endpoint_id.rsplit("/", 1)[-1]
    body.update(id=endpoint_id, name=name, location=REGION)
    properties = body["properties"]
    link = properties["privateLinkServiceConnections"][0]
    link.update(id=f"{endpoint_id}/privateLinkServiceConnections/{name}", name=name)
    link["properties"].update(privateLinkServiceId=target_id, groupIds=[group], requestMessage="")
    properties.update(
        subnet={"id": PE_SUBNET_ID},
        networkInterfaces=[
            {"id": f"{PROVIDERS}/Microsoft.Network/networkInterfaces/{name}.nic.7c41"}
        ],
        customDnsConfigs=[],
        ipConfigurations=[],
        customNetworkInterfaceName="",
    )
    return body


def zone_group(endpoint_id: str, zones: tuple[str, ...]) -> dict[str, Any]:
    body = sample("network_privateDnsZoneGroup_get_2025-03-01.json")
    template = body["properties"]["privateDnsZoneConfigs"][0]
    configs = []
    for zone in zones:
        config = copy.deepcopy(template)
        config["name"] = zone.replace(".", "-")
        config["properties"]["privateDnsZoneId"] = (
            f"{PROVIDERS}/Microsoft.Network/privateDnsZones/{zone}"
        )
        record = config["properties"]["recordSets"][0]
        record.update(fqdn=f"{endpoint_id.rsplit('/', 1)[-1]}.{zone}", ipAddresses=["10.20.2.4"])
        config["properties"]["recordSets"] = [record]
        configs.append(config)
    body.update(
        id=f"{endpoint_id}/privateDnsZoneGroups/default",
        name="default",
        type="Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    )
    body["properties"]["privateDnsZoneConfigs"] = configs
    return body


def endpoint_with_zones(
    target_name: str, target_id: str, group: str, zones: tuple[str, ...]
) -> list[dict[str, Any]]:
    endpoint_id = private_endpoint_id(target_name, group)
    return [private_endpoint(endpoint_id, target_id, group), zone_group(endpoint_id, zones)]


# ---------------------------------------------------------------- network


def subnet(subnet_id: str, prefix: str, **references: dict[str, str]) -> dict[str, Any]:
    body = sample("network_subnet_get_2025-03-01.json")
    body.update(
        id=subnet_id,
        name=subnet_id.rsplit("/", 1)[-1],
        type="Microsoft.Network/virtualNetworks/subnets",
    )
    body["properties"].update(
        addressPrefix=prefix,
        privateEndpointNetworkPolicies="Disabled",
        privateLinkServiceNetworkPolicies="Enabled",
        **references,
    )
    return body


def virtual_network(subnets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": VNET_ID,
        "name": "vnet-ml-prod",
        "type": "Microsoft.Network/virtualNetworks",
        "location": REGION,
        "properties": {
            "provisioningState": "Succeeded",
            "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
            "subnets": copy.deepcopy(subnets),
        },
    }


def security_group(outbound_tags: tuple[str, ...]) -> dict[str, Any]:
    body = sample("network_nsg_get_2025-07-01.json")
    body.update(id=NSG_ID, name="nsg-compute", location=REGION)
    properties = body["properties"]
    rules = []
    for offset, tag in enumerate(outbound_tags):
        name = f"Allow{tag.split('.')[0]}Outbound"
        rules.append(security_rule(name, 100 + 10 * offset, "Allow", tag, "443"))
    rules.append(security_rule("DenyAllOutbound", 4096, "Deny", "*", "*"))
    properties["securityRules"] = rules
    for rule in properties["defaultSecurityRules"]:
        rule["id"] = f"{NSG_ID}/defaultSecurityRules/{rule['name']}"
    properties["subnets"] = [{"id": COMPUTE_SUBNET_ID}]
    return body


def security_rule(name: str, priority: int, access: str, tag: str, port: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": f"{NSG_ID}/securityRules/{name}",
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {
            "provisioningState": "Succeeded",
            "protocol": "Tcp" if port != "*" else "*",
            "sourcePortRange": "*",
            "destinationPortRange": port,
            "sourceAddressPrefix": "VirtualNetwork",
            "destinationAddressPrefix": tag,
            "access": access,
            "priority": priority,
            "direction": "Outbound",
        },
    }


def nat_gateway() -> dict[str, Any]:
    return {
        "id": NAT_GATEWAY_ID,
        "name": "ng-ml-prod",
        "type": "Microsoft.Network/natGateways",
        "location": REGION,
        "sku": {"name": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "idleTimeoutInMinutes": 4,
            "publicIpAddresses": [
                {"id": f"{PROVIDERS}/Microsoft.Network/publicIPAddresses/pip-ng-ml-prod"}
            ],
            "subnets": [{"id": COMPUTE_SUBNET_ID}],
        },
    }


def became_private_record() -> dict[str, Any]:
    """Return the Resource Graph `resourcechanges` row of the switch to private."""
    return {
        "id": f"{WORKSPACE_ID}/providers/Microsoft.Resources/changes/08584452167421138731_6b3e",
        "name": "08584452167421138731_6b3e",
        "type": "microsoft.resources/changes",
        "tenantId": TENANT,
        "location": REGION,
        "resourceGroup": RESOURCE_GROUP,
        "subscriptionId": SUBSCRIPTION,
        "properties": {
            "targetResourceId": WORKSPACE_ID,
            "targetResourceType": "microsoft.machinelearningservices/workspaces",
            "changeType": "Update",
            "changeAttributes": {
                "timestamp": BECAME_PRIVATE_AT,
                "correlationId": "5d8f1c2a-9e47-4b36-8a1d-2c7e6f0b9a34",
                "changedBy": "mlops@contoso.com",
                "changedByType": "User",
                "clientType": "Azure Portal",
                "operation": "Microsoft.MachineLearningServices/workspaces/write",
                "changesCount": 1,
                "previousResourceSnapshotId": "08584452167421138731_6b3e_1",
                "newResourceSnapshotId": "08584452167421138731_6b3e_2",
            },
            "changes": {
                "properties.publicNetworkAccess": {
                    "propertyChangeType": "Update",
                    "changeCategory": "User",
                    "previousValue": "Enabled",
                    "newValue": "Disabled",
                }
            },
        },
    }


# ---------------------------------------------------------------- estates


def build_estate(compliant: bool = False) -> list[dict[str, Any]]:
    """Return the demo estate, with the planted faults unless `compliant`."""
    storage_groups = ("blob", "file", "queue", "table") if compliant else ("blob", "file")
    workspace_zones: tuple[str, ...] = ("privatelink.api.azureml.ms",)
    if compliant:
        workspace_zones += ("privatelink.notebooks.azure.net",)
    outbound_tags = ALLOWED_OUTBOUND_TAGS + (("AzureFrontDoor.FirstParty",) if compliant else ())
    compute_references: dict[str, dict[str, str]] = {"networkSecurityGroup": {"id": NSG_ID}}
    if compliant:
        compute_references["natGateway"] = {"id": NAT_GATEWAY_ID}
    # A compliant churn-scoring was recreated after the workspace became private.
    churn_created = "2026-11-20T14:05:00.000Z" if compliant else "2026-09-01T08:30:00.000Z"
    fraud_created = "2026-11-02T16:20:00.000Z"

    subnets = [
        subnet(COMPUTE_SUBNET_ID, "10.20.1.0/24", **compute_references),
        subnet(PE_SUBNET_ID, "10.20.2.0/24"),
    ]
    resources: list[dict[str, Any]] = [
        workspace(image_build_compute="batch-cluster" if compliant else ""),
        sandbox_workspace(),
        cluster(),
        batch_endpoint(CHURN_ID, churn_created, "churn-main"),
        batch_deployment(CHURN_ID, "churn-main", churn_created),
        batch_endpoint(FRAUD_ID, fraud_created, "fraud-main"),
        batch_deployment(FRAUD_ID, "fraud-main", fraud_created),
        storage_account(storage_groups),
        sandbox_storage_account(),
        registry(quarantine="disabled" if compliant else "enabled"),
        key_vault(),
        *endpoint_with_zones("mlw-contoso-batch", WORKSPACE_ID, "amlworkspace", workspace_zones),
        *endpoint_with_zones(
            "acrcontosobatch", REGISTRY_ID, "registry", ("privatelink.azurecr.io",)
        ),
        *endpoint_with_zones(
            "kv-contoso-batch", KEY_VAULT_ID, "vault", ("privatelink.vaultcore.azure.net",)
        ),
    ]
    for group in storage_groups:
        resources += endpoint_with_zones(
            "stcontosobatch", STORAGE_ID, group, (f"privatelink.{group}.core.windows.net",)
        )
    resources += [virtual_network(subnets), *subnets, security_group(outbound_tags)]
    if compliant:
        resources.append(nat_gateway())
    resources.append(became_private_record())
    return resources


def render(resources: list[dict[str, Any]]) -> str:
    return json.dumps(resources, indent=2) + "\n"


def main() -> None:
    ESTATE_FILE.write_text(render(build_estate()), encoding="utf-8")
    COMPLIANT_ESTATE_FILE.write_text(render(build_estate(compliant=True)), encoding="utf-8")
    print(f"wrote {ESTATE_FILE} and {COMPLIANT_ESTATE_FILE}")


if __name__ == "__main__":
    main()
