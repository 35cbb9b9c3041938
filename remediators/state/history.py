"""The recorded network history of each workspace: when it became private-link enabled.

Each evaluation records whether the workspace was private. The first observation that finds
it private after a public one records the transition. The transition happened between the last
public observation and that one, so `became_private_at` is the latest time it can have
happened, and `last_public_at` is kept beside it as the earliest. If the very first observation
already finds it private, the transition time is unknown and that observation is only the
earliest evidence.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from remediators.estate.estate import NetworkHistory
from remediators.estate.models import norm_id
from remediators.state._common import as_utc, open_table
from remediators.state.keys import resource_key

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "networkhistory"
SOURCE = "recorded"
_ROW = "network"
_MAX_ATTEMPTS = 10


class NetworkHistoryStore:
    """One summary entity per workspace, updated with ETag-conditioned writes."""

    def __init__(self, tables: TableServiceClient, *, table_name: str = DEFAULT_TABLE) -> None:
        self._table: TableClient = open_table(tables, table_name)

    def record(self, workspace_id: str, is_private: bool, observed_at: datetime) -> None:
        """Record one observation; an observation older than the latest one is ignored."""
        observed_at = as_utc(observed_at, "observation time")
        key = resource_key(workspace_id)
        for _ in range(_MAX_ATTEMPTS):
            try:
                entity = self._table.get_entity(key, _ROW)
            except ResourceNotFoundError:
                if self._create(key, workspace_id, is_private, observed_at):
                    return
                continue
            if as_utc(entity["last_observed_at"]) > observed_at:
                logger.debug(
                    "Ignored an observation older than the recorded one",
                    extra={"workspace_id": workspace_id, "observed_at": observed_at.isoformat()},
                )
                return
            updated = _advance(dict(entity), is_private, observed_at, workspace_id)
            try:
                self._table.update_entity(
                    updated,
                    mode=UpdateMode.REPLACE,
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
            return
        raise RuntimeError(
            f"network history of {workspace_id!r} kept changing over {_MAX_ATTEMPTS} attempts; "
            "retry the evaluation"
        )

    def became_private_at(self, workspace_id: str) -> NetworkHistory:
        """Return what the recorded history shows of when `workspace_id` became private.

        With no record the history is unknown (source "unknown"). A workspace last seen
        public has neither time set.
        """
        try:
            entity = self._table.get_entity(resource_key(workspace_id), _ROW)
        except ResourceNotFoundError:
            return NetworkHistory()
        if not entity["is_private"]:
            return NetworkHistory(source=SOURCE)
        became = entity.get("became_private_at")
        return NetworkHistory(
            became_private_at=as_utc(became) if became else None,
            earliest_private_evidence=as_utc(entity["private_since_observation"]),
            source=SOURCE,
        )

    def _create(self, key: str, workspace_id: str, is_private: bool, observed_at: datetime) -> bool:
        entity: dict[str, Any] = {
            "PartitionKey": key,
            "RowKey": _ROW,
            "workspace_id": norm_id(workspace_id),
            "is_private": is_private,
            "first_observed_at": observed_at,
            "last_observed_at": observed_at,
        }
        if is_private:
            # Private at the first observation: when it became private is unknown.
            entity["private_since_observation"] = observed_at
        else:
            entity["last_public_at"] = observed_at
        try:
            self._table.create_entity(entity)
        except ResourceExistsError:
            return False
        return True


def _advance(
    entity: dict[str, Any], is_private: bool, observed_at: datetime, workspace_id: str
) -> dict[str, Any]:
    was_private = bool(entity["is_private"])
    entity["is_private"] = is_private
    entity["last_observed_at"] = observed_at
    if not is_private:
        entity["last_public_at"] = observed_at
        entity.pop("became_private_at", None)
        entity.pop("private_since_observation", None)
    elif not was_private:
        entity["became_private_at"] = observed_at
        entity["private_since_observation"] = observed_at
        logger.info(
            "Recorded that the workspace became private",
            extra={"workspace_id": workspace_id, "became_private_at": observed_at.isoformat()},
        )
    return entity
