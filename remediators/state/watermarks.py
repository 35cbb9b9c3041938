"""The last event time processed per resource, so that late, out-of-order events are dropped.

Event Grid delivers at least once and in no fixed order. `accept` admits an event only when it
is newer than the watermark of its resource and moves the watermark forward with a write
conditioned on the ETag it read, so concurrent instances cannot move it backwards.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from remediators.estate.models import norm_id
from remediators.state._common import iso, open_table
from remediators.state.keys import resource_key

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "watermarks"
_ROW = "watermark"
# Event ids kept for the watermark's own time, to recognise a redelivered event. Events that
# share one timestamp are rare, so the list stays short; the oldest ids drop off past this.
_MAX_IDS_AT_TIME = 50
# A conditional write fails only when another writer's write succeeded, so 20 attempts
# survive 19 competing writes. NOTE: 20 is an estimate of one resource's burst concurrency;
# the tests run 8 threads. Past it, `accept` raises and Event Grid redelivers the event.
_MAX_ATTEMPTS = 20


class Watermarks:
    """Per-resource watermarks in a table, keyed by the SHA-256 of the lowercased id."""

    def __init__(self, tables: TableServiceClient, *, table_name: str = DEFAULT_TABLE) -> None:
        self._table: TableClient = open_table(tables, table_name)

    def accept(self, resource_id: str, event_time: datetime, event_id: str) -> bool:
        """Return True and advance the watermark if the event is newer than the stored one.

        An older event returns False. An event at the same time returns False when its id was
        already seen (a redelivery) and True otherwise.
        """
        key = resource_key(resource_id)
        stamp = iso(event_time)
        for _ in range(_MAX_ATTEMPTS):
            try:
                entity = self._table.get_entity(key, _ROW)
            except ResourceNotFoundError:
                if self._create(key, resource_id, stamp, event_id):
                    return True
                continue

            stored = str(entity["event_time"])
            ids: list[str] = json.loads(entity.get("event_ids") or "[]")
            if stamp < stored or (stamp == stored and event_id in ids):
                logger.debug(
                    "Dropped an event that is not newer than the watermark",
                    extra={"resource_id": resource_id, "event_id": event_id, "watermark": stored},
                )
                return False
            ids = [*ids, event_id][-_MAX_IDS_AT_TIME:] if stamp == stored else [event_id]
            try:
                self._table.update_entity(
                    self._entity(key, resource_id, stamp, ids),
                    mode=UpdateMode.REPLACE,
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue  # another instance moved it: compare against its value
            return True
        raise RuntimeError(
            f"watermark of {resource_id!r} kept changing over {_MAX_ATTEMPTS} attempts; "
            "retry the event"
        )

    def get(self, resource_id: str) -> str | None:
        """Return the stored watermark as an ISO-8601 UTC string, or None."""
        try:
            entity = self._table.get_entity(resource_key(resource_id), _ROW)
        except ResourceNotFoundError:
            return None
        return str(entity["event_time"])

    def _create(self, key: str, resource_id: str, stamp: str, event_id: str) -> bool:
        try:
            self._table.create_entity(self._entity(key, resource_id, stamp, [event_id]))
        except ResourceExistsError:
            return False
        return True

    @staticmethod
    def _entity(key: str, resource_id: str, stamp: str, ids: list[str]) -> dict[str, str]:
        # The time is a fixed-width ISO string, not Edm.DateTime, so comparisons keep the
        # microseconds whatever precision the table service keeps for dates.
        return {
            "PartitionKey": key,
            "RowKey": _ROW,
            "resource_id": norm_id(resource_id),
            "event_time": stamp,
            "event_ids": json.dumps(ids),
        }
