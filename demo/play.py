"""Play events through the registered functions, as the Functions host would.

`DemoPipeline` installs a runtime over the fake ARM and Azurite, delivers each sample event to
the Event Grid function and reports what became of it. It then receives the evaluation
queue's messages and hands each one to the queue-triggered function.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.core.credentials import AccessToken
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from fake_arm import FakeArm, FakeArmTransport
from remediators import runtime
from remediators.clients import AzureClients
from remediators.config import Settings
from remediators.dispatch import Dispatched, EventOrder, QueueDispatcher
from remediators.estate.live import LiveSource
from remediators.events import Ignored, Normalised, ResourceChange
from remediators.service import REQUEUE_DELAY_SECONDS, StateStores
from remediators.state import AuditRecord, StorageClients

EVENT_FUNCTION = "resource_events"
QUEUE_FUNCTION = "evaluate_workspace"
# A requeued message stays hidden for REQUEUE_DELAY_SECONDS, so the drain allows one requeue
# plus this slack before it times out.
DRAIN_SLACK_SECONDS = 15
POLL_SECONDS = 0.25


class FakeCredential:
    """A credential that returns a fixed token, so no identity endpoint is ever contacted."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("demo-token", int(time.time()) + 3600)


@dataclass
class FakeContext:
    """The part of `azure.functions.Context` the queue function reads."""

    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class RecordingOrder(EventOrder):
    """Event ordering that also keeps the changes it dropped as stale."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dropped: list[Ignored] = []

    def admit(self, items: Iterable[Normalised]) -> list[Normalised]:
        incoming = list(items)
        admitted = super().admit(incoming)
        for before, after in zip(incoming, admitted, strict=True):
            if isinstance(before, ResourceChange) and isinstance(after, Ignored):
                self.dropped.append(after)
        return admitted


@dataclass(frozen=True)
class Skip:
    """An ignored or rejected event, as the pipeline logged it."""

    event_id: str | None
    rejected: bool
    reason: str


class SkipRecorder(logging.Handler):
    """Collect the pipeline's log records about ignored and rejected events."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.skips: list[Skip] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Ignored event", "Rejected event")):
            return
        reason = message.split(": ", 1)[1] if ": " in message else message
        event_id = getattr(record, "event_id", None)
        self.skips.append(Skip(event_id, message.startswith("Rejected"), reason))


@dataclass
class EventOutcome:
    """The outcome of one delivered event."""

    file: str
    event_type: str
    dispatched: list[Dispatched]
    skips: list[Skip]
    dropped: list[Ignored]


@dataclass
class EvaluationRun:
    """One queue message handed to the queue function, with the audit record it wrote."""

    message_id: str
    workspace_id: str
    record: AuditRecord | None


def trigger_event(event: dict[str, Any]) -> func.EventGridEvent:
    """Build the object the Python worker passes to an Event Grid trigger for `event`.

    For CloudEvents deliveries the worker fills only `id` and `data`. For the Event Grid
    schema it passes the envelope, the event time included.
    """
    if "specversion" in event:
        return func.EventGridEvent(
            id=event.get("id"),  # type: ignore[arg-type]
            data=event.get("data"),  # type: ignore[arg-type]
            topic=None,  # type: ignore[arg-type]
            subject=None,  # type: ignore[arg-type]
            event_type=None,  # type: ignore[arg-type]
            event_time=None,
            data_version=None,  # type: ignore[arg-type]
        )
    return func.EventGridEvent(
        id=event.get("id"),  # type: ignore[arg-type]
        data=event.get("data"),  # type: ignore[arg-type]
        topic=event.get("topic"),  # type: ignore[arg-type]
        subject=event.get("subject"),  # type: ignore[arg-type]
        event_type=event.get("eventType"),  # type: ignore[arg-type]
        event_time=parse_event_time(event.get("eventTime")),
        data_version=event.get("dataVersion"),  # type: ignore[arg-type]
    )


def parse_event_time(value: object) -> datetime | None:
    """Parse an Event Grid `eventTime`, whose fraction may have 7 digits, into UTC."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(.+?T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", value)
    if match is None:
        return None
    base, fraction, zone = match.groups()
    fraction = (fraction or ".0")[:7]
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(base + fraction + zone).astimezone(UTC)


def delivery_events(path: Path) -> list[dict[str, Any]]:
    """Return the events of one delivery file: a single event or an array of them."""
    delivery = json.loads(path.read_text(encoding="utf-8"))
    return delivery if isinstance(delivery, list) else [delivery]


def registered_functions() -> dict[str, Any]:
    """Return the app's functions by name. `get_functions()` may run only once per process."""
    from function_app import app

    # get_functions() logs a warning about HTTP auth levels through the root logger, which
    # applies to the HTTP functions only.
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.ERROR)
    try:
        return {str(f.get_function_name()): f for f in app.get_functions()}
    finally:
        root.setLevel(root_level)


class DemoPipeline:
    """The installed runtime over the fake ARM and Azurite, and the registered functions."""

    def __init__(
        self,
        arm: FakeArm,
        storage: StorageClients,
        *,
        namespace: str,
        subscription: str,
        window_seconds: int,
    ) -> None:
        self.arm = arm
        self.storage = storage
        self.namespace = namespace
        self.window_seconds = window_seconds
        credential = FakeCredential()
        clients = AzureClients(
            credential, transport=FakeArmTransport(arm), polling_interval=0, retry_total=0
        )
        self.settings = Settings(
            scope_subscriptions=(subscription,), dry_run=False, coalesce_seconds=window_seconds
        )
        self.stores = StateStores.from_clients(
            storage, window_seconds=window_seconds, namespace=namespace
        )
        self.dispatcher = QueueDispatcher(self.stores.queue, self.stores.coalescer, window_seconds)
        self.order = RecordingOrder(self.stores.watermarks)
        self.runtime = runtime.Runtime(
            settings=self.settings,
            source=LiveSource(clients),
            index=None,
            dispatcher=self.dispatcher,
            state=self.stores,
            ordering=self.order,
            credential=credential,
        )
        self.functions = registered_functions()
        self.recorder = SkipRecorder()
        self._reader: QueueClient = storage.queues.get_queue_client(
            self.stores.queue.name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    @contextmanager
    def installed(self) -> Iterator[DemoPipeline]:
        """Install the runtime for the trigger functions, and remove it afterwards."""
        # The pipeline logs each finding of an evaluation, and the demo prints its own summary,
        # so the pipeline's records go only to the recorder while the runtime is installed.
        pipeline_logger = logging.getLogger("remediators.pipeline")
        previous_level = pipeline_logger.level
        pipeline_logger.addHandler(self.recorder)
        pipeline_logger.setLevel(logging.DEBUG)
        pipeline_logger.propagate = False
        runtime.install(self.runtime)
        try:
            yield self
        finally:
            runtime.install(None)
            pipeline_logger.removeHandler(self.recorder)
            pipeline_logger.setLevel(previous_level)
            pipeline_logger.propagate = True

    def play(self, paths: Iterable[Path]) -> Iterator[EventOutcome]:
        """Deliver every event of `paths` to the Event Grid function, yielding each outcome."""
        trigger = self.functions[EVENT_FUNCTION].get_user_function()
        skips = self.recorder.skips
        for path in paths:
            for event in delivery_events(path):
                dispatched = len(self.dispatcher.history)
                skipped = len(skips)
                dropped = len(self.order.dropped)
                trigger(trigger_event(event))
                stale = self.order.dropped[dropped:]
                stale_ids = {item.event_id for item in stale}
                yield EventOutcome(
                    file=path.name,
                    event_type=str(event.get("eventType") or event.get("type") or "?"),
                    dispatched=self.dispatcher.history[dispatched:],
                    skips=[s for s in skips[skipped:] if s.event_id not in stale_ids],
                    dropped=stale,
                )

    def drain(self) -> Iterator[EvaluationRun]:
        """Run the queue function on each message until the queue is empty, hidden ones too.

        Messages stay hidden until their coalescing window ends, so this waits for them. It
        raises TimeoutError when messages are still queued well after the last window ended.
        """
        trigger = self.functions[QUEUE_FUNCTION].get_user_function()
        deadline = time.monotonic() + self.window_seconds + REQUEUE_DELAY_SECONDS
        deadline += DRAIN_SLACK_SECONDS
        while self.stores.queue.approximate_count() > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"queue {self.stores.queue.name} still holds messages "
                    f"{self.window_seconds + REQUEUE_DELAY_SECONDS + DRAIN_SLACK_SECONDS} s "
                    "after the demo's events; check the Azurite log in .azurite/azurite.log"
                )
            batch = list(self._reader.receive_messages(messages_per_page=32, max_messages=32))
            if not batch:
                time.sleep(POLL_SECONDS)
                continue
            for message in batch:
                yield self._run(trigger, message)

    def _run(self, trigger: Any, message: Any) -> EvaluationRun:
        body = str(message.content)
        # The worker passes azure.functions.queue.QueueMessage, which carries the dequeue count.
        queue_message = QueueMessage(
            id=message.id, body=body.encode("utf-8"), dequeue_count=message.dequeue_count or 1
        )
        trigger(queue_message, FakeContext())
        # The host deletes a message once the function returned without an error.
        self._reader.delete_message(message)
        workspace_id = str(json.loads(body).get("workspace_id", ""))
        return EvaluationRun(str(message.id), workspace_id, self.last_evaluation(workspace_id))

    def last_evaluation(self, workspace_id: str) -> AuditRecord | None:
        for record in self.stores.audit.recent(workspace_id, 50):
            if record.kind == "evaluation":
                return record
        return None

    def evaluation_count(self, workspace_id: str) -> int:
        """Return how many evaluation audit records this run's audit table holds for W."""
        records = self.stores.audit.recent(workspace_id, 500)
        return sum(record.kind == "evaluation" for record in records)

    def delete_state(self) -> int:
        """Delete the tables, queues and containers of this run's namespace; return the count."""
        deleted = 0
        for table in list(self.storage.tables.list_tables()):
            if table.name.startswith(self.namespace):
                self.storage.tables.delete_table(table.name)
                deleted += 1
        for queue in list(self.storage.queues.list_queues(name_starts_with=self.namespace)):
            self.storage.queues.delete_queue(queue.name)
            deleted += 1
        for container in list(self.storage.blobs.list_containers(name_starts_with=self.namespace)):
            self.storage.blobs.delete_container(container.name)
            deleted += 1
        return deleted
