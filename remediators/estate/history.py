"""Derive when a workspace became private from Azure Resource Graph change records.

Resource Graph keeps about 14 days of `resourcechanges` rows. A row for the workspace shows a
switch to private when `properties.publicNetworkAccess` goes to Disabled or when an Approved
private endpoint connection is added. A row for one of its private endpoint connections shows
the same when the connection is created or approved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from remediators.estate.estate import NetworkHistory
from remediators.estate.models import ResourceChangeRecord, as_text, norm_id

logger = logging.getLogger(__name__)

RESOURCE_GRAPH = "resource-graph"
UNKNOWN = "unknown"

_PUBLIC_NETWORK_ACCESS = "properties.publicnetworkaccess"
_CONNECTIONS = "properties.privateendpointconnections"
_CONNECTION_STATUS = "properties.privatelinkserviceconnectionstate.status"


@dataclass(frozen=True)
class _Reading:
    """The workspace network state that one change record shows."""

    to_private: bool = False
    shows_private: bool = False


def history_from_changes(
    changes: Iterable[ResourceChangeRecord], workspace_id: str
) -> NetworkHistory:
    """Return when `workspace_id` became private according to its change records.

    `became_private_at` is the time of the latest switch to private, and
    `earliest_private_evidence` the earliest record showing the workspace private. Without
    any record for the workspace the source is "unknown".
    """
    workspace_key = norm_id(workspace_id)
    switches: list[datetime] = []
    evidence: list[datetime] = []
    seen = False
    for record in changes:
        reading = _read(record, workspace_key)
        if reading is None:
            continue
        seen = True
        if record.timestamp is None:
            logger.warning(
                "change record %s has no timestamp; it is ignored",
                record.id,
                extra={"resource_id": workspace_id},
            )
            continue
        if reading.to_private:
            switches.append(record.timestamp)
        if reading.shows_private:
            evidence.append(record.timestamp)
    # NOTE: a later switch back to public does not clear became_private_at: batch endpoints
    # created after the latest switch to private are the ones known to be private.
    return NetworkHistory(
        became_private_at=max(switches) if switches else None,
        earliest_private_evidence=min(evidence) if evidence else None,
        source=RESOURCE_GRAPH if seen else UNKNOWN,
    )


def _read(record: ResourceChangeRecord, workspace_key: str) -> _Reading | None:
    """Read what `record` shows about the workspace; None when it is about another resource."""
    target = norm_id(record.target_resource_id)
    if target == workspace_key:
        return _read_workspace_change(record)
    if target.startswith(f"{workspace_key}/privateendpointconnections/"):
        return _read_connection_change(record)
    return None


def _read_workspace_change(record: ResourceChangeRecord) -> _Reading:
    to_private = shows_private = False
    before = _text(record.before(_PUBLIC_NETWORK_ACCESS))
    after = _text(record.after(_PUBLIC_NETWORK_ACCESS))
    if after == "disabled":
        shows_private = True
        to_private = before != "disabled"
    elif before == "disabled":
        # The workspace was private until this change.
        shows_private = True
    for key, change in record.changes.items():
        if not key.lower().startswith(_CONNECTIONS):
            continue
        if _connection_added_or_approved(key, change):
            to_private = shows_private = True
    return _Reading(to_private, shows_private)


def _read_connection_change(record: ResourceChangeRecord) -> _Reading:
    status_after = _text(record.after(_CONNECTION_STATUS))
    if status_after is not None:
        approved = status_after == "approved"
        return _Reading(to_private=approved, shows_private=approved)
    created = (record.change_type or "").lower() == "create"
    return _Reading(to_private=created, shows_private=created)


def _connection_added_or_approved(key: str, change: Mapping[str, Any]) -> bool:
    new_value = change.get("newValue")
    previous = change.get("previousValue")
    if key.lower().endswith(".status"):
        return _text(new_value) == "approved" and _text(previous) != "approved"
    if isinstance(new_value, Mapping):
        status = _nested_status(new_value)
        return previous is None and status in (None, "approved")
    insert = (as_text(change.get("propertyChangeType")) or "").lower() == "insert"
    return insert and key.lower().rstrip("]").rpartition("[")[0] == _CONNECTIONS


def _nested_status(connection: Mapping[str, Any]) -> str | None:
    properties = connection.get("properties")
    if not isinstance(properties, Mapping):
        return None
    state = properties.get("privateLinkServiceConnectionState")
    if not isinstance(state, Mapping):
        return None
    return _text(state.get("status"))


def _text(value: Any) -> str | None:
    text = as_text(value)
    return text.lower() if text else None
