"""Faults through the queue function on Azurite: nothing is decided from a partial read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from remediators.state._common import iso
from tests.functions.estates import STORAGE, WS_A
from tests.pipeline.conftest import Harness, Received, arm, harness, storage_clients

pytestmark = pytest.mark.azurite
__all__ = ["arm", "harness", "storage_clients"]  # fixtures this module reuses


def message(workspace_id: str = WS_A) -> str:
    body = {"workspace_id": workspace_id, "reason": "test", "requested_at": iso(datetime.now(UTC))}
    return json.dumps(body)


def run(harness: Harness, message_id: str = "msg-1") -> None:
    harness.run_queue_function(Received(message_id, message(), 1))


def open_rules(harness: Harness) -> set[str]:
    return {stored.finding.rule for stored in harness.stores.findings.load(WS_A)}


def storage_rules(harness: Harness) -> set[str]:
    return {rule for rule in open_rules(harness) if rule.startswith("storage.")}


def test_failed_read_keeps_findings(harness: Harness) -> None:
    run(harness)
    before = open_rules(harness)
    harness.arm.inject_fault("GET", r"storageAccounts/mlstore01\?", status=503, times=None)
    with pytest.raises(HttpResponseError):
        run(harness, "msg-2")
    assert open_rules(harness) == before
    assert len(harness.evaluations(WS_A)) == 1


# A dependency that returns 404 is missing, not compliant: its findings stay open and the
# audit record lists it.
def test_deleted_storage_not_resolved(harness: Harness) -> None:
    run(harness)
    before = storage_rules(harness)
    assert before, "the estate should have storage findings to keep"
    harness.arm.inject_fault("GET", r"storageAccounts/mlstore01\?", status=404, times=None)
    run(harness, "msg-2")
    # A dependency that could not be read is missing, not compliant.
    assert storage_rules(harness) == before


def test_deleted_storage_recorded_missing(harness: Harness) -> None:
    harness.arm.inject_fault("GET", r"storageAccounts/mlstore01\?", status=404, times=None)
    run(harness)
    [record] = harness.evaluations(WS_A)
    details: dict[str, Any] = record.details
    assert STORAGE in details.get("missing", [])


def test_throttling_past_budget_requeues(harness: Harness) -> None:
    from fake_arm import FakeArmTransport
    from remediators.clients import AzureClients
    from remediators.estate.live import LiveSource
    from remediators.service import EvaluationService, Status

    # Clients with the SDK's normal retries, and a budget clock that advances only with the
    # Retry-After sleeps the fake records, so the test never waits in real time.
    clients = AzureClients(
        harness.credential, transport=FakeArmTransport(harness.arm), polling_interval=0
    )
    service = EvaluationService(
        harness.runtime.settings,
        LiveSource(clients),
        harness.stores,
        budget_seconds=30.0,
        budget_clock=lambda: sum(harness.arm.sleeps),
    )
    harness.arm.inject_fault(
        "GET",
        r"storageAccounts/mlstore01\?",
        status=429,
        headers={"Retry-After": "20"},
        times=3,
    )

    outcome = service.handle_message(message(), message_id="msg-budget", dequeue_count=1)

    assert outcome.status == Status.REQUEUED
    assert "time budget exhausted" in (outcome.detail or "")
    assert open_rules(harness) == set()
    assert harness.queue.delays == [10]
    assert sum(harness.arm.sleeps) <= 30.0
