"""TeamsWebhook against a loopback receiver: delivery, retries, URL checks and secrecy.

The receiver helpers here are shared with test_alerts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from remediators.actions.cards import teams_message
from remediators.actions.teams import TeamsWebhook, WebhookUrlError, validate_webhook_url

# A path and query shaped like a real Workflows trigger URL; `SIGNATURE` must never be logged.
SIGNATURE = "Zm9vYmFyc2lnbmF0dXJlLXRlc3Qtb25seQ"
WEBHOOK_PATH = (
    "/workflows/4f1c0d7e9a8b4c2d/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIGNATURE}"
)


@dataclass
class Answer:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    """Records the JSON bodies it receives and responds with queued `Answer`s, then 202."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if self.answers else Answer()

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [body["attachments"][0]["content"] for body in self.bodies]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = self.rfile.read(length)
            answer = receiver.next_answer()
            if 200 <= answer.status < 300:
                with receiver.lock:
                    receiver.bodies.append(json.loads(payload))
                    receiver.paths.append(self.path)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(port: int = 0) -> Iterator[Receiver]:
    """Run a receiver on 127.0.0.1 at `port` (0: an ephemeral one) for the block."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{WEBHOOK_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """Return a loopback webhook URL on a port nothing listens on."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "hi"}]}


def webhook(url: str, **options: object) -> TeamsWebhook:
    values: dict[str, object] = {
        "allow_insecure_loopback": True,
        "timeout": 5.0,
        "backoff_factor": 0.0,
    }
    values.update(options)
    return TeamsWebhook(url, **values)  # type: ignore[arg-type]


def test_post_delivers_envelope() -> None:
    with running_receiver() as receiver:
        result = webhook(receiver.url).post_card(CARD)
    assert result.delivered
    assert result.status_code == 202
    assert receiver.bodies == [teams_message(CARD)]


def test_post_keeps_path_and_query() -> None:
    with running_receiver() as receiver:
        webhook(receiver.url).post_card(CARD)
    assert receiver.paths == [WEBHOOK_PATH]


def test_429_then_success_delivers_once() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(429, {"Retry-After": "1"}), Answer(200)]
        started = time.monotonic()
        result = webhook(receiver.url).post_card(CARD)
        elapsed = time.monotonic() - started
    assert result.delivered
    assert len(receiver.bodies) == 1
    assert elapsed >= 0.9


def test_429_retry_after_zero() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(429, {"Retry-After": "0"}), Answer(200)]
        result = webhook(receiver.url).post_card(CARD)
    assert result.delivered
    assert len(receiver.bodies) == 1


def test_503_retried_then_delivered() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(503), Answer(502)]
        result = webhook(receiver.url, max_attempts=3).post_card(CARD)
    assert result.delivered


def test_attempts_are_bounded() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(500)] * 5
        result = webhook(receiver.url, max_attempts=2).post_card(CARD)
        remaining = len(receiver.answers)
    assert not result.delivered
    assert result.status_code == 500
    assert remaining == 3


def test_retry_after_is_capped() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(429, {"Retry-After": "3600"})]
        started = time.monotonic()
        result = webhook(receiver.url, max_retry_after=0.2).post_card(CARD)
        elapsed = time.monotonic() - started
    assert result.delivered
    assert elapsed < 5


def test_bad_request_not_retried() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(400), Answer(400)]
        result = webhook(receiver.url, max_attempts=3).post_card(CARD)
        remaining = len(receiver.answers)
    assert not result.delivered
    assert result.error == "HTTP 400"
    assert remaining == 1


def test_receiver_down_returns_failure() -> None:
    result = webhook(closed_port_url(), max_attempts=2).post_card(CARD)
    assert not result.delivered
    assert result.status_code is None
    assert result.error == "ServiceRequestError"


def test_http_url_rejected_by_default() -> None:
    with pytest.raises(WebhookUrlError, match="must be https"):
        TeamsWebhook(f"http://127.0.0.1:9{WEBHOOK_PATH}")


def test_http_non_loopback_rejected() -> None:
    with pytest.raises(WebhookUrlError, match="must be https"):
        validate_webhook_url(f"http://flow.example.com{WEBHOOK_PATH}", allow_insecure_loopback=True)


def test_url_without_host_rejected() -> None:
    with pytest.raises(WebhookUrlError, match="has no host"):
        validate_webhook_url("https:///workflows/x")


def test_https_url_accepted() -> None:
    url = f"https://prod-01.westeurope.logic.azure.com{WEBHOOK_PATH}"
    assert validate_webhook_url(url) == url


def test_url_error_hides_signature() -> None:
    with pytest.raises(WebhookUrlError) as caught:
        TeamsWebhook(f"http://flow.example.com{WEBHOOK_PATH}")
    assert SIGNATURE not in str(caught.value)
    assert WEBHOOK_PATH not in str(caught.value)


def test_repr_hides_url() -> None:
    hook = TeamsWebhook(f"https://prod-01.westeurope.logic.azure.com{WEBHOOK_PATH}")
    assert SIGNATURE not in repr(hook)
    assert "workflows" not in repr(hook)
    assert "prod-01.westeurope.logic.azure.com" in repr(hook)


def test_max_attempts_validated() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TeamsWebhook(f"https://prod-01.westeurope.logic.azure.com{WEBHOOK_PATH}", max_attempts=0)


def test_no_log_contains_secret(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger().setLevel(logging.DEBUG)
        with running_receiver() as receiver:
            receiver.answers = [Answer(429, {"Retry-After": "0"}), Answer(500)]
            webhook(receiver.url, max_attempts=3).post_card(CARD)
        webhook(closed_port_url(), max_attempts=2).post_card(CARD)
    for record in caplog.records:
        line = record.getMessage()
        assert SIGNATURE not in line
        assert "/workflows/" not in line
