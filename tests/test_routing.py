"""Tests of remediators.routing: which workspaces a change affects, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from remediators.estate import estate as types
from remediators.estate.estate import Estate, build_context
from remediators.events import Ignored, Rejected, ResourceChange, normalise
from remediators.routing import (
    _JUDGED_AS_PARENT,
    HANDLED_RESOURCE_TYPES,
    DependencyIndex,
    Router,
    Target,
)
from tests.functions import estates
from tests.functions.estates import (
    COMPUTE,
    COMPUTE_SUBNET,
    DEPLOYMENT,
    ENDPOINT,
    NAT_GATEWAY,
    NSG,
    OTHER_STORAGE,
    OTHER_SUBSCRIPTION,
    PE_SUBNET,
    PROVIDERS,
    REGISTRY,
    ROUTE_TABLE,
    STORAGE,
    SUBSCRIPTION,
    VAULT,
    VNET,
    WS_A,
    WS_A_PE,
    WS_B,
    WS_C,
    build_estate,
)

DNS_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/dns-rg/providers"
API_ZONE = f"{DNS_GROUP}/Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms"
NOTEBOOK_ZONE = f"{DNS_GROUP}/Microsoft.Network/privateDnsZones/privatelink.notebooks.azure.net"
BLOB_ZONE = f"{DNS_GROUP}/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net"
WS_C_PE = f"{PROVIDERS}/Microsoft.Network/privateEndpoints/ws-c-pe"


def change(
    resource_id: str,
    operation: str = "write",
    event_id: str = "evt-1",
    correlation_id: str | None = "corr-1",
    body: dict[str, Any] | None = None,
) -> ResourceChange:
    return ResourceChange(
        event_id=event_id,
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        resource_id=resource_id,
        operation=operation,  # type: ignore[arg-type]
        event_time=datetime(2024, 5, 1, tzinfo=UTC),
        correlation_id=correlation_id,
        subscription_id=resource_id.split("/")[2].lower(),
        body=body,
    )


def zone_group(endpoint_id: str, *zone_ids: str) -> dict[str, Any]:
    configs = [
        {"name": zone_id.rsplit("/", 1)[-1], "properties": {"privateDnsZoneId": zone_id}}
        for zone_id in zone_ids
    ]
    return estates.resource(
        f"{endpoint_id}/privateDnsZoneGroups/default",
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        privateDnsZoneConfigs=configs,
    )


def zoned_estate() -> Estate:
    """Build the test estate with DNS zone groups on two workspaces' private endpoints.

    ws-a's zone group uses the API and notebook zones; ws-c's own endpoint uses the API zone.
    """
    estate = build_estate()
    estate.add(zone_group(WS_A_PE, API_ZONE, NOTEBOOK_ZONE))
    estate.add(estates.private_endpoint(WS_C_PE, WS_C, "amlworkspace", PE_SUBNET))
    estate.add(zone_group(WS_C_PE, API_ZONE))
    return estate


@pytest.fixture
def router() -> Router:
    return Router(DependencyIndex.from_estate(build_estate()), scope=[SUBSCRIPTION])


@pytest.fixture
def zoned_router() -> Router:
    return Router(DependencyIndex.from_estate(zoned_estate()), scope=[SUBSCRIPTION])


def workspaces(outcome: list[Target] | Ignored | Rejected) -> list[str]:
    assert isinstance(outcome, list), outcome
    return sorted(t.workspace_id for t in outcome)


def test_handled_types_lowercase() -> None:
    assert all(t == t.lower() for t in HANDLED_RESOURCE_TYPES)
    assert len(set(HANDLED_RESOURCE_TYPES)) == len(HANDLED_RESOURCE_TYPES)


def test_handled_types_cover_dependencies() -> None:
    for kind in (types.STORAGE_ACCOUNT, types.SUBNET, types.NAT_GATEWAY, types.DNS_ZONE_GROUP):
        assert kind in HANDLED_RESOURCE_TYPES


def test_handled_types_include_children() -> None:
    for kind in (
        "microsoft.network/networksecuritygroups/securityrules",
        "microsoft.network/routetables/routes",
        "microsoft.network/privatednszones",
        "microsoft.network/privatednszones/virtualnetworklinks",
        "microsoft.network/privatednszones/a",
    ):
        assert kind in HANDLED_RESOURCE_TYPES


def test_children_have_handled_parents() -> None:
    for kind in _JUDGED_AS_PARENT:
        assert kind.rsplit("/", 1)[0] in HANDLED_RESOURCE_TYPES, kind


def test_workspace_itself(router: Router) -> None:
    assert workspaces(router.targets(change(WS_C))) == [WS_C]


@pytest.mark.parametrize(
    "child",
    [
        COMPUTE,
        ENDPOINT,
        DEPLOYMENT,
        f"{WS_A}/privateEndpointConnections/pec",
        f"{WS_A}/outboundRules/r",
    ],
)
def test_workspace_children(router: Router, child: str) -> None:
    assert workspaces(router.targets(change(child))) == [WS_A]


def test_storage_shared_by_two(router: Router) -> None:
    assert workspaces(router.targets(change(STORAGE))) == [WS_A, WS_B]


def test_storage_case_insensitive(router: Router) -> None:
    assert workspaces(
        router.targets(change(STORAGE.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")))
    ) == [WS_A, WS_B]


def test_other_storage(router: Router) -> None:
    assert workspaces(router.targets(change(OTHER_STORAGE))) == [WS_C]


@pytest.mark.parametrize("resource_id", [REGISTRY, VAULT])
def test_registry_and_vault(router: Router, resource_id: str) -> None:
    assert workspaces(router.targets(change(resource_id))) == [WS_A, WS_B, WS_C]


@pytest.mark.parametrize(
    "resource_id",
    [
        WS_A_PE,
        f"{WS_A_PE}/privateDnsZoneGroups/default",
        PE_SUBNET,
        COMPUTE_SUBNET,
        VNET,
        NSG,
        ROUTE_TABLE,
        NAT_GATEWAY,
    ],
)
def test_network_dependencies(router: Router, resource_id: str) -> None:
    assert workspaces(router.targets(change(resource_id))) == [WS_A]


@pytest.mark.parametrize("operation", ["write", "delete"])
@pytest.mark.parametrize(
    ("child", "reason"),
    [
        (
            f"{NSG}/securityRules/deny-internet-outbound",
            f"securityRules/deny-internet-outbound {{}} in networksecuritygroups {NSG}",
        ),
        (f"{ROUTE_TABLE}/routes/default", f"routes/default {{}} in routetables {ROUTE_TABLE}"),
        (
            f"{WS_A_PE}/privateDnsZoneGroups/default",
            f"privateDnsZoneGroups/default {{}} in privateendpoints {WS_A_PE}",
        ),
    ],
)
def test_network_child_routes_as_parent(
    router: Router, child: str, reason: str, operation: str
) -> None:
    outcome = router.targets(change(child, operation=operation))
    assert workspaces(outcome) == [WS_A]
    assert isinstance(outcome, list)
    assert outcome[0].reason == reason.format(operation)


@pytest.mark.parametrize(
    ("connection", "parent", "expected"),
    [
        (f"{STORAGE}/privateEndpointConnections/pe-blob", STORAGE, [WS_A, WS_B]),
        (f"{OTHER_STORAGE}/privateEndpointConnections/pe-blob", OTHER_STORAGE, [WS_C]),
        (f"{REGISTRY}/privateEndpointConnections/pe-acr", REGISTRY, [WS_A, WS_B, WS_C]),
        (f"{VAULT}/privateEndpointConnections/pe-kv", VAULT, [WS_A, WS_B, WS_C]),
    ],
)
def test_connection_routes_as_parent(
    router: Router, connection: str, parent: str, expected: list[str]
) -> None:
    outcome = router.targets(change(connection, operation="delete"))
    assert workspaces(outcome) == expected
    assert isinstance(outcome, list)
    assert all(t.reason.endswith(f" {parent}") for t in outcome)


def test_workspace_connection_routes(router: Router) -> None:
    outcome = router.targets(change(f"{WS_A}/privateEndpointConnections/pec", "delete"))
    assert workspaces(outcome) == [WS_A]


def test_unused_nsg_rule_ignored(router: Router) -> None:
    other_nsg = NSG.replace("compute-nsg", "unused-nsg")
    outcome = router.targets(change(f"{other_nsg}/securityRules/r1"))
    assert isinstance(outcome, Ignored)
    assert f"no known workspace in scope uses networksecuritygroups {other_nsg}" in outcome.reason


def test_child_of_unhandled_parent_ignored(router: Router) -> None:
    vm = STORAGE.replace("Microsoft.Storage/storageAccounts", "Microsoft.Compute/virtualMachines")
    outcome = router.targets(change(f"{vm}/extensions/monitor"))
    assert isinstance(outcome, Ignored)
    assert "microsoft.compute/virtualmachines/extensions affects no rule" in outcome.reason


def test_unrouted_child_of_handled_parent_ignored(router: Router) -> None:
    """A vault secret is a child of a handled type that no rule reads."""
    outcome = router.targets(change(f"{VAULT}/secrets/db-password"))
    assert isinstance(outcome, Ignored)
    assert "microsoft.keyvault/vaults/secrets affects no rule" in outcome.reason


def test_index_records_zones() -> None:
    index = DependencyIndex.from_estate(zoned_estate())
    assert index.dependants(API_ZONE) == [WS_A, WS_C]
    assert index.dependants(NOTEBOOK_ZONE) == [WS_A]
    assert index.dependants(BLOB_ZONE) == []


@pytest.mark.parametrize("operation", ["write", "delete"])
@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [
        (API_ZONE, [WS_A, WS_C]),
        (f"{API_ZONE}/virtualNetworkLinks/ml-vnet-link", [WS_A, WS_C]),
        (f"{API_ZONE}/A/ws-a", [WS_A, WS_C]),
        (NOTEBOOK_ZONE, [WS_A]),
        (f"{NOTEBOOK_ZONE}/virtualNetworkLinks/ml-vnet-link", [WS_A]),
        (f"{NOTEBOOK_ZONE}/A/ws-a.eastus", [WS_A]),
    ],
)
def test_zone_changes_route(
    zoned_router: Router, resource_id: str, expected: list[str], operation: str
) -> None:
    outcome = zoned_router.targets(change(resource_id, operation=operation))
    assert workspaces(outcome) == expected


def test_zone_link_reason(zoned_router: Router) -> None:
    link = f"{API_ZONE}/virtualNetworkLinks/ml-vnet-link"
    outcome = zoned_router.targets(change(link, operation="delete"))
    assert isinstance(outcome, list)
    expected = f"virtualNetworkLinks/ml-vnet-link delete in privatednszones {API_ZONE}"
    assert [t.reason for t in outcome] == [expected, expected]


def test_zone_case_insensitive(zoned_router: Router) -> None:
    upper = API_ZONE.replace("privatelink.api.azureml.ms", "PRIVATELINK.API.AZUREML.MS")
    assert workspaces(zoned_router.targets(change(f"{upper}/A/ws-a"))) == [WS_A, WS_C]


def test_unreferenced_zone_ignored(zoned_router: Router) -> None:
    outcome = zoned_router.targets(change(f"{BLOB_ZONE}/virtualNetworkLinks/ml-vnet-link"))
    assert isinstance(outcome, Ignored)
    assert f"no known workspace in scope uses privatednszones {BLOB_ZONE}" in outcome.reason


def test_zone_cname_record_ignored(zoned_router: Router) -> None:
    outcome = zoned_router.targets(change(f"{API_ZONE}/CNAME/ws-a"))
    assert isinstance(outcome, Ignored)
    assert "microsoft.network/privatednszones/cname affects no rule" in outcome.reason


def test_zone_dropped_with_group() -> None:
    estate = zoned_estate()
    estate.add(zone_group(WS_C_PE, BLOB_ZONE))
    index = DependencyIndex.from_estate(estate)
    assert index.dependants(API_ZONE) == [WS_A]
    assert index.dependants(BLOB_ZONE) == [WS_C]


def test_zone_group_body_not_read_as_endpoint(router: Router) -> None:
    """A zone group body naming a connection target must not add that target's workspaces."""
    body = estates.private_endpoint(f"{WS_A_PE}/privateDnsZoneGroups/default", WS_C, "x", PE_SUBNET)
    outcome = router.targets(change(f"{WS_A_PE}/privateDnsZoneGroups/default", body=body))
    assert workspaces(outcome) == [WS_A]


def test_route_merges_child_and_parent(router: Router) -> None:
    result = router.route(
        [
            change(f"{NSG}/securityRules/r1", event_id="e1"),
            change(f"{ROUTE_TABLE}/routes/default", event_id="e2", correlation_id="c2"),
        ]
    )
    assert [r.workspace_id for r in result.routes] == [WS_A]
    assert result.routes[0].event_ids == ("e1", "e2")


def test_storage_connection_maps_to_parent(router: Router) -> None:
    connection = f"{STORAGE}/privateEndpointConnections/mlstore01.pe-blob"
    assert workspaces(router.targets(change(connection))) == [WS_A, WS_B]


def test_deleted_storage_from_index(router: Router) -> None:
    assert workspaces(router.targets(change(STORAGE, operation="delete"))) == [WS_A, WS_B]


def test_new_private_endpoint_body(router: Router) -> None:
    new_pe = WS_A_PE.replace("ws-a-pe", "mlstore02-queue")
    body = estates.private_endpoint(new_pe, OTHER_STORAGE, "queue", PE_SUBNET)
    assert workspaces(router.targets(change(new_pe, body=body))) == [WS_C]


def test_unknown_private_endpoint_ignored(router: Router) -> None:
    outcome = router.targets(change(WS_A_PE.replace("ws-a-pe", "unknown-pe")))
    assert isinstance(outcome, Ignored)
    assert "no known workspace" in outcome.reason


def test_unrelated_type_ignored(router: Router) -> None:
    vm = STORAGE.replace("Microsoft.Storage/storageAccounts", "Microsoft.Compute/virtualMachines")
    outcome = router.targets(change(vm))
    assert isinstance(outcome, Ignored)
    assert "microsoft.compute/virtualmachines affects no rule" in outcome.reason


def test_out_of_scope_rejected(router: Router) -> None:
    outcome = router.targets(change(WS_A.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)))
    assert isinstance(outcome, Rejected)
    assert OTHER_SUBSCRIPTION in outcome.reason


def test_no_scope_accepts_all() -> None:
    outside = WS_A.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)
    assert workspaces(Router().targets(change(outside))) == [outside]


def test_dependants_filtered_by_scope() -> None:
    index = DependencyIndex.from_estate(build_estate())
    outcome = Router(index, scope=[OTHER_SUBSCRIPTION]).targets(
        change(STORAGE.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION))
    )
    assert isinstance(outcome, Ignored)


def test_route_dedupes_workspaces(router: Router) -> None:
    result = router.route(
        [change(STORAGE, event_id="e1"), change(WS_A, event_id="e2", correlation_id="c2")]
    )
    assert sorted(r.workspace_id for r in result.routes) == [WS_A, WS_B]
    route_a = next(r for r in result.routes if r.workspace_id == WS_A)
    assert route_a.event_ids == ("e1", "e2")
    assert len(route_a.reasons) == 2


def test_route_dedupes_events(router: Router) -> None:
    result = router.route([change(STORAGE, event_id="e1"), change(STORAGE, event_id="e2")])
    assert [r.event_ids for r in result.routes] == [("e1",), ("e1",)]
    assert [s.reason for s in result.ignored] == ["duplicate of event e1"]


def test_route_keeps_distinct_correlations(router: Router) -> None:
    result = router.route(
        [change(STORAGE, event_id="e1"), change(STORAGE, event_id="e2", correlation_id="c2")]
    )
    assert result.routes[0].event_ids == ("e1", "e2")
    assert result.skipped == []


def test_route_collects_skipped(router: Router) -> None:
    result = router.route(normalise(b"not json"))
    assert result.routes == []
    assert len(result.rejected) == 1


def test_index_update_replaces() -> None:
    estate = build_estate()
    index = DependencyIndex.from_estate(estate)
    estate.add(estates.workspace(WS_B, storage=OTHER_STORAGE))
    index.update(build_context(estate, WS_B))
    assert index.dependants(STORAGE) == [WS_A]
    assert index.dependants(OTHER_STORAGE) == [WS_B, WS_C]


def test_index_remove() -> None:
    index = DependencyIndex.from_estate(build_estate())
    index.remove(WS_A)
    assert index.dependants(NSG) == []
    assert index.workspace_ids() == [WS_B, WS_C]


def test_index_keeps_missing_dependency() -> None:
    estate = build_estate()
    estate.add(estates.workspace(WS_C, storage=STORAGE.replace("mlstore01", "gone")))
    index = DependencyIndex.from_estate(estate)
    assert index.dependants(STORAGE.replace("mlstore01", "gone")) == [WS_C]
