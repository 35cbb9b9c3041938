"""The registered functions end to end: events, evaluation, remediation, alerts, approvals.

An Event Grid event for workspace ws-a goes through the event function, the evaluation queue
and the evaluator in remediate mode. Cards go to a Teams receiver on 127.0.0.1 and ARM
requests to the fake ARM, whose request log shows every write.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fake_arm import FakeArm
from remediators.actions.arm_errors import ArmOperationError
from remediators.actions.executors import request_id_of
from tests.functions.estates import ENDPOINT, WS_A
from tests.integration.conftest import App
from tests.pipeline.conftest import write_event
from tests.pipeline.test_evaluator import date_endpoint, make_private

pytestmark = pytest.mark.azurite

STORAGE_GROUPS = ("blob", "file", "queue", "table")
REQUEST_ID = request_id_of(ENDPOINT)
DECISION = {"by": "owner@example.com", "reason": "maintenance window"}


def payload(response: Any) -> Any:
    return json.loads(response.get_body())


def is_read(method: str, url: str) -> bool:
    """Return whether a request reads: a GET, or a Resource Graph query (sent as POST)."""
    return method == "GET" or (method == "POST" and "/Microsoft.ResourceGraph/resources?" in url)


def writes(arm: FakeArm) -> list[str]:
    """Return the method and URL of every logged request that is not a read."""
    return [f"{r.method} {r.url}" for r in arm.requests if not is_read(r.method, r.url)]


def evaluate(app: App) -> int:
    """Deliver a write event for ws-a and run every queued evaluation; return their count."""
    app.deliver(write_event(WS_A))
    return app.drain()


def card_titles(app: App) -> list[str]:
    return [str(card["body"][0]["text"]) for card in app.receiver.cards]


def approval_cards(app: App) -> list[dict[str, Any]]:
    return [card for card in app.receiver.cards if "Approve" in str(card["body"][0]["text"])]


def make_stale(app: App) -> None:
    """Evaluate ws-a while public, then private with an older endpoint: it becomes stale."""
    date_endpoint(app, "2023-06-01T00:00:00Z")
    evaluate(app)
    make_private(app)
    evaluate(app)


def decide(app: App, decision: str, body: Any = None, request_id: str = REQUEST_ID) -> Any:
    name = f"{decision}_recreation"
    path = f"recreations/{request_id}/{decision}"
    return app.http(name, "POST", path, DECISION if body is None else body, id=request_id)


def listed(app: App) -> list[dict[str, Any]]:
    response = app.http("recreations", "GET", "recreations")
    assert response.status_code == 200
    return list(payload(response)["recreations"])


# Private endpoints and alerts ----------------------------------------------------------------


def test_event_creates_storage_endpoints(app: App) -> None:
    assert evaluate(app) == 1

    for group in STORAGE_GROUPS:
        pattern = rf"^PUT .*/privateEndpoints/pe-mlstore01-{group}\?"
        assert len([w for w in writes(app.arm) if re.search(pattern, w)]) == 1, group


def test_actions_are_audited(app: App) -> None:
    evaluate(app)

    actions = [r for r in app.stores.audit.recent(WS_A, 100) if r.kind == "action"]
    created = [r for r in actions if r.result == "created" and r.rule == "storage.private-endpoint"]
    assert len(created) == len(STORAGE_GROUPS)
    assert all(r.arm_correlation_id for r in created)


def test_first_evaluation_posts_one_digest(app: App) -> None:
    evaluate(app)

    assert len(app.receiver.bodies) == 1
    assert "new in workspace ws-a" in card_titles(app)[0]


def test_second_evaluation_writes_nothing(app: App) -> None:
    evaluate(app)
    app.arm.clear_log()

    evaluate(app)

    assert writes(app.arm) == []


def test_second_evaluation_posts_no_digest(app: App) -> None:
    evaluate(app)
    evaluate(app)

    # The findings the first evaluation remediated resolve now, which is the only message.
    assert len(app.receiver.bodies) == 2
    assert "resolved" in card_titles(app)[1].lower()


def test_third_evaluation_posts_nothing(app: App) -> None:
    evaluate(app)
    evaluate(app)
    app.arm.clear_log()

    evaluate(app)

    assert len(app.receiver.bodies) == 2
    assert writes(app.arm) == []


def test_dry_run_reads_only(dry_app: App) -> None:
    evaluate(dry_app)

    assert dry_app.arm.count("GET") > 0
    assert writes(dry_app.arm) == []
    assert dry_app.receiver.bodies == []
    assert dry_app.stores.findings.load(WS_A) == []


# Recreation ----------------------------------------------------------------------------------


def test_stale_endpoint_awaits_approval(app: App) -> None:
    make_stale(app)

    assert app.drain_recreations() == 1
    [request] = listed(app)
    assert request["id"] == REQUEST_ID
    assert request["endpoint_id"] == ENDPOINT
    assert request["state"] == "awaiting_approval"


def test_approval_card_posted_once(app: App) -> None:
    make_stale(app)
    app.drain_recreations()

    evaluate(app)
    app.runtime.recreations.enqueue(ENDPOINT)  # type: ignore[union-attr]
    app.drain_recreations()

    [card] = approval_cards(app)
    approve_url = f"https://remediator.example.test/api/recreations/{REQUEST_ID}/approve"
    assert approve_url in json.dumps(card)


def test_request_queued_once(app: App) -> None:
    make_stale(app)
    evaluate(app)

    assert app.drain_recreations() == 1


def test_approve_runs_to_done(app: App) -> None:
    make_stale(app)
    app.drain_recreations()
    app.arm.clear_log()

    response = decide(app, "approve")
    assert response.status_code == 200
    assert payload(response)["recreation"]["approved_by"] == "owner@example.com"
    assert app.drain_recreations() == 1

    [request] = listed(app)
    assert request["state"] == "done"
    assert request["decision_reason"] == "maintenance window"
    assert any(w.startswith("DELETE ") and "/batchEndpoints/scoring?" in w for w in writes(app.arm))
    assert any(w.startswith("PUT ") and "/batchEndpoints/scoring?" in w for w in writes(app.arm))


def test_approval_is_audited(app: App) -> None:
    make_stale(app)
    app.drain_recreations()

    decide(app, "approve")

    [record] = [r for r in app.stores.audit.recent(WS_A, 200) if r.kind == "recreation-decision"]
    assert record.result == "approved"
    assert record.why == "maintenance window"
    assert record.details["by"] == "owner@example.com"


def test_reject_stops_request(app: App) -> None:
    make_stale(app)
    app.drain_recreations()
    app.arm.clear_log()

    response = decide(app, "reject")

    assert response.status_code == 200
    assert app.drain_recreations() == 0
    assert listed(app)[0]["state"] == "rejected"
    assert writes(app.arm) == []


def test_approve_after_reject_conflicts(app: App) -> None:
    make_stale(app)
    app.drain_recreations()
    decide(app, "reject")

    response = decide(app, "approve")

    assert response.status_code == 409
    assert payload(response)["state"] == "rejected"


def test_double_approval_conflicts(app: App) -> None:
    make_stale(app)
    app.drain_recreations()
    decide(app, "approve")

    response = decide(app, "approve")

    assert response.status_code == 409
    assert payload(response)["state"] == "awaiting_approval"
    assert payload(response)["recreation"]["approved_by"] == "owner@example.com"


def test_approve_done_conflicts(app: App) -> None:
    make_stale(app)
    app.drain_recreations()
    decide(app, "approve")
    app.drain_recreations()

    response = decide(app, "approve")

    assert response.status_code == 409
    assert payload(response)["state"] == "done"


def test_unknown_request_is_404(app: App) -> None:
    response = decide(app, "approve", request_id="0" * 64)

    assert response.status_code == 404
    assert payload(response)["error"]["field"] == "id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "window"}, "by"),
        ({"by": "owner@example.com"}, "reason"),
        ({"by": "", "reason": "window"}, "by"),
        ({"by": "owner@example.com", "reason": 3}, "reason"),
        ({**DECISION, "when": "now"}, "when"),
    ],
)
def test_bad_decision_is_400(app: App, body: dict[str, Any], field: str) -> None:
    make_stale(app)
    app.drain_recreations()

    response = decide(app, "approve", body)

    assert response.status_code == 400
    assert payload(response)["error"]["field"] == field


def test_bad_request_id_is_400(app: App) -> None:
    response = decide(app, "reject", request_id="not-an-id")

    assert response.status_code == 400
    assert payload(response)["error"]["field"] == "id"


def test_crashed_run_resumes(app: App) -> None:
    make_stale(app)
    app.drain_recreations()
    decide(app, "approve")
    app.arm.inject_fault("DELETE", r"/batchEndpoints/scoring\?", status=500, times=5)
    [message] = app.receive_recreations()

    with pytest.raises(ArmOperationError):
        app.run_recreation(message)
    app.run_recreation(message)  # the host delivers the message again

    assert listed(app)[0]["state"] == "done"


def test_recreation_routes_need_function_key(app: App) -> None:
    for name in ("recreations", "approve_recreation", "reject_recreation"):
        trigger = app.functions[name].get_trigger()
        assert str(trigger.auth_level).upper().endswith("FUNCTION"), name
