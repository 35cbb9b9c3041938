"""The periodic sweep: every in-scope workspace enqueued, failures counted, never fatal."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from azure.functions.timer import TimerRequest

from remediators.pipeline import EvaluationRequest
from remediators.service import sweep
from tests.functions.estates import OTHER_SUBSCRIPTION, SUBSCRIPTION, WS_A, WS_B, WS_C
from tests.pipeline.conftest import Harness, make_settings

pytestmark = pytest.mark.azurite


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


def test_sweep_function_enqueues_all(harness: Harness) -> None:
    harness.user_function("sweep")(TimerRequest(past_due=False))

    assert len(harness.queue.delays) == 3
    assert harness.drain() == 3
    for workspace_id in (WS_A, WS_B, WS_C):
        assert len(harness.evaluations(workspace_id)) == 1, workspace_id


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
