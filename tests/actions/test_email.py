"""EmailSender against a transport-level stand-in for Azure Communication Services Email."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

from remediators.actions.email import EmailSender, render_html, render_text
from remediators.actions.messages import ActionContext, AlertContent, AlertKind, alert_content
from remediators.findings import make_finding

ACS_HOST = "contoso.unitedstates.communication.azure.com"
ENDPOINT = f"https://{ACS_HOST}"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.MachineLearningServices/workspaces/ws-batch"
)
STORAGE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.Storage/storageAccounts/sabatch"
)


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)


@dataclass
class FakeCommunicationServices(HttpTransport):
    """Responds to POST /emails:send with 202 + Operation-Location, then the status GETs.

    `statuses` are the operation statuses returned by successive GETs (the last repeats).
    `send_status` replaces the 202 of the send POST; `refuse` raises a connection error.
    """

    statuses: list[str] = field(default_factory=lambda: ["Running", "Succeeded"])
    send_status: int = 202
    refuse: bool = False
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    def __enter__(self) -> FakeCommunicationServices:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def sleep(self, duration: float) -> None:
        pass

    def send(self, request: Any, **kwargs: Any) -> Any:
        url = str(request.url)
        parts = urlsplit(url)
        assert parts.scheme == "https", f"not https: {url}"
        assert parts.hostname == ACS_HOST, f"foreign host {url}"
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, parts.path, body))
        if self.refuse:
            raise ServiceRequestError("connection refused by the stand-in")
        if request.method == "POST" and parts.path == "/emails:send":
            if self.send_status != 202:
                error = {"error": {"code": "BadRequest", "message": "rejected by the stand-in"}}
                return _response(request, self.send_status, error)
            location = f"{ENDPOINT}/emails/operations/op-1?api-version=2025-09-01"
            return _response(
                request, 202, {"id": "op-1", "status": "Running"}, {"Operation-Location": location}
            )
        if request.method == "GET" and parts.path == "/emails/operations/op-1":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            answer: dict[str, Any] = {"id": "op-1", "status": status}
            if status == "Failed":
                answer["error"] = {"code": "EmailDroppedAllRecipientsSuppressed", "message": "x"}
            return _response(request, 200, answer)
        return _response(request, 404, {"error": {"code": "NotFound", "message": parts.path}})


def _response(
    request: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> RestRequestsTransportResponse:
    content = json.dumps(body).encode()
    all_headers = CaseInsensitiveDict(headers or {})
    all_headers["Content-Type"] = "application/json"
    all_headers["Content-Length"] = str(len(content))
    internal = requests.Response()
    internal.status_code = status
    internal.reason = "Accepted" if status == 202 else "OK" if status == 200 else "Error"
    internal.url = str(request.url)
    internal.headers = all_headers
    internal.encoding = "utf-8"
    internal.raw = HTTPResponse(
        body=io.BytesIO(content), headers=dict(all_headers), status=status, preload_content=False
    )
    response = RestRequestsTransportResponse(request=request, internal_response=internal)
    response.read()
    return response


def sender(transport: FakeCommunicationServices, **options: Any) -> EmailSender:
    values: dict[str, Any] = {
        "sender": "DoNotReply@alerts.example.com",
        "recipients": ["platform@example.com", "ml-ops@example.com"],
        "polling_interval": 0,
        "transport": transport,
    }
    values.update(options)
    return EmailSender(ENDPOINT, FakeCredential(), **values)


def content(message: str = "No Approved private endpoint for group 'queue'.") -> AlertContent:
    finding = make_finding(
        "storage.private-endpoint", STORAGE, WORKSPACE, message, group_id="queue"
    )
    return alert_content(
        AlertKind.NEW, WORKSPACE, [finding], context=ActionContext(), evaluated_at=NOW
    )


def test_send_delivers() -> None:
    transport = FakeCommunicationServices()
    result = sender(transport).send(content())
    assert result.delivered
    assert result.channel == "email"


def test_send_polls_until_succeeded() -> None:
    transport = FakeCommunicationServices(statuses=["Running", "Running", "Succeeded"])
    sender(transport).send(content())
    methods = [(method, path) for method, path, _ in transport.requests]
    assert methods[0] == ("POST", "/emails:send")
    assert methods.count(("GET", "/emails/operations/op-1")) >= 2


def test_send_body_addresses_recipients() -> None:
    transport = FakeCommunicationServices()
    sender(transport).send(content())
    body = transport.requests[0][2]
    assert body is not None
    assert body["senderAddress"] == "DoNotReply@alerts.example.com"
    assert body["recipients"]["to"] == [
        {"address": "platform@example.com"},
        {"address": "ml-ops@example.com"},
    ]
    assert "1 finding new in workspace ws-batch" in body["content"]["subject"]


def test_html_and_text_share_content() -> None:
    alert = content()
    text = render_text(alert)
    page = render_html(alert)
    view = alert.findings[0]
    for value in (view.rule, view.what, view.why, view.docs, view.action, view.resource_id):
        assert value in text
        assert value.replace("'", "&#x27;") in page


def test_html_escapes_values() -> None:
    page = render_html(content("<script>alert(1)</script>"))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_failed_status_not_delivered() -> None:
    transport = FakeCommunicationServices(statuses=["Failed"])
    result = sender(transport).send(content())
    assert not result.delivered
    assert result.error == "HttpResponseError"


def test_rejected_send_reports_status() -> None:
    transport = FakeCommunicationServices(send_status=400)
    result = sender(transport).send(content())
    assert not result.delivered
    assert result.status_code == 400


def test_unreachable_service_not_delivered() -> None:
    transport = FakeCommunicationServices(refuse=True)
    result = sender(transport, retry_total=0).send(content())
    assert not result.delivered
    assert result.error == "ServiceRequestError"


def test_recipients_required() -> None:
    with pytest.raises(ValueError, match="no email recipients"):
        sender(FakeCommunicationServices(), recipients=[" "])


def test_recipient_address_checked() -> None:
    with pytest.raises(ValueError, match="invalid email recipient 'platform'"):
        sender(FakeCommunicationServices(), recipients=["platform"])


def test_resolved_text_omits_fix() -> None:
    finding = make_finding("storage.private-endpoint", STORAGE, WORKSPACE, "gone", group_id="queue")
    alert = alert_content(
        AlertKind.RESOLVED, WORKSPACE, [finding], context=ActionContext(), evaluated_at=NOW
    )
    assert "Fix:" not in render_text(alert)
