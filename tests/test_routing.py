"""Tests of remediators.routing: which workspaces a change affects, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from remediators.estate import estate as types
from remediators.estate.estate import build_context
from remediators.events import Ignored, Rejected, ResourceChange, normalise
from remediators.routing import HANDLED_RESOURCE_TYPES, DependencyIndex, Router, Target
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


@pytest.fixture
def router() -> Router:
    return Router(DependencyIndex.from_estate(build_estate()), scope=[SUBSCRIPTION])


def workspaces(outcome: list[Target] | Ignored | Rejected) -> list[str]:
    assert isinstance(outcome, list), outcome
    return sorted(t.workspace_id for t in outcome)


def test_handled_types_lowercase() -> None:
    assert all(t == t.lower() for t in HANDLED_RESOURCE_TYPES)
    assert len(set(HANDLED_RESOURCE_TYPES)) == len(HANDLED_RESOURCE_TYPES)


def test_handled_types_cover_dependencies() -> None:
    for kind in (types.STORAGE_ACCOUNT, types.SUBNET, types.NAT_GATEWAY, types.DNS_ZONE_GROUP):
        assert kind in HANDLED_RESOURCE_TYPES


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
