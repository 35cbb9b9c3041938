"""A sweep finds exactly what per-workspace collection finds, with fewer requests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from benchmarks import estates
from benchmarks.fakes import BenchArm
from benchmarks.measure import make_clients, scope
from fake_arm import RequestRecord
from remediators.estate.estate import Estate
from remediators.estate.live import DERIVED_ZONE_GROUP, LiveSource, SweepCollector
from remediators.evaluation import evaluate_workspace

ZONE_GROUP_TYPE = "microsoft.network/privateendpoints/privatednszonegroups"


@dataclass
class Swept:
    source: LiveSource
    estates: dict[str, Estate]
    # The requests of the sweep alone, before any per-workspace read.
    requests: list[RequestRecord]

    def count(self, pattern: str) -> int:
        return sum(1 for r in self.requests if re.search(pattern, r.url))


def findings(estate: Estate, workspace_id: str) -> list[str]:
    evaluation = evaluate_workspace(estate, workspace_id)
    return sorted(json.dumps(f.to_json(), sort_keys=True) for f in evaluation.findings)


def sweep(count: int) -> Swept:
    arm = BenchArm(estates.sweep_estate(count))
    source = LiveSource(make_clients(arm))
    collected = SweepCollector(source).collect(scope())
    return Swept(source, collected, list(arm.requests))


@pytest.fixture(scope="module")
def swept() -> Swept:
    return sweep(12)


def test_sweep_covers_every_workspace(swept: Swept) -> None:
    assert sorted(swept.estates) == sorted(estates.workspace_id(i) for i in range(12))


@pytest.mark.parametrize("index", range(12))
def test_findings_equal_per_workspace(swept: Swept, index: int) -> None:
    workspace_id = estates.workspace_id(index)
    expected = findings(swept.source.workspace_estate(workspace_id), workspace_id)
    assert findings(swept.estates[workspace_id], workspace_id) == expected


def test_planted_dns_fault_is_found(swept: Swept) -> None:
    workspace_id = estates.workspace_id(3)
    rules = {json.loads(f)["rule"] for f in findings(swept.estates[workspace_id], workspace_id)}
    assert any("dns" in rule for rule in rules)


def test_covered_endpoints_use_records(swept: Swept) -> None:
    assert swept.count(r"privateDnsZoneGroups") == 1


def test_faulty_endpoint_zone_group_is_read(swept: Swept) -> None:
    estate = swept.estates[estates.workspace_id(3)]
    endpoint = estates.WorkspaceIds(3).private_endpoint("mlw")
    groups = estate.children(endpoint, ZONE_GROUP_TYPE)
    assert [g["name"] for g in groups] == ["default"]


def test_covered_endpoint_gets_derived_group(swept: Swept) -> None:
    estate = swept.estates[estates.workspace_id(0)]
    endpoint = estates.WorkspaceIds(0).private_endpoint("blob")
    groups = estate.children(endpoint, ZONE_GROUP_TYPE)
    assert [g["name"] for g in groups] == [DERIVED_ZONE_GROUP]


def test_one_workspace_reads_zone_groups_per_endpoint() -> None:
    assert sweep(1).count(r"privateDnsZoneGroups") == len(estates.ENDPOINT_GROUPS)


def test_one_workspace_matches_per_workspace_findings() -> None:
    one = sweep(1)
    workspace_id = estates.workspace_id(0)
    expected = findings(one.source.workspace_estate(workspace_id), workspace_id)
    assert findings(one.estates[workspace_id], workspace_id) == expected


def test_sweep_needs_few_requests_per_workspace(swept: Swept) -> None:
    assert len(swept.requests) / 12 <= 8
