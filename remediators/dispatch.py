"""Queue dispatch: coalesce evaluation requests per workspace and drop stale events.

`QueueDispatcher` implements the `Dispatcher` protocol of `remediators.pipeline` on the Storage
evaluation queue. The first request for a workspace in a coalescing window takes the
workspace's marker in Table storage and enqueues one message, hidden until the window ends;
every later request of that window only finds the marker. The queue-triggered evaluator
releases the marker when it starts, so changes made during an evaluation open a new window.

`EventOrder` drops an event that is not newer than the last event processed for its resource,
because Event Grid delivers at least once and in no fixed order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from remediators.events import Ignored, Normalised, ResourceChange
from remediators.pipeline import EvaluationRequest
from remediators.state._common import iso
from remediators.state.coalesce import Coalescer
from remediators.state.queues import EvaluationQueue
from remediators.state.watermarks import Watermarks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dispatched:
    """The outcome of dispatching one request: an enqueued message or a joined window."""

    workspace_id: str
    enqueued: bool
    message_id: str | None = None
    window_end: datetime | None = None


class QueueDispatcher:
    """Enqueue at most one evaluation per workspace per coalescing window.

    With `window_seconds` 0 coalescing is off: every request is enqueued, visible at once.
    """

    def __init__(
        self, queue: EvaluationQueue, coalescer: Coalescer | None, window_seconds: int
    ) -> None:
        if window_seconds > 0 and coalescer is None:
            raise ValueError(
                f"a coalescing window of {window_seconds} s needs a Coalescer; "
                "pass one, or set the window to 0 to enqueue every request"
            )
        self.queue = queue
        self.coalescer = coalescer if window_seconds > 0 else None
        self.window_seconds = window_seconds
        self.history: list[Dispatched] = []

    def dispatch(self, requests: Sequence[EvaluationRequest]) -> None:
        for request in requests:
            self.history.append(self.submit(request))

    def submit(self, request: EvaluationRequest) -> Dispatched:
        """Coalesce and enqueue one request; storage errors propagate so the trigger retries."""
        if self.coalescer is None:
            message_id = self.queue.enqueue(message_body(request))
            return Dispatched(request.workspace_id, True, message_id)
        result = self.coalescer.request(
            request.workspace_id, request.reason, event_ids=request.event_ids
        )
        if not result.enqueued:
            logger.debug(
                "Joined the coalescing window of %s",
                request.workspace_id,
                extra={
                    "workspace_id": request.workspace_id,
                    "window_end": result.window_end.isoformat(),
                },
            )
        return Dispatched(
            request.workspace_id, result.enqueued, result.message_id, result.window_end
        )

    def enqueue_now(
        self, request: EvaluationRequest, *, evaluation_id: str, delay_seconds: int = 0
    ) -> str:
        """Enqueue `request` outside coalescing, tagged with `evaluation_id`; return the id.

        Manual re-evaluations use this path, so their status record is always completed by
        exactly the evaluation they asked for.
        """
        body = message_body(request, evaluation_id=evaluation_id)
        return self.queue.enqueue(body, visibility_timeout=delay_seconds)


def message_body(
    request: EvaluationRequest,
    *,
    evaluation_id: str | None = None,
    window_end: datetime | None = None,
) -> dict[str, Any]:
    """Build the queue message of `request` in the state layer's evaluation request format.

    `dry_run` and `evaluation_id` are extra keys that the evaluator reads and the state
    layer's parser ignores.
    """
    body: dict[str, Any] = {
        "workspace_id": request.workspace_id,
        "reason": request.reason,
        "requested_at": iso(request.requested_at),
        "window_end": iso(window_end) if window_end else None,
        "event_ids": list(request.event_ids),
        "correlation_id": None,
        "dry_run": request.dry_run,
    }
    if evaluation_id is not None:
        body["evaluation_id"] = evaluation_id
    return body


class EventOrder:
    """Drop events that are not newer than the last one processed for the same resource.

    `admit` runs before routing and compares each event with its resource's watermark.
    `commit` runs after the requests were dispatched and moves the watermarks forward, so a
    delivery whose dispatch failed is redelivered by Event Grid and admitted again.
    """

    def __init__(self, watermarks: Watermarks) -> None:
        self.watermarks = watermarks

    def admit(self, items: Iterable[Normalised]) -> list[Normalised]:
        """Return `items` with every stale change replaced by an `Ignored` value."""
        admitted: list[Normalised] = []
        for item in items:
            if isinstance(item, ResourceChange):
                stale = self._stale_reason(item)
                if stale is not None:
                    admitted.append(Ignored(item.event_id, stale, item.resource_id))
                    continue
            admitted.append(item)
        return admitted

    def commit(self, items: Iterable[Normalised]) -> None:
        """Advance the watermark of every admitted change to its event time."""
        for item in items:
            if isinstance(item, ResourceChange):
                self.watermarks.accept(item.resource_id, item.event_time, item.event_id)

    def _stale_reason(self, change: ResourceChange) -> str | None:
        watermark = self.watermarks.get(change.resource_id)
        if watermark is None:
            return None
        # NOTE: an event at exactly the watermark's time is dropped too. It is either a
        # redelivery or a change made in the same instant as one already evaluated later.
        if iso(change.event_time) <= watermark:
            return (
                f"event time {iso(change.event_time)} is not newer than the last event "
                f"processed for the resource ({watermark})"
            )
        return None
