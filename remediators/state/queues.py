"""The evaluation request queue and its poison queue.

Messages are JSON, base64-encoded on the wire: the Functions queue trigger (Storage extension
5.x) decodes base64 by default (host.json `extensions.queues.messageEncoding`, default
`base64`). After `maxDequeueCount` failed runs (default 5) the host moves a message to the
queue named `<queue>-poison`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import (
    QueueClient,
    QueueServiceClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)

from remediators.state._common import as_utc, iso, parse_iso, utc_now

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "evaluation-requests"
# Batch endpoint recreation requests, one message per run of a request.
RECREATION_QUEUE = "recreation-requests"
POISON_SUFFIX = "-poison"
# A queue message may be at most 64 KiB, and base64 turns 3 bytes into 4 characters.
MAX_JSON_BYTES = 64 * 1024 * 3 // 4
# Queue storage accepts a visibility timeout of at most 7 days.
MAX_VISIBILITY_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class EvaluationRequest:
    """A request to evaluate one workspace, as carried on the evaluation queue."""

    workspace_id: str
    reason: str
    requested_at: datetime = field(default_factory=utc_now)
    # End of the coalescing window that enqueued the request, if one did.
    window_end: datetime | None = None
    event_ids: tuple[str, ...] = ()
    correlation_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "reason": self.reason,
            "requested_at": iso(self.requested_at),
            "window_end": iso(self.window_end) if self.window_end else None,
            "event_ids": list(self.event_ids),
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvaluationRequest:
        """Parse a queue message body; KeyError or ValueError name what is invalid."""
        window_end = data.get("window_end")
        return cls(
            workspace_id=str(data["workspace_id"]),
            reason=str(data.get("reason") or ""),
            requested_at=parse_iso(data["requested_at"]),
            window_end=parse_iso(window_end) if window_end else None,
            event_ids=tuple(str(event_id) for event_id in data.get("event_ids") or ()),
            correlation_id=data.get("correlation_id"),
        )


@dataclass(frozen=True)
class PoisonRecord:
    """One message in a poison queue, decoded for an operator."""

    message_id: str
    inserted_on: datetime | None
    dequeue_count: int | None
    # The parsed JSON body, or None when the body is not base64-encoded JSON.
    body: dict[str, Any] | None
    raw: str

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "inserted_on": iso(self.inserted_on) if self.inserted_on else None,
            "dequeue_count": self.dequeue_count,
            "body": self.body,
            "raw": self.raw,
        }


class EvaluationQueue:
    """Send evaluation requests to a Storage queue that a queue-triggered function reads."""

    def __init__(self, service: QueueServiceClient, name: str = DEFAULT_QUEUE) -> None:
        self.name = name
        self.poison_name = name + POISON_SUFFIX
        self._queue: QueueClient = service.get_queue_client(
            name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )
        # Poison messages are read raw, because a message that failed may not be base64.
        self._poison: QueueClient = service.get_queue_client(self.poison_name)

    def create_if_missing(self) -> None:
        """Create the queue and its poison queue; existing queues are left as they are."""
        for client in (self._queue, self._poison):
            with contextlib.suppress(ResourceExistsError):
                client.create_queue()

    def enqueue(
        self,
        request: EvaluationRequest | Mapping[str, Any],
        *,
        visibility_timeout: int = 0,
    ) -> str:
        """Send `request`, hidden for `visibility_timeout` seconds; return the message id.

        Raises ValueError when the JSON body exceeds the 64 KiB message limit after base64,
        or when the timeout is outside 0 to 7 days.
        """
        body = request.to_json() if isinstance(request, EvaluationRequest) else dict(request)
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        size = len(text.encode("utf-8"))
        if size > MAX_JSON_BYTES:
            raise ValueError(
                f"evaluation request for {body.get('workspace_id')!r} is {size} bytes of JSON, "
                f"over the {MAX_JSON_BYTES}-byte limit of a base64 queue message; "
                "send fewer event ids"
            )
        if not 0 <= visibility_timeout <= MAX_VISIBILITY_SECONDS:
            raise ValueError(
                f"invalid visibility timeout {visibility_timeout} s; use 0 to "
                f"{MAX_VISIBILITY_SECONDS} s"
            )
        message = self._queue.send_message(text, visibility_timeout=visibility_timeout or None)
        logger.info(
            "Queued evaluation request",
            extra={
                "queue": self.name,
                "message_id": message.id,
                "workspace_id": body.get("workspace_id"),
                "visibility_timeout": visibility_timeout,
            },
        )
        return str(message.id)

    def approximate_count(self) -> int:
        """Return the approximate number of messages, hidden ones included."""
        return int(self._queue.get_queue_properties().approximate_message_count or 0)

    def peek_poison(self, max_messages: int = 32) -> list[PoisonRecord]:
        """Return up to `max_messages` (1 to 32) poison messages without removing them."""
        messages = self._poison.peek_messages(max_messages=max_messages)
        return [
            PoisonRecord(
                message_id=str(message.id),
                inserted_on=as_utc(message.inserted_on) if message.inserted_on else None,
                dequeue_count=message.dequeue_count,
                body=decode_body(str(message.content)),
                raw=str(message.content),
            )
            for message in messages
        ]


def decode_body(raw: str) -> dict[str, Any] | None:
    """Decode a base64 JSON message body; return None when it is not one."""
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8")
        body = json.loads(text)
    except ValueError:
        # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors, and so is
        # the error b64decode raises for a string with non-ASCII characters.
        return None
    return body if isinstance(body, dict) else None
