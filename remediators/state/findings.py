"""The findings of each workspace across evaluations: new, still open and resolved.

One entity per finding, in the workspace's partition, keyed by the SHA-256 of `Finding.key`.
An evaluation replaces the open set: findings seen for the first time (or again after they were
resolved) are new, findings seen again are still open, and open findings the evaluation no
longer reports are resolved. Per-channel notification times serve the alerts.

Writes are unconditional upserts, so callers hold the workspace lease (`leases.py`) around
`record_evaluation` to keep two evaluations of one workspace from interleaving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from remediators.estate.models import norm_id
from remediators.findings import Action, Finding, Severity
from remediators.state._common import as_utc, bounded_json, bounded_text, open_table, utc_now
from remediators.state.keys import resource_key, text_key

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "findings"
DEFAULT_CHANNELS = ("teams", "email")


@dataclass
class StoredFinding:
    """A finding with its lifecycle and notification state."""

    finding: Finding
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    # Channels that still owe a message for the latest change (new, reopened or resolved).
    pending_channels: list[str] = field(default_factory=list)
    # Last message sent per channel, keyed by channel name ("teams", "email").
    notified_at: dict[str, datetime] = field(default_factory=dict)
    times_reopened: int = 0
    details_truncated: bool = False
    # Identity across evaluations. Stored apart from the finding because truncated details
    # could lose the subject that `Finding.key` is built from.
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = self.finding.key

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass
class FindingsDelta:
    """The new, still open and resolved findings of one evaluation."""

    new: list[StoredFinding] = field(default_factory=list)
    still_open: list[StoredFinding] = field(default_factory=list)
    resolved: list[StoredFinding] = field(default_factory=list)


class FindingsStore:
    """Findings per workspace in a table."""

    def __init__(
        self,
        tables: TableServiceClient,
        *,
        table_name: str = DEFAULT_TABLE,
        channels: Sequence[str] = DEFAULT_CHANNELS,
    ) -> None:
        self._table: TableClient = open_table(tables, table_name)
        self.channels = tuple(channels)

    def record_evaluation(
        self,
        workspace_id: str,
        findings: Iterable[Finding],
        *,
        observed_at: datetime | None = None,
        resolve: bool = True,
    ) -> FindingsDelta:
        """Store the current findings of `workspace_id` and return what changed.

        With `resolve` false, open findings absent from `findings` stay open: the caller passes
        it when the evaluation could not read every dependency, so an absence proves nothing.
        """
        observed_at = as_utc(observed_at) if observed_at else utc_now()
        partition = resource_key(workspace_id)
        stored = {item.key: item for item in self._load(partition)}
        current: dict[str, Finding] = {}
        for finding in findings:
            current[finding.key] = finding  # the last duplicate in one evaluation wins

        delta = FindingsDelta()
        for key, finding in current.items():
            previous = stored.get(key)
            if previous is None or not previous.is_open:
                item = self._opened(finding, previous, observed_at)
                delta.new.append(item)
            else:
                previous.finding = finding
                previous.last_seen = observed_at
                item = previous
                delta.still_open.append(item)
            self._write(partition, workspace_id, item)

        for key, previous in stored.items():
            if key in current or not previous.is_open or not resolve:
                continue
            previous.resolved_at = observed_at
            previous.pending_channels = list(self.channels)
            self._write(partition, workspace_id, previous)
            delta.resolved.append(previous)

        logger.info(
            "Recorded findings: %d new, %d still open, %d resolved",
            len(delta.new),
            len(delta.still_open),
            len(delta.resolved),
            extra={"workspace_id": workspace_id},
        )
        return delta

    def load(self, workspace_id: str, *, include_resolved: bool = False) -> list[StoredFinding]:
        """Return the stored findings of `workspace_id`, open ones only unless asked."""
        items = self._load(resource_key(workspace_id))
        return [item for item in items if include_resolved or item.is_open]

    def get(self, workspace_id: str, finding_key: str) -> StoredFinding | None:
        try:
            entity = self._table.get_entity(resource_key(workspace_id), text_key(finding_key))
        except ResourceNotFoundError:
            return None
        return _from_entity(entity)

    def mark_notified(
        self, workspace_id: str, finding_key: str, channel: str, at: datetime | None = None
    ) -> None:
        """Record that `channel` sent its message for the finding, clearing it from pending.

        Raises KeyError when the finding is not stored.
        """
        at = as_utc(at) if at else utc_now()
        partition = resource_key(workspace_id)
        item = self.get(workspace_id, finding_key)
        if item is None:
            raise KeyError(
                f"finding {finding_key!r} of workspace {workspace_id!r} is not stored; "
                "record an evaluation before notifying"
            )
        item.notified_at[channel] = at
        item.pending_channels = [name for name in item.pending_channels if name != channel]
        self._write(partition, workspace_id, item)

    def _opened(
        self, finding: Finding, previous: StoredFinding | None, observed_at: datetime
    ) -> StoredFinding:
        return StoredFinding(
            finding=finding,
            first_seen=observed_at,
            last_seen=observed_at,
            pending_channels=list(self.channels),
            times_reopened=previous.times_reopened + 1 if previous else 0,
        )

    def _load(self, partition: str) -> list[StoredFinding]:
        entities = self._table.query_entities(
            "PartitionKey eq @partition", parameters={"partition": partition}
        )
        return [_from_entity(entity) for entity in entities]

    def _write(self, partition: str, workspace_id: str, item: StoredFinding) -> None:
        self._table.upsert_entity(
            _to_entity(partition, workspace_id, item), mode=UpdateMode.REPLACE
        )


def _to_entity(partition: str, workspace_id: str, item: StoredFinding) -> dict[str, Any]:
    finding = item.finding
    details, truncated = bounded_json(finding.details)
    item.details_truncated = truncated
    entity: dict[str, Any] = {
        "PartitionKey": partition,
        "RowKey": text_key(item.key),
        "finding_key": item.key,
        "workspace_id": norm_id(workspace_id),
        "rule": finding.rule,
        "severity": finding.severity.value,
        "resource_id": finding.resource_id,
        "finding_workspace_id": finding.workspace_id,
        "message": bounded_text(finding.message),
        "action": finding.action.value,
        "details": details,
        "details_truncated": truncated,
        "first_seen": item.first_seen,
        "last_seen": item.last_seen,
        "status": "open" if item.is_open else "resolved",
        "pending_channels": ",".join(item.pending_channels),
        "times_reopened": item.times_reopened,
    }
    # Table storage has no null: an absent property means "not yet".
    if item.resolved_at is not None:
        entity["resolved_at"] = item.resolved_at
    for channel, at in item.notified_at.items():
        entity[f"{channel}_notified_at"] = at
    return entity


def _from_entity(entity: dict[str, Any]) -> StoredFinding:
    finding = Finding(
        rule=entity["rule"],
        severity=Severity(entity["severity"]),
        resource_id=entity["resource_id"],
        workspace_id=entity["finding_workspace_id"],
        message=entity["message"],
        action=Action(entity["action"]),
        details=json.loads(entity["details"]),
    )
    notified = {
        name.removesuffix("_notified_at"): as_utc(value)
        for name, value in entity.items()
        if name.endswith("_notified_at") and isinstance(value, datetime)
    }
    resolved_at = entity.get("resolved_at")
    pending = str(entity.get("pending_channels") or "")
    return StoredFinding(
        finding=finding,
        first_seen=as_utc(entity["first_seen"]),
        last_seen=as_utc(entity["last_seen"]),
        resolved_at=as_utc(resolved_at) if resolved_at else None,
        pending_channels=[name for name in pending.split(",") if name],
        notified_at=notified,
        times_reopened=int(entity.get("times_reopened") or 0),
        details_truncated=bool(entity.get("details_truncated")),
        key=str(entity["finding_key"]),
    )
