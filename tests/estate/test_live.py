"""Live collection against the fake ARM: parity with the offline estate and request budget."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError

from fake_arm import FakeArm, FakeArmTransport
from remediators.clients import AzureClients
from remediators.estate.estate import Estate, build_context
from remediators.estate.live import LiveSource
from remediators.evaluation import evaluate_workspace, report_json
from remediators.rules import registered_checks

FIXTURES = Path(__file__).parent.parent / "fixtures" / "live"
SUB = "00000000-1111-2222-3333-444444444444"
RG = f"/subscriptions/{SUB}/resourceGroups/workspace-1234"
WORKSPACE = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/testworkspace"
STORAGE = f"{RG}/providers/Microsoft.Storage/storageAccounts/testStorageAccount"
REGISTRY = f"{RG}/providers/Microsoft.ContainerRegistry/registries/testRegistry"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/testkv"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnetname"
SUBNET = f"{VNET}/subnets/subnet1"
NSG = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/testnsg"
ROUTES = f"{RG}/providers/Microsoft.Network/routeTables/testrt"


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)


def sample(name: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / f"{name}.json").read_text())
    return copy.deepcopy(document["responses"]["200"]["body"])


def private_endpoint(name: str, target: str, group: str) -> dict[str, Any]:
    payload = sample("network_privateEndpoint_get_2025-07-01")
    payload["id"] = f"{RG}/providers/Microsoft.Network/privateEndpoints/{name}"
    payload["name"] = name
    props = payload["properties"]
    props["subnet"] = {"id": SUBNET}
    connection = props["privateLinkServiceConnections"][0]
    connection["id"] = f"{payload['id']}/privateLinkServiceConnections/{name}"
    connection["properties"]["privateLinkServiceId"] = target
    connection["properties"]["groupIds"] = [group]
    props.pop("networkInterfaces", None)
    return payload


def zone_group(endpoint: dict[str, Any]) -> dict[str, Any]:
    payload = sample("network_privateDnsZoneGroup_get_2025-03-01")
    payload["id"] = f"{endpoint['id']}/privateDnsZoneGroups/{payload['name']}"
    payload.setdefault("type", "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
    return payload


def reference_estate() -> list[dict[str, Any]]:
    """Build one coherent workspace estate from the REST API examples (see PROVENANCE.md)."""
    workspace = sample("ml_workspace_get_2025-09-01")
    workspace["id"] = WORKSPACE
    workspace["properties"]["storageAccount"] = STORAGE
    for item in workspace["properties"]["privateEndpointConnections"]:
        item["id"] = f"{WORKSPACE}/privateEndpointConnections/{item['name']}"
        item["properties"]["privateEndpoint"]["id"] = (
            f"{RG}/providers/Microsoft.Network/privateEndpoints/petest01"
        )
    workspace["systemData"] = {"createdAt": "2024-01-01T00:00:00Z"}

    compute = sample("ml_compute_get_AmlCompute_2024-10-01")
    compute["id"] = f"{WORKSPACE}/computes/{compute['name']}"
    compute["properties"]["properties"]["subnet"] = {"id": SUBNET}

    endpoint = sample("ml_batchEndpoint_get_2025-09-01")
    endpoint.update(id=f"{WORKSPACE}/batchEndpoints/nightly", name="nightly")
    endpoint["type"] = "Microsoft.MachineLearningServices/workspaces/batchEndpoints"
    endpoint["systemData"]["createdAt"] = "2023-06-01T00:00:00Z"
    deployment = sample("ml_batchDeployment_get_2025-09-01")
    deployment.update(id=f"{endpoint['id']}/deployments/blue", name="blue")
    deployment["type"] = "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments"
    deployment["properties"]["compute"] = compute["id"]

    storage = sample("storage_account_getProperties_2025-06-01")
    storage["id"] = STORAGE
    connections = json.loads(
        (FIXTURES / "storage_privateEndpointConnections_list_2025-06-01.json").read_text()
    )
    storage_connections = []
    for item in connections["responses"]["200"]["body"]["value"]:
        item = copy.deepcopy(item)
        item["id"] = f"{STORAGE}/privateEndpointConnections/{item['name']}"
        pe_name = item["name"].split(".")[0]
        item["properties"]["privateEndpoint"]["id"] = (
            f"{RG}/providers/Microsoft.Network/privateEndpoints/{pe_name}"
        )
        storage_connections.append(item)

    registry = sample("acr_registry_get_2025-04-01")
    registry["id"] = REGISTRY
    vault_connection = sample("keyvault_privateEndpointConnection_get_2024-11-01")
    vault_connection["id"] = f"{VAULT}/privateEndpointConnections/{vault_connection['name']}"
    vault_connection["properties"]["privateEndpoint"]["id"] = (
        f"{RG}/providers/Microsoft.Network/privateEndpoints/pe-vault"
    )
    vault = {
        "id": VAULT,
        "name": "testkv",
        "type": "Microsoft.KeyVault/vaults",
        "location": "eastus",
        "properties": {"publicNetworkAccess": "Disabled", "privateEndpointConnections": []},
    }

    endpoints = [
        private_endpoint("petest01", WORKSPACE, "amlworkspace"),
        private_endpoint("petest02", STORAGE, "blob"),
        private_endpoint("pe-registry", REGISTRY, "registry"),
        private_endpoint("pe-vault", VAULT, "vault"),
    ]
    subnet = sample("network_subnet_get_2025-03-01")
    subnet["id"] = SUBNET
    subnet["properties"]["networkSecurityGroup"] = {"id": NSG}
    subnet["properties"]["routeTable"] = {"id": ROUTES}
    network = {
        "id": VNET,
        "name": "vnetname",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "eastus",
        "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [subnet]},
    }
    nsg = sample("network_nsg_get_2025-07-01")
    nsg["id"] = NSG
    routes = sample("network_routeTable_get_2025-03-01")
    routes["id"] = ROUTES
    change = {
        "id": f"{WORKSPACE}/providers/Microsoft.Resources/changes/08584-change",
        "type": "microsoft.resources/changes",
        "properties": {
            "targetResourceId": WORKSPACE,
            "changeType": "Update",
            "changeAttributes": {"timestamp": "2024-03-01T00:00:00Z"},
            "changes": {
                "properties.publicNetworkAccess": {
                    "previousValue": "Enabled",
                    "newValue": "Disabled",
                }
            },
        },
    }
    return [
        workspace,
        compute,
        endpoint,
        deployment,
        storage,
        *storage_connections,
        registry,
        vault,
        vault_connection,
        *endpoints,
        *[zone_group(e) for e in endpoints],
        network,
        nsg,
        routes,
        change,
    ]


def live_source(arm: FakeArm) -> LiveSource:
    clients = AzureClients(
        FakeCredential(), transport=FakeArmTransport(arm), polling_interval=0, retry_total=0
    )
    return LiveSource(clients)


@pytest.fixture
def resources() -> list[dict[str, Any]]:
    return reference_estate()


def test_live_context_matches_offline(resources: list[dict[str, Any]]) -> None:
    live = live_source(FakeArm(resources)).workspace_estate(WORKSPACE)
    offline = Estate(resources)
    live_context = build_context(live, WORKSPACE)
    offline_context = build_context(offline, WORKSPACE)
    for name in offline_context.__dataclass_fields__:
        assert getattr(live_context, name) == getattr(offline_context, name), name


def test_live_context_is_complete(resources: list[dict[str, Any]]) -> None:
    context = build_context(live_source(FakeArm(resources)).workspace_estate(WORKSPACE), WORKSPACE)
    assert context.missing == []
    assert context.storage_account is not None
    assert context.key_vault is not None
    assert len(context.private_endpoints) == 4
    assert len(context.deployments) == 1
    assert len(context.subnets) == 1
    assert len(context.network_security_groups) == 1
    assert len(context.route_tables) == 1
    assert all(pe.dns_zone_groups for pe in context.private_endpoints.values())


def test_live_keeps_change_records(resources: list[dict[str, Any]]) -> None:
    live = live_source(FakeArm(resources)).workspace_estate(WORKSPACE)
    assert [c.target_resource_id for c in live.changes] == [WORKSPACE]


@pytest.mark.skipif(not registered_checks(), reason="no rule checks are registered yet")
def test_live_findings_match_offline(resources: list[dict[str, Any]]) -> None:
    live = live_source(FakeArm(resources)).workspace_estate(WORKSPACE)
    live_report = report_json([evaluate_workspace(live, WORKSPACE)])
    offline_report = report_json([evaluate_workspace(Estate(resources), WORKSPACE)])
    assert json.dumps(live_report, sort_keys=True) == json.dumps(offline_report, sort_keys=True)


def test_live_request_budget(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources, latency=0.02)
    live_source(arm).workspace_estate(WORKSPACE)
    assert len(arm.requests) <= 20
    assert arm.critical_path() <= 5
    assert all(r.status == 200 for r in arm.requests)


def test_live_missing_dependency_recorded(resources: list[dict[str, Any]]) -> None:
    kept = [r for r in resources if r.get("id") != REGISTRY]
    context = build_context(live_source(FakeArm(kept)).workspace_estate(WORKSPACE), WORKSPACE)
    assert context.registry is None
    assert REGISTRY in context.missing


def test_live_missing_workspace_raises(resources: list[dict[str, Any]]) -> None:
    with pytest.raises(KeyError):
        live_source(FakeArm(resources)).workspace_estate(WORKSPACE + "-absent")


def test_live_server_error_propagates(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", r"storageAccounts/testStorageAccount\?", status=500)
    with pytest.raises(HttpResponseError):
        live_source(arm).workspace_estate(WORKSPACE)


def test_live_standalone_subnet_fallback(resources: list[dict[str, Any]]) -> None:
    network = next(r for r in resources if r.get("id") == VNET)
    subnet = dict(
        network["properties"]["subnets"][0], type="Microsoft.Network/virtualNetworks/subnets"
    )
    kept = [r for r in resources if r.get("id") != VNET] + [subnet]
    context = build_context(live_source(FakeArm(kept)).workspace_estate(WORKSPACE), WORKSPACE)
    assert list(context.subnets) == [SUBNET.lower()]


def test_workspace_ids_of_group(resources: list[dict[str, Any]]) -> None:
    assert live_source(FakeArm(resources)).workspace_ids(RG) == [WORKSPACE]


def test_workspace_ids_other_group_empty(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources, resource_groups=[f"/subscriptions/{SUB}/resourceGroups/other"])
    assert live_source(arm).workspace_ids(f"/subscriptions/{SUB}/resourceGroups/other") == []


def test_export_estate_contains_workspace(resources: list[dict[str, Any]]) -> None:
    exported = live_source(FakeArm(resources)).export_estate(f"/subscriptions/{SUB}")
    assert exported.workspace_ids() == [WORKSPACE]
    assert len(exported.changes) == 1


# Shared-list collection of a scope ----------------------------------------------------------


def bench_source(workspaces: int) -> tuple[Any, LiveSource]:
    from benchmarks import estates
    from benchmarks.fakes import BenchArm
    from benchmarks.measure import make_clients

    arm = BenchArm(estates.sweep_estate(workspaces))
    return arm, LiveSource(make_clients(arm))


def finding_lines(estate: Estate, workspace_id: str) -> list[str]:
    evaluation = evaluate_workspace(estate, workspace_id)
    return sorted(json.dumps(f.to_json(), sort_keys=True) for f in evaluation.findings)


def test_scope_estates_survive_record_403() -> None:
    from benchmarks import estates

    arm, source = bench_source(6)
    arm.inject_fault("GET", r"/privateDnsZones/[^/]+/A\b", status=403, times=None)

    collected = source.scope_estates(f"/subscriptions/{estates.SUBSCRIPTION}")

    assert len(collected) == 6
    assert arm.count("GET", r"/privateDnsZones/[^/]+/A\b") > 0
    for index in range(6):
        workspace_id = estates.workspace_id(index)
        expected = finding_lines(source.workspace_estate(workspace_id), workspace_id)
        assert finding_lines(collected[workspace_id], workspace_id) == expected, workspace_id


def test_record_403_reads_zone_groups() -> None:
    from benchmarks import estates

    arm, source = bench_source(6)
    source.scope_estates(f"/subscriptions/{estates.SUBSCRIPTION}")
    with_records = arm.count("GET", r"privateDnsZoneGroups")
    arm.clear_log()
    arm.inject_fault("GET", r"/privateDnsZones/[^/]+/A\b", status=403, times=None)

    source.scope_estates(f"/subscriptions/{estates.SUBSCRIPTION}")

    assert arm.count("GET", r"privateDnsZoneGroups") > with_records
