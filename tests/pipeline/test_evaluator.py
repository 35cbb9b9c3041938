"""The queue-triggered evaluator: leases, history, lifecycle, bad messages and poison."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from remediators.estate.estate import Estate
from remediators.service import (
    NO_WORKSPACE,
    EvaluationOutcome,
    EvaluationService,
    Status,
    parse_message,
)
from remediators.state._common import iso
from tests.functions.estates import ENDPOINT, OTHER_SUBSCRIPTION, WS_A, WS_A_PE
from tests.pipeline.conftest import POISON_FUNCTION, FakeContext, Harness, Received

pytestmark = pytest.mark.azurite


def message(workspace_id: str = WS_A, **extra: Any) -> str:
    body = {"workspace_id": workspace_id, "reason": "test", "requested_at": iso(datetime.now(UTC))}
    body.update(extra)
    return json.dumps(body)


def run(harness: Harness, body: str, message_id: str = "msg-1", dequeue_count: int = 1) -> None:
    harness.run_queue_function(Received(message_id, body, dequeue_count))


def make_private(harness: Harness) -> None:
    workspace = harness.arm.get(WS_A)
    assert workspace is not None
    workspace["properties"]["privateEndpointConnections"] = [
        {
            "id": f"{WS_A}/privateEndpointConnections/ws-a-pe",
            "name": "ws-a-pe",
            "properties": {
                "privateEndpoint": {"id": WS_A_PE},
                "privateLinkServiceConnectionState": {"status": "Approved"},
            },
        }
    ]
    harness.arm.add(workspace)


def date_endpoint(harness: Harness, created_at: str) -> None:
    endpoint = harness.arm.get(ENDPOINT)
    assert endpoint is not None
    endpoint["systemData"] = {"createdAt": created_at}
    harness.arm.add(endpoint)


def test_evaluation_records_everything(harness: Harness) -> None:
    run(harness, message())

    [record] = harness.evaluations(WS_A)
    assert record.result == Status.COMPLETED
    assert record.details["new"] == len(harness.stores.findings.load(WS_A))
    assert record.details["new"] > 0
    assert harness.stores.history.became_private_at(WS_A).source == "recorded"
    assert len(harness.runtime.dependency_index()) == 3


def test_findings_lifecycle(harness: Harness) -> None:
    run(harness, message())
    assert any(
        s.finding.rule == "workspace.private-link" for s in harness.stores.findings.load(WS_A)
    )

    make_private(harness)
    run(harness, message())

    stored = harness.stores.findings.load(WS_A, include_resolved=True)
    resolved = [s for s in stored if s.finding.rule == "workspace.private-link"]
    assert len(resolved) == 1
    assert resolved[0].resolved_at is not None
    latest = harness.evaluations(WS_A)[0]
    assert latest.details["resolved"] >= 1


def test_public_to_private_stale_endpoint(harness: Harness) -> None:
    date_endpoint(harness, "2023-06-01T00:00:00Z")
    before = datetime.now(UTC)
    run(harness, message())
    public_rules = {s.finding.rule for s in harness.stores.findings.load(WS_A)}
    assert "endpoint.stale-network" not in public_rules

    make_private(harness)
    middle = datetime.now(UTC)
    run(harness, message())

    history = harness.stores.history.became_private_at(WS_A)
    assert history.became_private_at is not None
    assert middle <= history.became_private_at <= datetime.now(UTC)
    assert history.became_private_at > before
    stale = [
        s for s in harness.stores.findings.load(WS_A) if s.finding.rule == "endpoint.stale-network"
    ]
    assert [s.finding.resource_id for s in stale] == [ENDPOINT]
    assert stale[0].finding.details["history_source"] == "recorded"


def test_endpoint_after_transition_not_stale(harness: Harness) -> None:
    run(harness, message())
    make_private(harness)
    run(harness, message())
    date_endpoint(harness, iso(datetime.now(UTC)))

    run(harness, message())

    rules = {s.finding.rule for s in harness.stores.findings.load(WS_A)}
    assert "endpoint.stale-network" not in rules


def test_first_seen_private_unknown_age(harness: Harness) -> None:
    make_private(harness)
    date_endpoint(harness, "2023-06-01T00:00:00Z")

    run(harness, message())

    rules = {s.finding.rule for s in harness.stores.findings.load(WS_A)}
    assert "endpoint.network-age-unknown" in rules
    assert "endpoint.stale-network" not in rules


class BlockingSource:
    """The harness's source, holding the first workspace read until `release` is set."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def workspace_estate(self, workspace_id: str) -> Estate:
        self.entered.set()
        self.release.wait(timeout=20)
        return self.inner.workspace_estate(workspace_id)

    def workspace_ids(self, scope: str) -> list[str]:
        return self.inner.workspace_ids(scope)


def test_concurrent_evaluators_one_runs(harness: Harness) -> None:
    source = BlockingSource(harness.source)
    service = EvaluationService(harness.runtime.settings, source, harness.stores)
    outcomes: list[EvaluationOutcome] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def evaluate(message_id: str) -> None:
        start.wait()
        try:
            outcomes.append(service.handle_message(message(), message_id=message_id))
        except BaseException as error:  # reported by the asserts below
            errors.append(error)

    threads = [threading.Thread(target=evaluate, args=(f"msg-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    assert source.entered.wait(timeout=20)
    for _ in range(200):
        if outcomes:
            break
        threading.Event().wait(0.05)
    source.release.set()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(o.status for o in outcomes) == [Status.COMPLETED, Status.REQUEUED]
    assert len(harness.evaluations(WS_A)) == 1
    [requeued] = harness.receive()
    assert parse_message(requeued.body).requeues == 1
    assert harness.queue.delays[-1] > 0


def test_requeued_message_runs_later(harness: Harness) -> None:
    with harness.stores.locks.workspace_lease(WS_A):
        run(harness, message())
    assert harness.evaluations(WS_A) == []

    assert harness.drain() == 1

    assert len(harness.evaluations(WS_A)) == 1


def test_malformed_message_recorded(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="remediators")

    run(harness, "not json at all", message_id="bad-1")

    [record] = harness.stores.audit.recent(NO_WORKSPACE)
    assert record.kind == "rejected-message"
    assert record.details["message_id"] == "bad-1"
    assert "not JSON" in record.why
    assert any("bad-1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('["a list"]', "expected an object"),
        ('{"reason": "no id"}', "invalid workspace_id"),
        (message("/subscriptions/x/resourceGroups/y"), "invalid workspace_id"),
        (message(requested_at="yesterday"), "invalid requested_at"),
        (message(dry_run="yes"), "invalid dry_run"),
        (message(event_ids="one"), "invalid event_ids"),
        (message(evaluation_id="../etc"), "invalid evaluation_id"),
    ],
)
def test_invalid_message_reasons(harness: Harness, body: str, expected: str) -> None:
    run(harness, body)

    [record] = harness.stores.audit.recent(NO_WORKSPACE)
    assert expected in record.why


def test_out_of_scope_message_recorded(harness: Harness) -> None:
    foreign = WS_A.replace(WS_A.split("/")[2], OTHER_SUBSCRIPTION)

    run(harness, message(foreign))

    [record] = harness.stores.audit.recent(foreign)
    assert record.result == Status.REJECTED
    assert "outside the configured scope" in record.details["detail"]
    assert harness.arm.count() == 0


def test_missing_workspace_completes(harness: Harness) -> None:
    gone = WS_A.replace("ws-a", "ws-gone")

    run(harness, message(gone))

    [record] = harness.evaluations(gone)
    assert record.result == Status.NOT_FOUND


def test_arm_failure_raises_for_retry(harness: Harness) -> None:
    harness.arm.inject_fault("GET", "workspaces/ws-a", status=500, times=None)
    window_end = iso(datetime.now(UTC))

    with pytest.raises(HttpResponseError):
        run(harness, message(window_end=window_end))

    assert harness.evaluations(WS_A) == []
    with harness.stores.locks.workspace_lease(WS_A) as lease:
        assert not lease.lost


def test_dry_run_stores_nothing(harness: Harness) -> None:
    run(harness, message(dry_run=True))

    [record] = harness.evaluations(WS_A)
    assert record.what == "dry-run evaluation"
    assert record.details["findings"] > 0
    assert harness.stores.findings.load(WS_A) == []
    assert harness.stores.history.became_private_at(WS_A).source == "unknown"


def test_hooks_called_with_lifecycle(harness: Harness) -> None:
    calls: list[dict[str, Any]] = []

    class Alerts:
        def after_evaluation(self, workspace_id: str, **lifecycle: Any) -> None:
            calls.append(
                {"workspace_id": workspace_id, **{k: list(v) for k, v in lifecycle.items()}}
            )

    class Remediation:
        def after_evaluation(
            self, evaluation: Any, *, dry_run: bool, check_lease: Any, record: Any
        ) -> list[Any]:
            check_lease()
            calls.append({"remediation": evaluation.workspace_id, "dry_run": dry_run})
            return []

    harness.runtime.alerts = Alerts()
    harness.runtime.remediation = Remediation()

    run(harness, message())
    run(harness, message())

    assert calls[0]["workspace_id"] == WS_A
    assert len(calls[0]["new"]) > 0
    assert calls[1] == {"remediation": WS_A, "dry_run": False}
    assert calls[2]["new"] == []
    assert len(calls[2]["still_open"]) == len(calls[0]["new"])


def test_poison_message_record(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="remediators")
    poison = harness.user_function(POISON_FUNCTION)
    from azure.functions.queue import QueueMessage

    poison(QueueMessage(id="poison-1", body=message().encode(), dequeue_count=1), FakeContext())

    [record] = harness.stores.audit.recent(WS_A)
    assert record.kind == "poison"
    assert record.details["message_id"] == "poison-1"
    assert record.details["body"]["workspace_id"] == WS_A
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].__dict__["workspace_id"] == WS_A


def test_poison_unreadable_body(harness: Harness) -> None:
    harness.service.record_poison(b"\xff\xfe", message_id="poison-2", dequeue_count=5)

    [record] = harness.stores.audit.recent(NO_WORKSPACE)
    assert record.kind == "poison"
    assert record.details["dequeue_count"] == 5
