"""ARM semantics of the fake, driven through the real Azure SDK clients."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import HttpRequest
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest
from azure.mgmt.storage import StorageManagementClient

from fake_arm import FakeArm, FakeArmTransport, ForeignHostError

SUB = "00000000-0000-0000-0000-000000000001"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-ml"
STORAGE = f"{RG}/providers/Microsoft.Storage/storageAccounts/stMixedCase"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet"
SUBNET = f"{VNET}/subnets/pe"
PE = f"{RG}/providers/Microsoft.Network/privateEndpoints/pe-blob"


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)


def storage_account(resource_id: str = STORAGE) -> dict[str, Any]:
    return {
        "id": resource_id,
        "name": resource_id.rsplit("/", 1)[-1],
        "type": "Microsoft.Storage/storageAccounts",
        "location": "eastus",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "properties": {"customField": {"kept": True}},
    }


def virtual_network() -> dict[str, Any]:
    return {
        "id": VNET,
        "name": "vnet",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "eastus",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.0.1.0/24"}}],
        },
    }


def endpoint_body(manual: bool = False) -> dict[str, Any]:
    connection = {
        "name": "blob",
        "properties": {"privateLinkServiceId": STORAGE, "groupIds": ["blob"]},
    }
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    return {"location": "eastus", "properties": {"subnet": {"id": SUBNET}, key: [connection]}}


def make_arm(**options: Any) -> FakeArm:
    return FakeArm([storage_account(), virtual_network()], **options)


def network(arm: FakeArm) -> NetworkManagementClient:
    return NetworkManagementClient(
        FakeCredential(), SUB, transport=FakeArmTransport(arm), polling_interval=0
    )


def storage(arm: FakeArm, **options: Any) -> StorageManagementClient:
    return StorageManagementClient(
        FakeCredential(), SUB, transport=FakeArmTransport(arm), **options
    )


def raw(response: Any, deserialized: Any, headers: Any) -> Any:
    return response.http_response.json()


# Reads ---------------------------------------------------------------------------------


def test_get_ignores_id_case() -> None:
    account = storage(make_arm()).storage_accounts.get_properties("RG-ML", "STMIXEDCASE")
    assert account.id == STORAGE


def test_get_keeps_unknown_properties() -> None:
    body = storage(make_arm()).storage_accounts.get_properties("rg-ml", "stMixedCase", cls=raw)
    assert body["properties"]["customField"] == {"kept": True}


def test_get_missing_returns_arm_error() -> None:
    arm = make_arm()
    with pytest.raises(ResourceNotFoundError) as caught:
        storage(arm).storage_accounts.get_properties("rg-ml", "absent")
    assert caught.value.error is not None
    assert caught.value.error.code == "ResourceNotFound"
    assert arm.requests[-1].status == 404


def test_get_child_of_missing_parent() -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        network(make_arm()).subnets.get("rg-ml", "absent-vnet", "pe")
    assert caught.value.error is not None
    assert caught.value.error.code == "ParentResourceNotFound"


def test_get_in_missing_group() -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        storage(make_arm()).storage_accounts.get_properties("rg-absent", "stMixedCase")
    assert caught.value.error is not None
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_virtual_network_embeds_subnets() -> None:
    vnet = network(make_arm()).virtual_networks.get("rg-ml", "vnet")
    assert [s.id for s in vnet.subnets or []] == [SUBNET]


def test_api_version_required() -> None:
    arm = make_arm()
    client = storage(arm)
    request = HttpRequest("GET", f"https://management.azure.com{STORAGE}")
    response = client._client._pipeline.run(request).http_response
    assert response.status_code == 400
    assert json.loads(response.text())["error"]["code"] == "MissingApiVersionParameter"


# Lists and paging -----------------------------------------------------------------------


def test_list_pages_through_next_link() -> None:
    accounts = [
        storage_account(f"{RG}/providers/Microsoft.Storage/storageAccounts/st{i}") for i in range(5)
    ]
    arm = FakeArm(accounts, page_size=2)
    names = [a.name for a in storage(arm).storage_accounts.list_by_resource_group("rg-ml")]
    assert names == [f"st{i}" for i in range(5)]
    assert arm.count("GET", r"storageAccounts") == 3


def test_list_by_subscription_scope() -> None:
    group = f"/subscriptions/{SUB}/resourceGroups/rg-other"
    other = f"{group}/providers/Microsoft.Storage/storageAccounts/st2"
    arm = FakeArm([storage_account(), storage_account(other)])
    names = sorted(a.name for a in storage(arm).storage_accounts.list())
    assert names == ["st2", "stMixedCase"]


def test_list_child_collection() -> None:
    names = [s.name for s in network(make_arm()).subnets.list("rg-ml", "vnet")]
    assert names == ["pe"]


# Writes and long-running operations -----------------------------------------------------


def test_private_endpoint_create_polls() -> None:
    arm = make_arm(lro_polls=2)
    poller = network(arm).private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body()
    )
    endpoint = poller.result()
    assert endpoint.provisioning_state == "Succeeded"
    assert arm.requests[0].status == 201
    assert arm.count("GET", r"operationStatuses") == 3


def test_private_endpoint_sets_system_data() -> None:
    arm = make_arm()
    network(arm).private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body()
    ).result()
    stored = arm.get(PE)
    assert stored is not None
    assert stored["systemData"]["createdAt"] == stored["systemData"]["lastModifiedAt"]
    assert stored["etag"].startswith('W/"')


def test_private_endpoint_approves_target() -> None:
    arm = make_arm()
    network(arm).private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body()
    ).result()
    target = arm.get(STORAGE)
    assert target is not None
    connection = target["properties"]["privateEndpointConnections"][0]["properties"]
    assert connection["privateEndpoint"]["id"] == PE
    assert connection["privateLinkServiceConnectionState"]["status"] == "Approved"


def test_manual_connection_stays_pending() -> None:
    arm = make_arm()
    client = network(arm)
    client.private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body(True)
    ).result()
    target = arm.get(STORAGE)
    assert target is not None
    state = target["properties"]["privateEndpointConnections"][0]["properties"]
    assert state["privateLinkServiceConnectionState"]["status"] == "Pending"


def test_operation_failure_raises() -> None:
    arm = make_arm()
    arm.set_operation_outcome(
        "PUT", r"privateEndpoints/pe-blob", polls=1, error={"code": "Conflict", "message": "no"}
    )
    poller = network(arm).private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body()
    )
    with pytest.raises(HttpResponseError):
        poller.result()
    stored = arm.get(PE)
    assert stored is not None
    assert stored["properties"]["provisioningState"] == "Failed"


def test_delete_removes_children_and_connection() -> None:
    arm = make_arm()
    client = network(arm)
    client.private_endpoints.begin_create_or_update("rg-ml", "pe-blob", endpoint_body()).result()
    zone_group = {"properties": {"privateDnsZoneConfigs": []}}
    client.private_dns_zone_groups.begin_create_or_update(
        resource_group_name="rg-ml",
        private_endpoint_name="pe-blob",
        private_dns_zone_group_name="default",
        parameters=zone_group,
    ).result()
    client.private_endpoints.begin_delete("rg-ml", "pe-blob").result()
    target = arm.get(STORAGE)
    assert target is not None
    assert arm.get(PE) is None
    assert arm.get(f"{PE}/privateDnsZoneGroups/default") is None
    assert target["properties"]["privateEndpointConnections"] == []
    assert arm.count("DELETE") == 1
    assert next(r for r in arm.requests if r.method == "DELETE").status == 202


def test_patch_merges_properties() -> None:
    arm = make_arm()
    client = storage(arm)
    client.storage_accounts.update(
        "rg-ml", "stMixedCase", {"properties": {"publicNetworkAccess": "Disabled"}}
    )
    stored = arm.get(STORAGE)
    assert stored is not None
    assert stored["properties"]["publicNetworkAccess"] == "Disabled"
    assert stored["properties"]["customField"] == {"kept": True}


def test_put_replace_keeps_created_at() -> None:
    ticks = itertools.count(1)
    arm = make_arm(clock=lambda: f"t{next(ticks)}")
    client = network(arm)
    client.private_endpoints.begin_create_or_update("rg-ml", "pe-blob", endpoint_body()).result()
    client.private_endpoints.begin_create_or_update("rg-ml", "pe-blob", endpoint_body()).result()
    stored = arm.get(PE)
    assert stored is not None
    assert stored["systemData"]["createdAt"] == "t1"
    assert stored["systemData"]["lastModifiedAt"] != "t1"


# Faults, latency and hosts --------------------------------------------------------------


def test_throttling_fault_retries() -> None:
    arm = make_arm()
    arm.inject_fault(
        "GET",
        r"storageAccounts/",
        status=429,
        code="TooManyRequests",
        headers={"Retry-After": "20"},
        times=3,
    )
    account = storage(arm).storage_accounts.get_properties("rg-ml", "stMixedCase")
    assert account.name == "stMixedCase"
    assert [r.status for r in arm.requests] == [429, 429, 429, 200]
    assert arm.sleeps == [20, 20, 20]


def test_throttling_surfaces_without_retry() -> None:
    arm = make_arm()
    arm.inject_fault("GET", r"storageAccounts/", status=429, code="TooManyRequests")
    with pytest.raises(HttpResponseError) as caught:
        storage(arm, retry_total=0).storage_accounts.get_properties("rg-ml", "stMixedCase")
    assert caught.value.status_code == 429


def test_connection_error_fault() -> None:
    arm = make_arm()
    arm.inject_fault("GET", r"storageAccounts/", raise_error="connection", times=None)
    with pytest.raises(ServiceRequestError):
        storage(arm, retry_total=0).storage_accounts.get_properties("rg-ml", "stMixedCase")


def test_read_timeout_fault() -> None:
    arm = make_arm()
    arm.inject_fault("GET", r"storageAccounts/", raise_error="read_timeout", times=None)
    with pytest.raises(ServiceResponseError):
        storage(arm, retry_total=0).storage_accounts.get_properties("rg-ml", "stMixedCase")


def test_latency_overlaps_across_threads() -> None:
    arm = make_arm(latency=0.1)
    client = storage(arm)
    threads = [
        threading.Thread(
            target=client.storage_accounts.get_properties, args=("rg-ml", "stMixedCase")
        )
        for _ in range(4)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert len(arm.requests) == 4
    assert arm.critical_path() == 1
    assert elapsed < 0.35


def test_foreign_host_rejected() -> None:
    transport = FakeArmTransport(make_arm())
    request = HttpRequest("GET", "https://example.invalid/subscriptions?api-version=1")
    with pytest.raises(ForeignHostError, match=r"example\.invalid"):
        transport.send(request)


# Resource Graph ------------------------------------------------------------------------


def change_row(target: str, timestamp: str) -> dict[str, Any]:
    return {
        "id": f"{target}/providers/Microsoft.Resources/changes/{timestamp}",
        "type": "microsoft.resources/changes",
        "properties": {
            "targetResourceId": target,
            "changeAttributes": {"timestamp": timestamp},
        },
    }


def graph(arm: FakeArm) -> ResourceGraphClient:
    return ResourceGraphClient(FakeCredential(), transport=FakeArmTransport(arm))


def test_graph_resourcechanges_for_target() -> None:
    arm = FakeArm(
        [storage_account(), change_row(STORAGE, "2024-01-01"), change_row(VNET, "2024-01-02")]
    )
    query = f"resourcechanges | where properties.targetResourceId =~ '{STORAGE.upper()}'"
    response = graph(arm).resources(QueryRequest(subscriptions=[SUB], query=query))
    assert [row["properties"]["targetResourceId"] for row in response.data] == [STORAGE]


def test_graph_resources_lowercases_type() -> None:
    query = "resources | where type =~ 'Microsoft.Storage/storageAccounts'"
    response = graph(make_arm()).resources(QueryRequest(subscriptions=[SUB], query=query))
    assert [row["type"] for row in response.data] == ["microsoft.storage/storageaccounts"]


def test_graph_unsupported_query_is_400() -> None:
    query = "resources | summarize count() by type"
    with pytest.raises(HttpResponseError) as caught:
        graph(make_arm()).resources(QueryRequest(subscriptions=[SUB], query=query))
    assert caught.value.status_code == 400
