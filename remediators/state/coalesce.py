"""Coalesce a storm of events into one evaluation per workspace per window.

The first caller in a window inserts a marker entity for the workspace (create fails with a
conflict for everyone else) and then enqueues one evaluation request, hidden until the window
ends. A marker whose window has ended is taken over with an update conditioned on its ETag, so
when several instances race on the same expired marker exactly one update succeeds and only
that instance enqueues.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from remediators.estate.models import norm_id
from remediators.state._common import as_utc, open_table, utc_now
from remediators.state.keys import resource_key
from remediators.state.queues import EvaluationQueue, EvaluationRequest

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "coalesce"
DEFAULT_WINDOW_SECONDS = 30
_MARKER_ROW = "marker"
# A marker can vanish between a failed create and the read that follows, when an evaluator
# releases it; the loop then tries again. Three rounds cover one release per round.
_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class CoalesceResult:
    """Outcome of one `Coalescer.request` call: whether it enqueued, and the window end."""

    enqueued: bool
    window_end: datetime
    message_id: str | None = None


class Coalescer:
    """Enqueue at most one evaluation request per workspace per coalescing window."""

    def __init__(
        self,
        tables: TableServiceClient,
        queue: EvaluationQueue,
        *,
        table_name: str = DEFAULT_TABLE,
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        if window_seconds < 1:
            raise ValueError(f"invalid coalescing window {window_seconds} s; use at least 1 s")
        self._table: TableClient = open_table(tables, table_name)
        self._queue = queue
        self.window = timedelta(seconds=window_seconds)

    def request(
        self,
        workspace_id: str,
        reason: str,
        *,
        event_ids: tuple[str, ...] = (),
        now: datetime | None = None,
    ) -> CoalesceResult:
        """Enqueue an evaluation of `workspace_id` unless this window already has one."""
        now = as_utc(now) if now else utc_now()
        key = resource_key(workspace_id)
        for _ in range(_MAX_ATTEMPTS):
            window_end = now + self.window
            marker = {
                "PartitionKey": key,
                "RowKey": _MARKER_ROW,
                "workspace_id": norm_id(workspace_id),
                "window_end": window_end,
                "created_at": now,
            }
            try:
                self._table.create_entity(marker)
            except ResourceExistsError:
                pass
            else:
                return self._enqueue(workspace_id, reason, event_ids, now, window_end, key)

            try:
                existing = self._table.get_entity(key, _MARKER_ROW)
            except ResourceNotFoundError:
                continue  # released between the create and the read: create again
            existing_end = as_utc(existing["window_end"])
            if existing_end > now:
                logger.debug(
                    "Evaluation already queued for this window",
                    extra={"workspace_id": workspace_id, "window_end": existing_end.isoformat()},
                )
                return CoalesceResult(enqueued=False, window_end=existing_end)

            try:
                self._table.update_entity(
                    marker,
                    mode=UpdateMode.REPLACE,
                    etag=existing.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                # Another instance took over the expired marker first, so it enqueues.
                current = self._table.get_entity(key, _MARKER_ROW)
                return CoalesceResult(enqueued=False, window_end=as_utc(current["window_end"]))
            except ResourceNotFoundError:
                continue
            return self._enqueue(workspace_id, reason, event_ids, now, window_end, key)

        raise RuntimeError(
            f"coalescing marker for workspace {workspace_id!r} changed {_MAX_ATTEMPTS} times "
            "while it was being written; retry the event"
        )

    def release(self, workspace_id: str, window_end: datetime) -> bool:
        """Delete the marker of the window that `window_end` names; return whether it did.

        The evaluator calls this once the evaluation starts, so events that arrive during it
        open a new window. A marker of a later window is left alone.
        """
        key = resource_key(workspace_id)
        try:
            existing = self._table.get_entity(key, _MARKER_ROW)
        except ResourceNotFoundError:
            return False
        if as_utc(existing["window_end"]) != as_utc(window_end):
            return False
        try:
            self._table.delete_entity(
                key,
                _MARKER_ROW,
                etag=existing.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return False
        return True

    def _enqueue(
        self,
        workspace_id: str,
        reason: str,
        event_ids: tuple[str, ...],
        now: datetime,
        window_end: datetime,
        key: str,
    ) -> CoalesceResult:
        request = EvaluationRequest(
            workspace_id=workspace_id,
            reason=reason,
            requested_at=now,
            window_end=window_end,
            event_ids=event_ids,
        )
        try:
            message_id = self._queue.enqueue(
                request, visibility_timeout=int(self.window.total_seconds())
            )
        except Exception:
            # Without the message, the marker would suppress evaluations until the window
            # ends. Remove it so the retried event (Event Grid redelivers) can enqueue again.
            logger.exception(
                "Failed to queue evaluation request; removing the coalescing marker",
                extra={"workspace_id": workspace_id},
            )
            with contextlib.suppress(ResourceNotFoundError):
                self._table.delete_entity(key, _MARKER_ROW)
            raise
        return CoalesceResult(enqueued=True, window_end=window_end, message_id=message_id)
