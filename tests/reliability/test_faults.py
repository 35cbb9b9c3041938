"""Fault matrix: each ARM failure during live collection and the state evaluation ends in.

Every case runs the real SDK clients with production retry settings against the fake ARM.
A transient fault is retried and the evaluation equals the fault-free one. A fault that
outlasts the retries raises, so the queue message is retried later and no finding or
resolution is derived from a partial read. A 404 records the dependency as missing. A
Resource Graph outage leaves the network history unknown, which can only produce the
`endpoint.network-age-unknown` warning, never `endpoint.stale-network`.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from fake_arm import FakeArm
from remediators.estate.estate import build_context
from remediators.evaluation import Evaluation, evaluate_workspace, report_json
from tests.estate.test_live import (
    REGISTRY,
    STORAGE,
    SUB,
    VAULT,
    VNET,
    WORKSPACE,
    reference_estate,
)
from tests.reliability.conftest import arm_writes, live_source

STORAGE_GET = r"/storageAccounts/testStorageAccount\?"
VAULT_GET = r"/vaults/testkv\?"
NETWORK_GET = r"/virtualNetworks/vnetname\?"
GRAPH = r"/providers/Microsoft.ResourceGraph/resources\?"
PE_LIST = rf"/subscriptions/{SUB}/providers/Microsoft.Network/privateEndpoints"
COMPUTES = r"/workspaces/testworkspace/computes\?"


def evaluate(arm: FakeArm) -> Evaluation:
    estate = live_source(arm).workspace_estate(WORKSPACE)
    return evaluate_workspace(estate, WORKSPACE)


def report(evaluation: Evaluation) -> str:
    return json.dumps(report_json([evaluation]), sort_keys=True)


def rule_ids(evaluation: Evaluation) -> set[str]:
    return {f.rule for f in evaluation.findings}


@pytest.fixture
def resources() -> list[dict[str, Any]]:
    return reference_estate()


@pytest.fixture
def baseline(resources: list[dict[str, Any]]) -> str:
    return report(evaluate(FakeArm(resources)))


# Transient faults: retried, and the result equals the fault-free evaluation ------------------

TRANSIENT = [
    pytest.param(STORAGE_GET, {"status": 429, "headers": {"Retry-After": "7"}}, id="429"),
    pytest.param(STORAGE_GET, {"status": 500}, id="500"),
    pytest.param(VAULT_GET, {"status": 503, "code": "ServiceUnavailable"}, id="503"),
    pytest.param(NETWORK_GET, {"raise_error": "connection"}, id="connection-reset"),
    pytest.param(STORAGE_GET, {"raise_error": "read_timeout"}, id="read-timeout"),
    pytest.param(PE_LIST, {"status": 503, "code": "ServiceUnavailable"}, id="list-503"),
    pytest.param(GRAPH, {"status": 429, "headers": {"Retry-After": "3"}}, id="graph-429"),
    pytest.param(COMPUTES, {"raise_error": "read_timeout"}, id="ml-read-timeout"),
]


@pytest.mark.parametrize(("url", "fault"), TRANSIENT)
def test_transient_fault_retried(
    resources: list[dict[str, Any]],
    baseline: str,
    url: str,
    fault: dict[str, Any],
    tally: Counter[str],
) -> None:
    arm = FakeArm(resources)
    injected = arm.inject_fault("*", url, times=2, **fault)
    assert report(evaluate(arm)) == baseline
    tally["fault: transient"] += injected.hits
    assert injected.hits == 2
    assert arm_writes(arm) == []


def test_retry_after_honoured(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", STORAGE_GET, status=429, headers={"Retry-After": "7"}, times=2)
    evaluate(arm)
    assert arm.sleeps.count(7.0) == 2


def test_graph_retry_after_honoured(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("POST", GRAPH, status=429, headers={"Retry-After": "3"}, times=1)
    evaluate(arm)
    assert arm.sleeps.count(3.0) == 1


# Persistent faults: the read raises and no evaluation exists --------------------------------

PERSISTENT = [
    pytest.param(STORAGE_GET, {"status": 500}, HttpResponseError, id="500"),
    pytest.param(VAULT_GET, {"status": 503}, HttpResponseError, id="503"),
    pytest.param(STORAGE_GET, {"status": 429}, HttpResponseError, id="429"),
    pytest.param(NETWORK_GET, {"raise_error": "connection"}, ServiceRequestError, id="reset"),
    pytest.param(
        STORAGE_GET, {"raise_error": "read_timeout"}, ServiceResponseError, id="read-timeout"
    ),
    pytest.param(PE_LIST, {"status": 500}, HttpResponseError, id="list-500"),
    pytest.param(COMPUTES, {"status": 502}, HttpResponseError, id="computes-502"),
]


@pytest.mark.parametrize(("url", "fault", "error"), PERSISTENT)
def test_persistent_fault_raises(
    resources: list[dict[str, Any]],
    url: str,
    fault: dict[str, Any],
    error: type[Exception],
    tally: Counter[str],
) -> None:
    arm = FakeArm(resources)
    injected = arm.inject_fault("*", url, times=None, **fault)
    with pytest.raises(error):
        evaluate(arm)
    tally["fault: persistent"] += injected.hits
    # The first attempt and 3 retries: azure-core's default per kind (status, connect, read).
    assert injected.hits == 4
    assert arm_writes(arm) == []


@pytest.mark.parametrize("status", [400, 403, 409])
def test_dependency_error_raises(resources: list[dict[str, Any]], status: int) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", VAULT_GET, status=status, code="AuthorizationFailed", times=None)
    with pytest.raises(HttpResponseError) as raised:
        evaluate(arm)
    assert raised.value.status_code == status


def test_forbidden_not_retried(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    injected = arm.inject_fault(
        "GET", VAULT_GET, status=403, code="AuthorizationFailed", times=None
    )
    with pytest.raises(HttpResponseError):
        evaluate(arm)
    assert injected.hits == 1


def test_second_page_failure_raises(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources, page_size=2)
    arm.inject_fault("GET", PE_LIST + r".*(skiptoken|\$skip)", status=500, times=None)
    with pytest.raises(HttpResponseError):
        evaluate(arm)


# Deleted resources: recorded as missing, never read as compliant ----------------------------


@pytest.mark.parametrize("deleted", [STORAGE, REGISTRY, VAULT])
def test_deleted_dependency_missing(resources: list[dict[str, Any]], deleted: str) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", deleted.split("/")[-1] + r"\?", status=404, code="ResourceNotFound")
    evaluation = evaluate(arm)
    assert deleted in evaluation.missing


def test_deleted_storage_no_decision(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", STORAGE_GET, status=404, code="ResourceNotFound")
    estate = live_source(arm).workspace_estate(WORKSPACE)
    context = build_context(estate, WORKSPACE)
    assert context.storage_account is None
    assert STORAGE in context.missing


def test_deleted_network_no_subnets(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", NETWORK_GET, status=404, code="ResourceNotFound")
    arm.inject_fault("GET", r"/subnets/subnet1\?", status=404, code="NotFound", times=None)
    context = build_context(live_source(arm).workspace_estate(WORKSPACE), WORKSPACE)
    assert context.subnets == {}


def test_deleted_workspace_raises_key_error(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("GET", r"/workspaces/testworkspace\?", status=404, code="ResourceNotFound")
    with pytest.raises(KeyError):
        evaluate(arm)


# Resource Graph outage: history unknown, never stale on a guess ----------------------------


@pytest.mark.parametrize("status", [403, 500, 503])
def test_graph_outage_history_unknown(resources: list[dict[str, Any]], status: int) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("POST", GRAPH, status=status, code="ServiceUnavailable", times=None)
    evaluation = evaluate(arm)
    assert evaluation.history_source == "unknown"
    assert "endpoint.network-age-unknown" in rule_ids(evaluation)
    assert "endpoint.stale-network" not in rule_ids(evaluation)


def test_graph_reset_history_unknown(resources: list[dict[str, Any]]) -> None:
    arm = FakeArm(resources)
    arm.inject_fault("POST", GRAPH, raise_error="connection", times=None)
    evaluation = evaluate(arm)
    assert "endpoint.stale-network" not in rule_ids(evaluation)
    assert "endpoint.network-age-unknown" in rule_ids(evaluation)


def test_graph_healthy_finds_stale(resources: list[dict[str, Any]]) -> None:
    # The control case: with the change record readable, the endpoint is known stale.
    evaluation = evaluate(FakeArm(resources))
    assert "endpoint.stale-network" in rule_ids(evaluation)


def test_fault_free_has_no_missing(resources: list[dict[str, Any]]) -> None:
    evaluation = evaluate(FakeArm(resources))
    assert evaluation.missing == []
    assert VNET not in evaluation.missing


# Concurrency: one shared AzureClients, many evaluations at once ------------------------------

WORKERS = 8


def test_concurrent_evaluations_under_faults(
    resources: list[dict[str, Any]], baseline: str, tally: Counter[str]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    arm = FakeArm(resources)
    faults = [
        arm.inject_fault("GET", STORAGE_GET, status=503, times=WORKERS),
        arm.inject_fault("GET", NETWORK_GET, raise_error="connection", times=WORKERS),
        arm.inject_fault("POST", GRAPH, status=429, headers={"Retry-After": "1"}, times=WORKERS),
    ]
    source = live_source(arm)

    def evaluate_once(_: int) -> str:
        # Faults are shared, so one evaluation may meet more than its retries absorb: it must
        # then raise, never return a report that differs from the fault-free one.
        try:
            estate = source.workspace_estate(WORKSPACE)
        except AzureError as error:
            return type(error).__name__
        return report(evaluate_workspace(estate, WORKSPACE))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(evaluate_once, range(WORKERS * 4)))
    tally["fault: concurrent"] += sum(f.hits for f in faults)
    reports = [o for o in outcomes if o.startswith("{")]
    errors = set(outcomes) - set(reports)
    # A reader that exhausts its retries on Resource Graph gets the unknown-history result.
    outage = FakeArm(resources)
    outage.inject_fault("POST", GRAPH, status=503, times=None)
    graph_outage = report(evaluate(outage))
    assert reports
    assert set(reports) <= {baseline, graph_outage}
    assert errors <= {"ServiceRequestError", "HttpResponseError"}
    assert [f.hits for f in faults] == [WORKERS] * 3
    assert arm_writes(arm) == []


def test_deleted_network_reads_subnet_once(resources: list[dict[str, Any]]) -> None:
    # The compute and four private endpoints share one subnet.
    arm = FakeArm(resources)
    arm.inject_fault("GET", NETWORK_GET, status=404, code="ResourceNotFound")
    live_source(arm).workspace_estate(WORKSPACE)
    assert arm.count("GET", r"/subnets/subnet1\?") == 1
