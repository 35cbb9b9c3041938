from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from azure.storage.queue import QueueClient

from remediators.state import EvaluationQueue, EvaluationRequest, StorageClients
from remediators.state.queues import decode_body
from tests.state.conftest import WORKSPACE_ID

pytestmark = pytest.mark.azurite


@pytest.fixture
def queue(clients: StorageClients, unique_name: Callable[[str], str]) -> EvaluationQueue:
    evaluation_queue = EvaluationQueue(clients.queues, unique_name("eval-"))
    evaluation_queue.create_if_missing()
    return evaluation_queue


def raw_client(clients: StorageClients, name: str) -> QueueClient:
    return clients.queues.get_queue_client(name)


def test_message_is_base64_json(clients: StorageClients, queue: EvaluationQueue) -> None:
    request = EvaluationRequest(WORKSPACE_ID, "event", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    queue.enqueue(request)

    message = raw_client(clients, queue.name).receive_message()
    assert message is not None
    body = json.loads(base64.b64decode(message.content))
    assert body["workspace_id"] == WORKSPACE_ID
    assert EvaluationRequest.from_json(body) == request


def test_visibility_timeout_hides(clients: StorageClients, queue: EvaluationQueue) -> None:
    queue.enqueue({"workspace_id": WORKSPACE_ID}, visibility_timeout=30)
    assert raw_client(clients, queue.name).receive_message() is None
    assert queue.approximate_count() == 1


def test_oversized_request_rejected(queue: EvaluationQueue) -> None:
    with pytest.raises(ValueError, match="limit"):
        queue.enqueue({"workspace_id": WORKSPACE_ID, "event_ids": ["e" * 50_000]})


def test_invalid_visibility_rejected(queue: EvaluationQueue) -> None:
    with pytest.raises(ValueError, match="visibility timeout"):
        queue.enqueue({"workspace_id": WORKSPACE_ID}, visibility_timeout=-1)


def test_poison_name(queue: EvaluationQueue) -> None:
    assert queue.poison_name == queue.name + "-poison"


def test_poison_record(clients: StorageClients, queue: EvaluationQueue) -> None:
    # The Functions host moves a message to the poison queue with its content unchanged.
    poison = raw_client(clients, queue.poison_name)
    body = {"workspace_id": WORKSPACE_ID, "reason": "event"}
    poison.send_message(base64.b64encode(json.dumps(body).encode()).decode())
    poison.send_message("not base64 {")

    records = queue.peek_poison()

    assert len(records) == 2
    assert records[0].body == body
    assert records[0].inserted_on is not None
    assert records[1].body is None
    assert records[1].raw == "not base64 {"
    assert json.loads(json.dumps(records[0].to_json()))["body"] == body


def test_peek_poison_keeps_messages(queue: EvaluationQueue, clients: StorageClients) -> None:
    raw_client(clients, queue.poison_name).send_message("eyJhIjogMX0=")
    queue.peek_poison()
    assert len(queue.peek_poison()) == 1


def test_decode_body_non_ascii_is_none() -> None:
    assert decode_body("é-not-base64") is None
