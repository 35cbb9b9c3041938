"""An append-only audit log of evaluations and actions, one partition per workspace.

Row keys are a reverse timestamp followed by a UUID, so a partition query returns the newest
records first and two records written in the same tick never collide. Records are only ever
inserted (`create_entity`), never updated.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.data.tables import TableClient, TableServiceClient

from remediators.state._common import as_utc, bounded_json, bounded_text, open_table, utc_now
from remediators.state.keys import resource_key

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "audit"
# .NET ticks (100 ns since 0001-01-01) of DateTime.MaxValue, the usual base for reverse keys.
_MAX_TICKS = 3155378975999999999
_EPOCH_TICKS = 621355968000000000


@dataclass(frozen=True)
class AuditRecord:
    """One evaluation or action: what was done, why, with which result, and the ids."""

    kind: str  # "evaluation" or "action"
    workspace_id: str
    what: str
    why: str
    result: str
    resource_id: str | None = None
    rule: str | None = None
    finding_key: str | None = None
    # The x-ms-correlation-request-id of the ARM call an action made.
    arm_correlation_id: str | None = None
    invocation_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime = field(default_factory=utc_now)


class AuditLog:
    """Insert and read audit records."""

    def __init__(self, tables: TableServiceClient, *, table_name: str = DEFAULT_TABLE) -> None:
        self._table: TableClient = open_table(tables, table_name)

    def append(self, record: AuditRecord) -> str:
        """Insert `record` and return its row key."""
        row_key = reverse_row_key(record.recorded_at)
        details, truncated = bounded_json(record.details)
        entity: dict[str, Any] = {
            "PartitionKey": resource_key(record.workspace_id),
            "RowKey": row_key,
            "kind": record.kind,
            "workspace_id": record.workspace_id,
            "what": bounded_text(record.what),
            "why": bounded_text(record.why),
            "result": bounded_text(record.result),
            "details": details,
            "details_truncated": truncated,
            "recorded_at": as_utc(record.recorded_at),
        }
        optional = {
            "resource_id": record.resource_id,
            "rule": record.rule,
            "finding_key": record.finding_key,
            "arm_correlation_id": record.arm_correlation_id,
            "invocation_id": record.invocation_id,
        }
        entity.update({name: value for name, value in optional.items() if value is not None})
        self._table.create_entity(entity)
        return row_key

    def recent(self, workspace_id: str, limit: int = 50) -> list[AuditRecord]:
        """Return up to `limit` records of `workspace_id`, newest first."""
        entities = self._table.query_entities(
            "PartitionKey eq @partition",
            parameters={"partition": resource_key(workspace_id)},
            results_per_page=min(limit, 1000),
        )
        records: list[AuditRecord] = []
        for entity in entities:
            records.append(_from_entity(entity))
            if len(records) >= limit:
                break
        return records


def reverse_row_key(moment: datetime) -> str:
    """Return a row key that sorts newer times first, made unique by a UUID."""
    delta = as_utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)
    ticks = _EPOCH_TICKS + (delta.days * 86_400 + delta.seconds) * 10_000_000
    ticks += delta.microseconds * 10
    return f"{_MAX_TICKS - ticks:019d}_{uuid.uuid4().hex}"


def _from_entity(entity: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        kind=entity["kind"],
        workspace_id=entity["workspace_id"],
        what=entity["what"],
        why=entity["why"],
        result=entity["result"],
        resource_id=entity.get("resource_id"),
        rule=entity.get("rule"),
        finding_key=entity.get("finding_key"),
        arm_correlation_id=entity.get("arm_correlation_id"),
        invocation_id=entity.get("invocation_id"),
        details=json.loads(entity["details"]),
        recorded_at=as_utc(entity["recorded_at"]),
    )
