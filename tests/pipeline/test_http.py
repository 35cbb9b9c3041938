"""The HTTP API through the registered functions: validation, scope, wait and queued paths."""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.functions as func
import pytest

from remediators import runtime
from tests.functions.estates import GROUP, OTHER_SUBSCRIPTION, SUBSCRIPTION, WS_A, WS_B, WS_C
from tests.pipeline.conftest import Harness

pytestmark = pytest.mark.azurite

BASE = "https://remediator.example.test/api"
HTTP_FUNCTIONS = ("evaluations", "evaluation_status", "findings", "health")


def post(harness: Harness, body: Any, **headers: str) -> func.HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest(
        "POST",
        f"{BASE}/evaluations?code=secret-key",
        headers={"Content-Type": "application/json", **headers},
        body=raw,
    )
    return harness.user_function("evaluations")(request)


def get(harness: Harness, name: str, path: str, **params: str) -> func.HttpResponse:
    route = {"id": path} if name == "evaluation_status" else {}
    request = func.HttpRequest("GET", f"{BASE}/{path}", params=params, route_params=route, body=b"")
    return harness.user_function(name)(request)


def payload(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def error_of(response: func.HttpResponse) -> dict[str, Any]:
    return payload(response)["error"]


def test_routes_need_function_key(harness: Harness) -> None:
    for name in HTTP_FUNCTIONS:
        trigger = harness.functions[name].get_trigger()
        assert str(trigger.auth_level).upper().endswith("FUNCTION"), name


def test_wait_returns_findings(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A, "wait": True})

    assert response.status_code == 200
    body = payload(response)
    assert body["summary"]["workspaces"] == 1
    assert {f["workspace_id"] for f in body["findings"]} == {WS_A}
    assert set(body["findings"][0]) >= {"rule", "severity", "resource_id", "message", "action"}
    assert body["dry_run"] is False
    assert len(harness.stores.findings.load(WS_A)) == body["summary"]["findings"]


def test_wait_dry_run_stores_nothing(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A, "wait": True, "dry_run": True})

    assert response.status_code == 200
    assert payload(response)["summary"]["findings"] > 0
    assert payload(response)["dry_run"] is True
    assert harness.stores.findings.load(WS_A) == []


def test_queued_202_then_status(harness: Harness) -> None:
    response = post(harness, {"resource_group_id": GROUP})

    assert response.status_code == 202
    body = payload(response)
    location = response.headers["Location"]
    assert location == f"{BASE}/evaluations/{body['evaluation_id']}"
    assert "code=" not in location
    assert sorted(body["workspaces"]) == sorted([WS_A, WS_B, WS_C])
    queued = payload(get(harness, "evaluation_status", body["evaluation_id"]))
    assert queued["status"] == "queued"

    assert harness.drain() == 3

    done = payload(get(harness, "evaluation_status", body["evaluation_id"]))
    assert done["status"] == "completed"
    assert {w["status"] for w in done["workspaces"]} == {"completed"}
    assert all(w["summary"]["findings"] > 0 for w in done["workspaces"])


def test_queued_dry_run_carried(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A, "dry_run": True})
    assert response.status_code == 202

    assert harness.drain() == 1

    [record] = harness.evaluations(WS_A)
    assert record.what == "dry-run evaluation"
    assert harness.stores.findings.load(WS_A) == []


def test_subscription_scope_forms(harness: Harness) -> None:
    for value in (SUBSCRIPTION, f"/subscriptions/{SUBSCRIPTION.upper()}"):
        response = post(harness, {"subscription_id": value})
        assert response.status_code == 202, value
        assert len(payload(response)["workspaces"]) == 3


def test_findings_route(harness: Harness) -> None:
    post(harness, {"workspace_id": WS_A, "wait": True})

    response = get(harness, "findings", "findings", workspace=WS_A)

    assert response.status_code == 200
    items = payload(response)["findings"]
    assert items
    assert {i["status"] for i in items} == {"open"}
    assert all(i["first_seen"] and i["last_seen"] for i in items)
    assert all(i["resolved_at"] is None for i in items)


def test_health_reports_token(harness: Harness) -> None:
    response = get(harness, "health", "health")

    assert response.status_code == 200
    body = payload(response)
    assert body["credential"]["token"] is True
    assert body["settings"]["scope_subscriptions"] == [SUBSCRIPTION]
    assert harness.credential.calls == 1


def test_health_token_failure(harness: Harness) -> None:
    class Broken:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise RuntimeError("no identity endpoint; secret=hunter2")

    harness.runtime.credential = Broken()

    response = get(harness, "health", "health")

    assert response.status_code == 503
    assert payload(response)["credential"] == {"token": False, "error": "RuntimeError"}
    assert b"hunter2" not in response.get_body()


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 400, "InvalidScope", "workspace_id"),
        (
            {"workspace_id": WS_A, "subscription_id": SUBSCRIPTION},
            400,
            "InvalidScope",
            "subscription_id",
        ),
        ({"workspace_id": WS_A, "extra": 1}, 400, "UnknownField", "extra"),
        ({"workspace_id": 42}, 400, "InvalidField", "workspace_id"),
        ({"workspace_id": GROUP}, 400, "InvalidResourceId", "workspace_id"),
        ({"workspace_id": f"{WS_A}/computes/c"}, 400, "InvalidResourceId", "workspace_id"),
        ({"resource_group_id": WS_A}, 400, "InvalidResourceId", "resource_group_id"),
        ({"subscription_id": "not-a-guid"}, 400, "InvalidResourceId", "subscription_id"),
        ({"workspace_id": WS_A, "dry_run": "true"}, 400, "InvalidField", "dry_run"),
        ({"workspace_id": WS_A, "wait": 1}, 400, "InvalidField", "wait"),
    ],
)
def test_invalid_bodies(
    harness: Harness, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = post(harness, body)

    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert error_of(response)["field"] == field


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "InvalidJson"),
        (b"{not json", "InvalidJson"),
        (b"[1, 2]", "InvalidJson"),
        (b"\xff\xfe", "InvalidJson"),
        (b'{"workspace_id": "\xff"}', "InvalidJson"),
    ],
)
def test_malformed_bodies(harness: Harness, raw: bytes, code: str) -> None:
    response = post(harness, raw)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert error_of(response)["field"] is None


def test_body_size_limit(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A, "padding": "x" * 70_000})

    assert response.status_code == 413
    assert error_of(response)["code"] == "PayloadTooLarge"


def test_wrong_content_type(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A}, **{"Content-Type": "text/plain"})

    assert response.status_code == 415


def test_outside_scope_forbidden(harness: Harness) -> None:
    foreign = WS_A.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)

    response = post(harness, {"workspace_id": foreign, "wait": True})

    assert response.status_code == 403
    assert error_of(response)["code"] == "OutsideScope"
    assert OTHER_SUBSCRIPTION in error_of(response)["message"]
    assert harness.arm.count() == 0


def test_findings_outside_scope(harness: Harness) -> None:
    foreign = WS_A.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)

    response = get(harness, "findings", "findings", workspace=foreign)

    assert response.status_code == 403
    assert error_of(response)["field"] == "workspace"


def test_unknown_workspace_404(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A.replace("ws-a", "ws-nope"), "wait": True})

    assert response.status_code == 404
    assert error_of(response)["field"] == "workspace_id"


def test_unknown_group_404(harness: Harness) -> None:
    response = post(
        harness, {"resource_group_id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/nope"}
    )

    assert response.status_code == 404
    assert error_of(response)["field"] == "resource_group_id"


@pytest.mark.parametrize("evaluation_id", ["not-hex", "a" * 31, "G" * 32])
def test_status_invalid_id(harness: Harness, evaluation_id: str) -> None:
    response = get(harness, "evaluation_status", evaluation_id)

    assert response.status_code == 400
    assert error_of(response)["field"] == "id"


def test_status_unknown_id(harness: Harness) -> None:
    response = get(harness, "evaluation_status", "0" * 32)

    assert response.status_code == 404


def test_findings_requires_workspace(harness: Harness) -> None:
    missing = get(harness, "findings", "findings")
    invalid = get(harness, "findings", "findings", workspace="ws-a")
    flag = get(harness, "findings", "findings", workspace=WS_A, include_resolved="maybe")

    assert error_of(missing)["field"] == "workspace"
    assert error_of(invalid)["field"] == "workspace"
    assert error_of(flag)["field"] == "include_resolved"


def test_validation_handshake_rejected(harness: Harness) -> None:
    event = {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": f"/subscriptions/{SUBSCRIPTION}",
        "subject": "",
        "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2018-01-25T22:12:19.4556811Z",
        "dataVersion": "1",
    }

    as_body = post(harness, [event])
    as_header = post(
        harness, {"workspace_id": WS_A}, **{"aeg-event-type": "SubscriptionValidation"}
    )

    for response in (as_body, as_header):
        assert response.status_code == 400
        assert error_of(response)["code"] == "WebhookHandshakeRejected"
        assert "validationResponse" not in response.get_body().decode()
    assert harness.receive() == []


def test_cloudevents_options_rejected(harness: Harness) -> None:
    request = func.HttpRequest(
        "OPTIONS",
        f"{BASE}/evaluations",
        headers={"WebHook-Request-Origin": "eventgrid.azure.net"},
        body=b"",
    )

    response = harness.user_function("evaluations")(request)

    assert response.status_code == 400
    assert error_of(response)["code"] == "WebhookHandshakeRejected"
    assert "WebHook-Allowed-Origin" not in response.headers


def test_wait_refuses_large_scope(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from remediators.functions import http

    monkeypatch.setattr(http, "MAX_WAIT_WORKSPACES", 2)

    response = post(harness, {"resource_group_id": GROUP, "wait": True})

    assert response.status_code == 400
    assert error_of(response)["field"] == "wait"


def test_wait_conflict_when_leased(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from remediators.functions import http

    monkeypatch.setattr(http, "LEASE_WAIT_SECONDS", 0)
    with harness.stores.locks.workspace_lease(WS_A):
        response = post(harness, {"workspace_id": WS_A, "wait": True})

    assert response.status_code == 409
    assert error_of(response)["code"] == "EvaluationRunning"


def test_non_utf8_body_named(harness: Harness) -> None:
    response = post(harness, b'{"workspace_id": "\xe9"}')

    assert response.status_code == 400
    assert "not UTF-8" in error_of(response)["message"]
    assert "not valid JSON" not in error_of(response)["message"]


def test_long_input_echo_cut(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="remediators"):
        response = post(harness, {"workspace_id": "x" * 60_000})

    assert response.status_code == 400
    assert len(response.get_body()) < 1_000
    assert "… (60002 characters)" in error_of(response)["message"]
    assert max(len(record.getMessage()) for record in caplog.records) < 1_000


def test_long_field_name_cut(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A, "y" * 10_000: 1})

    assert response.status_code == 400
    assert len(response.get_body()) < 1_000


def test_wait_status_dry_run_consistent(harness: Harness) -> None:
    for dry_run in (False, True):
        response = post(harness, {"workspace_id": WS_A, "wait": True, "dry_run": dry_run})
        status = payload(get(harness, "evaluation_status", payload(response)["evaluation_id"]))

        assert status["dry_run"] is dry_run
        assert status["workspaces"][0]["summary"]["dry_run"] is dry_run


def test_status_id_case_insensitive(harness: Harness) -> None:
    response = post(harness, {"workspace_id": WS_A, "wait": True})
    evaluation_id = payload(response)["evaluation_id"]

    status = get(harness, "evaluation_status", evaluation_id.upper())

    assert status.status_code == 200
    assert payload(status)["evaluation_id"] == evaluation_id


ACS_KEY = "S3cr3tAccessKey=="
ALL_HTTP_FUNCTIONS = (
    *HTTP_FUNCTIONS,
    "recreations",
    "approve_recreation",
    "reject_recreation",
)


def misconfigure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next runtime build fail: ACS_ENDPOINT holds a connection string."""
    monkeypatch.setenv("ACS_ENDPOINT", f"endpoint=https://acs.example.invalid/;accesskey={ACS_KEY}")
    monkeypatch.setenv("EMAIL_SENDER", "alerts@example.invalid")
    monkeypatch.setenv("EMAIL_RECIPIENTS", "ops@example.invalid")
    monkeypatch.setenv("REMEDIATOR_MODE", "loud")
    runtime.install(None)


def call(harness: Harness, name: str) -> func.HttpResponse:
    method = "POST" if name in ("evaluations", "approve_recreation", "reject_recreation") else "GET"
    route = {"id": "0" * 64} if "recreation" in name else {"id": "0" * 32}
    request = func.HttpRequest(
        method,
        f"{BASE}/{name}",
        headers={"Content-Type": "application/json"},
        route_params=route,
        body=b'{"by": "alice", "reason": "r"}',
    )
    return harness.user_function(name)(request)


def test_health_invalid_settings_503(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    misconfigure(monkeypatch)

    with caplog.at_level(logging.WARNING, logger="remediators"):
        response = get(harness, "health", "health")

    assert response.status_code == 503
    body = payload(response)
    assert body["error"]["code"] == "InvalidConfiguration"
    assert [p["setting"] for p in body["problems"]] == ["REMEDIATOR_MODE", "ACS_ENDPOINT"]
    assert "https://<resource>.communication.azure.com" in body["problems"][1]["problem"]
    assert ACS_KEY.encode() not in response.get_body()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "ACS_ENDPOINT, REMEDIATOR_MODE" in warning.getMessage()
    assert ACS_KEY not in warning.getMessage()


@pytest.mark.parametrize("name", ALL_HTTP_FUNCTIONS)
def test_every_route_invalid_settings_503(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    misconfigure(monkeypatch)

    response = call(harness, name)

    assert response.status_code == 503
    assert error_of(response)["code"] == "InvalidConfiguration"
    assert ACS_KEY.encode() not in response.get_body()


def test_conflict_names_approver() -> None:
    from remediators.actions.recreation import RecreationRecord
    from remediators.functions.http import conflict_message

    record = RecreationRecord(
        endpoint_id=f"{WS_A}/batchEndpoints/score",
        workspace_id=WS_A,
        reason="stale",
        approved_by="alice",
        decided_by="alice",
    )

    message = conflict_message("ab" * 32, record)

    assert "was already approved by alice" in message
    assert "Its current state is requested, waiting for the recreation queue" in message
    assert "and is requested" not in message


def test_conflict_names_rejecter() -> None:
    from remediators.actions.recreation import RecreationRecord
    from remediators.functions.http import conflict_message

    record = RecreationRecord(
        endpoint_id=f"{WS_A}/batchEndpoints/score",
        workspace_id=WS_A,
        reason="stale",
        state="rejected",
        decided_by="bob",
    )

    message = conflict_message("ab" * 32, record)

    assert "was already rejected by bob. Its current state is rejected;" in message
