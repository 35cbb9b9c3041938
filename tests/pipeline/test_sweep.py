"""The periodic sweep: every in-scope workspace evaluated or enqueued, failures never fatal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest
from azure.functions.timer import TimerRequest

from remediators.budget import Budget
from remediators.findings import Finding
from remediators.pipeline import EvaluationRequest
from remediators.service import SWEEP_REASON, EvaluationService, sweep
from tests.functions.estates import OTHER_SUBSCRIPTION, SUBSCRIPTION, WS_A, WS_B, WS_C
from tests.pipeline.conftest import Harness, make_settings

pytestmark = pytest.mark.azurite

WORKSPACES = (WS_A, WS_B, WS_C)
# Shared-list collection costs about 5 ARM requests per workspace; 20 each is per-workspace.
MAX_REQUESTS_PER_WORKSPACE = 8


class FailingFor:
    """A dispatcher that fails for one workspace and passes the rest to `inner`."""

    def __init__(self, inner: object, workspace_id: str) -> None:
        self.inner = inner
        self.workspace_id = workspace_id

    def dispatch(self, requests: Sequence[EvaluationRequest]) -> None:
        for request in requests:
            if request.workspace_id == self.workspace_id:
                raise OSError("queue write failed")
        self.inner.dispatch(requests)  # type: ignore[attr-defined]


class FailingAlerts:
    """An alert hook that raises for one workspace, as a broken channel would."""

    def __init__(self, workspace_id: str) -> None:
        self.workspace_id = workspace_id
        self.calls: list[str] = []

    def after_evaluation(
        self,
        workspace_id: str,
        *,
        new: Iterable[Finding] = (),
        still_open: Iterable[Finding] = (),
        resolved: Iterable[Finding] = (),
    ) -> None:
        self.calls.append(workspace_id)
        if workspace_id == self.workspace_id:
            raise OSError("alert channel failed")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def service_with(harness: Harness, alerts: FailingAlerts) -> EvaluationService:
    return EvaluationService(
        harness.runtime.settings, harness.source, harness.stores, alerts=alerts
    )


def test_sweep_function_evaluates_all(harness: Harness) -> None:
    harness.user_function("sweep")(TimerRequest(past_due=False))

    assert harness.queue.delays == []
    for workspace_id in WORKSPACES:
        records = harness.evaluations(workspace_id)
        assert len(records) == 1, workspace_id
        assert records[0].why == SWEEP_REASON


def test_sweep_function_stores_findings(harness: Harness) -> None:
    harness.user_function("sweep")(TimerRequest(past_due=False))

    for workspace_id in WORKSPACES:
        stored = harness.stores.findings.load(workspace_id)
        expected = harness.evaluations(workspace_id)[0].details["findings"]
        assert len(stored) == expected, workspace_id
    assert any(harness.stores.findings.load(w) for w in WORKSPACES)


def test_sweep_function_request_budget(harness: Harness) -> None:
    harness.arm.clear_log()

    harness.user_function("sweep")(TimerRequest(past_due=False))

    per_workspace = len(harness.arm.requests) / len(WORKSPACES)
    print(f"sweep ARM requests: {len(harness.arm.requests)} ({per_workspace:.2f} per workspace)")
    assert per_workspace <= MAX_REQUESTS_PER_WORKSPACE


def test_sweep_function_enqueues_leased(harness: Harness) -> None:
    with harness.stores.locks.workspace_lease(WS_B):
        harness.user_function("sweep")(TimerRequest(past_due=False))

    assert len(harness.queue.delays) == 1
    assert harness.evaluations(WS_B) == []
    assert len(harness.evaluations(WS_A)) == 1
    assert harness.drain() == 1
    assert len(harness.evaluations(WS_B)) == 1


def test_sweep_failing_workspace_enqueued(harness: Harness) -> None:
    alerts = FailingAlerts(WS_A)

    result = sweep(
        harness.runtime.settings, harness.source, harness.dispatcher, service_with(harness, alerts)
    )

    assert result.deferred == [WS_A]
    assert result.evaluated == 2
    assert result.enqueued == 1
    assert alerts.calls == list(WORKSPACES)
    assert len(harness.evaluations(WS_C)) == 1
    assert harness.drain() == 1
    assert harness.evaluations(WS_A)[0].why == SWEEP_REASON


def test_sweep_low_budget_enqueues_rest(harness: Harness) -> None:
    clock = FakeClock()
    budget = Budget(100.0, clock)
    alerts = FailingAlerts("")

    def spend_time(source: object) -> None:
        clock.now = 50.0  # leaves 50 s, below the reserve for starting an evaluation

    result = sweep(
        harness.runtime.settings,
        harness.source,
        harness.dispatcher,
        service_with(harness, alerts),
        on_collected=spend_time,
        budget=budget,
    )

    assert result.evaluated == 0
    assert sorted(result.deferred) == sorted(WORKSPACES)
    assert harness.drain() == 3


def test_sweep_schedule_from_setting(harness: Harness) -> None:
    binding = harness.functions["sweep"].get_trigger()
    assert binding.schedule == "%REMEDIATOR_SWEEP_SCHEDULE%"


def test_sweep_survives_failures(harness: Harness) -> None:
    harness.arm.add_resource_group(f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/other")
    harness.arm.inject_fault("GET", OTHER_SUBSCRIPTION, status=500, times=None)
    settings = make_settings(scope_subscriptions=(OTHER_SUBSCRIPTION, SUBSCRIPTION))

    result = sweep(settings, harness.source, FailingFor(harness.dispatcher, WS_B))

    assert result.failed_subscriptions == [OTHER_SUBSCRIPTION]
    assert result.failed_workspaces == [WS_B]
    assert result.enqueued == 2
    assert result.workspaces == 3
    assert harness.drain() == 2
    assert harness.evaluations(WS_B) == []


def test_sweep_failed_collection_enqueues(harness: Harness) -> None:
    harness.arm.inject_fault("GET", r"privateDnsZones\?", status=500, times=None)
    alerts = FailingAlerts("")

    result = sweep(
        harness.runtime.settings, harness.source, harness.dispatcher, service_with(harness, alerts)
    )

    assert result.evaluated == 0
    assert result.enqueued == 3
    assert result.failed_subscriptions == []
    assert harness.drain() == 3


def test_sweep_failed_subscription_skipped(harness: Harness) -> None:
    harness.arm.add_resource_group(f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/other")
    harness.arm.inject_fault("GET", OTHER_SUBSCRIPTION, status=500, times=None)
    settings = make_settings(scope_subscriptions=(OTHER_SUBSCRIPTION, SUBSCRIPTION))
    alerts = FailingAlerts("")

    result = sweep(settings, harness.source, harness.dispatcher, service_with(harness, alerts))

    assert result.failed_subscriptions == [OTHER_SUBSCRIPTION]
    assert result.evaluated == 3
    assert result.enqueued == 0
