"""The bench fake answers exactly as the base fake, and throttles past its budget."""

from __future__ import annotations

import json

import pytest

from benchmarks import estates
from benchmarks.fakes import BenchArm, ThrottlingArm
from fake_arm import ARM_BASE, FakeArm
from remediators.ratelimit import Budget

SUB = f"/subscriptions/{estates.SUBSCRIPTION}"
IDS = estates.WorkspaceIds(3)
PATHS = [
    f"{SUB}/providers/Microsoft.Network/privateEndpoints",
    f"{SUB}/providers/Microsoft.Network/virtualNetworks",
    f"{SUB}/providers/Microsoft.Storage/storageAccounts",
    f"{IDS.workspace}/batchEndpoints",
    f"{IDS.workspace}/batchEndpoints/{estates.ENDPOINTS[0]}/deployments",
    f"{IDS.private_endpoint('mlw')}/privateDnsZoneGroups",
    f"{estates.zone_id(estates.MISSING_ZONE)}/A",
    IDS.workspace,
    IDS.storage,
    IDS.network,
    IDS.compute_subnet,
]


def answer(arm: FakeArm, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    response = arm.handle(method, f"{ARM_BASE}{path}?api-version=2025-01-01", body)
    return response.status, json.dumps(response.body, sort_keys=True)


@pytest.mark.parametrize("path", PATHS)
def test_answers_equal_base_fake(path: str) -> None:
    resources = estates.sweep_estate(5)
    assert answer(BenchArm(resources), "GET", path) == answer(FakeArm(resources), "GET", path)


def test_change_query_equals_base_fake() -> None:
    resources = estates.sweep_estate(3)
    query = json.dumps(
        {
            "subscriptions": [estates.SUBSCRIPTION],
            "query": f"resourcechanges | where properties.targetResourceId =~ '{IDS.workspace}'",
        }
    ).encode()
    path = "/providers/Microsoft.ResourceGraph/resources"
    ours = answer(BenchArm(resources), "POST", path, query)
    assert ours == answer(FakeArm(resources), "POST", path, query)


def test_index_follows_writes() -> None:
    arm = BenchArm(estates.reference_estate())
    path = f"{estates.WorkspaceIds(0).workspace}/computes"
    arm.handle("GET", f"{ARM_BASE}{path}?api-version=2025-09-01", None)
    arm.add(estates.cluster(estates.WorkspaceIds(0), "extra"))
    response = arm.handle("GET", f"{ARM_BASE}{path}?api-version=2025-09-01", None)
    assert len(response.body["value"]) == 3


def test_throttles_past_budget() -> None:
    arm = ThrottlingArm(estates.reference_estate(), reads=Budget(2, 0.001), writes=Budget(2, 0.001))
    statuses = [answer(arm, "GET", estates.workspace_id(0))[0] for _ in range(3)]
    assert statuses[2] == 429
