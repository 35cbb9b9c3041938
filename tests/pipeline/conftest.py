"""The queue pipeline on Azurite and the fake ARM: an installed runtime and a harness.

The harness plays events through the registered Event Grid function, receives what was
enqueued and hands each message to the registered queue function, as the Functions host does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.core.credentials import AccessToken
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from fake_arm import FakeArm, FakeArmTransport
from remediators import runtime
from remediators.clients import AzureClients
from remediators.config import Settings
from remediators.dispatch import EventOrder, QueueDispatcher
from remediators.estate.live import LiveSource
from remediators.events import WRITE_SUCCESS
from remediators.service import EvaluationService, StateStores, service_for
from remediators.state import AuditRecord, StorageClients
from remediators.state.coalesce import Coalescer
from remediators.state.queues import EvaluationQueue
from tests.azurite import require_azurite
from tests.functions.conftest import functions_by_name
from tests.functions.estates import SUBSCRIPTION, build_estate

EVENT_FUNCTION = "resource_events"
QUEUE_FUNCTION = "evaluate_workspace"
POISON_FUNCTION = "evaluation_poison"
WINDOW_SECONDS = 30


class FakeCredential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken("fake-token", int(time.time()) + 3600)


class RecordingQueue(EvaluationQueue):
    """The evaluation queue, recording each requested delay and sending messages visible now.

    Azurite cannot list hidden messages, so the test reads each message at once and checks the
    delay the dispatcher asked for instead of waiting it out.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delays: list[int] = []

    def enqueue(self, request: Any, *, visibility_timeout: int = 0) -> str:
        self.delays.append(visibility_timeout)
        return super().enqueue(request, visibility_timeout=0)


@dataclass
class FakeContext:
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Received:
    id: str
    body: str
    dequeue_count: int


class Harness:
    """The installed runtime, its stores and the registered functions."""

    def __init__(
        self, arm: FakeArm, clients: StorageClients, namespace: str, settings: Settings
    ) -> None:
        self.arm = arm
        self.credential = FakeCredential()
        azure = AzureClients(
            self.credential, transport=FakeArmTransport(arm), polling_interval=0, retry_total=0
        )
        self.source = LiveSource(azure)
        self.stores = StateStores.from_clients(
            clients, window_seconds=settings.coalesce_seconds, namespace=namespace
        )
        self.queue = RecordingQueue(clients.queues, self.stores.queue.name)
        self.stores.queue = self.queue
        if settings.coalesce_seconds:
            self.stores.coalescer = Coalescer(
                clients.tables,
                self.queue,
                table_name=f"{namespace}coalesce",
                window_seconds=settings.coalesce_seconds,
            )
        self.dispatcher = QueueDispatcher(
            self.queue, self.stores.coalescer, settings.coalesce_seconds
        )
        self.runtime = runtime.Runtime(
            settings=settings,
            source=self.source,
            index=None,
            dispatcher=self.dispatcher,
            state=self.stores,
            ordering=EventOrder(self.stores.watermarks),
            credential=self.credential,
        )
        self._reader = QueueClient.from_connection_string(
            require_azurite(),
            self.stores.queue.name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )
        self.functions = functions_by_name()

    @property
    def service(self) -> EvaluationService:
        return service_for(self.runtime)

    def user_function(self, name: str) -> Any:
        return self.functions[name].get_user_function()

    def deliver(self, event: func.EventGridEvent) -> None:
        self.user_function(EVENT_FUNCTION)(event)

    def receive(self) -> list[Received]:
        """Receive and delete every visible message, as the host does after a run."""
        received: list[Received] = []
        while True:
            batch = list(self._reader.receive_messages(messages_per_page=32, max_messages=32))
            if not batch:
                return received
            for message in batch:
                received.append(Received(message.id, message.content, message.dequeue_count or 1))
                self._reader.delete_message(message)

    def run_queue_function(self, message: Received) -> None:
        # The worker passes azure.functions.queue.QueueMessage, which carries the dequeue count.
        queue_message = QueueMessage(
            id=message.id, body=message.body.encode("utf-8"), dequeue_count=message.dequeue_count
        )
        self.user_function(QUEUE_FUNCTION)(queue_message, FakeContext())

    def drain(self) -> int:
        """Run the queue function on every message until the queue is empty; return the count."""
        count = 0
        while messages := self.receive():
            for message in messages:
                self.run_queue_function(message)
                count += 1
        return count

    def evaluations(self, workspace_id: str) -> list[AuditRecord]:
        return [r for r in self.stores.audit.recent(workspace_id, 500) if r.kind == "evaluation"]


def write_event(
    resource_id: str,
    *,
    event_id: str | None = None,
    event_time: datetime | None = None,
    correlation_id: str | None = None,
) -> func.EventGridEvent:
    """Build the trigger's object for one ResourceWriteSuccess event on a system topic."""
    return func.EventGridEvent(
        id=event_id or str(uuid.uuid4()),
        data={
            "resourceUri": resource_id,
            "operationName": "Microsoft.MachineLearningServices/workspaces/write",
            "status": "Succeeded",
            "subscriptionId": SUBSCRIPTION,
            "correlationId": correlation_id or str(uuid.uuid4()),
        },
        topic=f"/subscriptions/{SUBSCRIPTION}",
        subject=resource_id,
        event_type=WRITE_SUCCESS,
        event_time=event_time or datetime.now(UTC),
        data_version="2",
    )


def times(count: int, start: datetime | None = None) -> list[datetime]:
    first = start or datetime.now(UTC) - timedelta(minutes=5)
    return [first + timedelta(milliseconds=index) for index in range(count)]


@pytest.fixture(scope="session")
def storage_clients() -> StorageClients:
    return StorageClients.from_connection_string(require_azurite())


@pytest.fixture
def arm() -> FakeArm:
    return FakeArm(build_estate().resources())


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "scope_subscriptions": (SUBSCRIPTION,),
        "coalesce_seconds": WINDOW_SECONDS,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def harness(arm: FakeArm, storage_clients: StorageClients) -> Iterator[Harness]:
    built = Harness(arm, storage_clients, f"t{uuid.uuid4().hex[:12]}", make_settings())
    runtime.install(built.runtime)
    yield built
    runtime.install(None)
