"""Event Grid deliveries through the queue: coalescing, ordering and duplicate deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from remediators import pipeline, runtime
from tests.functions.estates import COMPUTE, DEPLOYMENT, ENDPOINT, STORAGE, WS_A, WS_B, WS_C
from tests.pipeline.conftest import WINDOW_SECONDS, Harness, times, write_event

pytestmark = pytest.mark.azurite


def test_storm_one_evaluation(harness: Harness) -> None:
    children = [WS_A, COMPUTE, ENDPOINT, DEPLOYMENT]
    for index, moment in enumerate(times(200)):
        harness.deliver(write_event(children[index % len(children)], event_time=moment))

    assert harness.queue.delays == [WINDOW_SECONDS]
    assert harness.drain() == 1
    assert len(harness.evaluations(WS_A)) == 1


def test_three_workspaces_three_evaluations(harness: Harness) -> None:
    for moment in times(30):
        for workspace_id in (WS_A, WS_B, WS_C):
            harness.deliver(write_event(workspace_id, event_time=moment))

    assert len(harness.queue.delays) == 3
    assert harness.drain() == 3
    for workspace_id in (WS_A, WS_B, WS_C):
        assert len(harness.evaluations(workspace_id)) == 1, workspace_id


def test_storage_event_fans_out(harness: Harness) -> None:
    harness.deliver(write_event(STORAGE))

    assert harness.drain() == 2
    assert len(harness.evaluations(WS_A)) == 1
    assert len(harness.evaluations(WS_B)) == 1
    assert harness.evaluations(WS_C) == []


def test_message_carries_window(harness: Harness) -> None:
    harness.deliver(write_event(WS_A))

    [message] = harness.receive()
    body = json.loads(message.body)
    assert body["workspace_id"] == WS_A
    assert body["window_end"] is not None


def test_newest_first_keeps_newer(harness: Harness) -> None:
    older = datetime.now(UTC) - timedelta(minutes=2)
    newer = older + timedelta(minutes=1)
    current = runtime.current()

    # ARM contains the newer state, in which the storage account is open to the public.
    storage = harness.arm.get(STORAGE)
    assert storage is not None
    storage["properties"]["publicNetworkAccess"] = "Enabled"
    storage["properties"]["networkAcls"] = {"defaultAction": "Allow"}
    harness.arm.add(storage)

    first = pipeline.handle_delivery([_event_json(STORAGE, "newer", newer)], current)
    late = pipeline.handle_delivery([_event_json(STORAGE, "older", older)], current)

    assert first.workspace_ids == [WS_A, WS_B]
    assert late.requests == []
    assert [i.event_id for i in late.ignored] == ["older"]
    assert "not newer" in late.ignored[0].reason
    assert harness.drain() == 2
    rules = {s.finding.rule for s in harness.stores.findings.load(WS_A)}
    assert "storage.public-network-access" in rules
    watermark = harness.stores.watermarks.get(STORAGE)
    assert watermark is not None
    assert watermark.startswith(newer.strftime("%Y-%m-%dT%H:%M:%S"))


def test_duplicate_delivery_changes_nothing(harness: Harness) -> None:
    event = write_event(WS_A, event_id="evt-1", correlation_id="corr-1")
    harness.deliver(event)
    assert harness.drain() == 1
    findings_before = _findings_state(harness)
    audit_before = len(harness.stores.audit.recent(WS_A, 500))

    harness.deliver(event)

    assert harness.receive() == []
    assert len(harness.queue.delays) == 1
    assert len(harness.stores.audit.recent(WS_A, 500)) == audit_before
    assert _findings_state(harness) == findings_before


def test_failed_enqueue_admits_redelivery(harness: Harness) -> None:
    event = write_event(WS_A, event_id="evt-retry")
    original = harness.queue.enqueue

    def failing(*args: object, **kwargs: object) -> str:
        raise OSError("queue unavailable")

    harness.queue.enqueue = failing  # type: ignore[method-assign]
    with pytest.raises(OSError):
        harness.deliver(event)
    harness.queue.enqueue = original  # type: ignore[method-assign]

    harness.deliver(event)

    assert harness.drain() == 1


def test_zero_window_enqueues_each(harness: Harness) -> None:
    from remediators.dispatch import QueueDispatcher
    from remediators.pipeline import EvaluationRequest

    dispatcher = QueueDispatcher(harness.queue, None, 0)
    dispatcher.dispatch([EvaluationRequest(WS_A, "first"), EvaluationRequest(WS_A, "second")])

    assert harness.queue.delays == [0, 0]
    assert len(harness.receive()) == 2


def _event_json(resource_id: str, event_id: str, moment: datetime) -> dict[str, object]:
    return {
        "id": event_id,
        "topic": f"/subscriptions/{resource_id.split('/')[2]}",
        "subject": resource_id,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": moment.isoformat(),
        "dataVersion": "2",
        "data": {"resourceUri": resource_id, "correlationId": f"corr-{event_id}"},
    }


def _findings_state(harness: Harness) -> list[tuple[str, str, str]]:
    return sorted(
        (s.key, s.last_seen.isoformat(), "open" if s.is_open else "resolved")
        for s in harness.stores.findings.load(WS_A, include_resolved=True)
    )
