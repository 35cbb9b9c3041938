"""The in-memory table keeps the conditional writes the coalescer relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import UpdateMode

from benchmarks.storm import CountingQueue, MemoryTable, MemoryTables
from remediators.state.coalesce import Coalescer

WORKSPACE = (
    "/subscriptions/5b2c7f3e-8a41-4d9c-b6e2-0f1a2b3c4d5e/resourceGroups/rg-ml-000"
    "/providers/Microsoft.MachineLearningServices/workspaces/mlw-000"
)


def entity(value: str = "a") -> dict[str, str]:
    return {"PartitionKey": "p", "RowKey": "r", "value": value}


def test_second_insert_conflicts() -> None:
    table = MemoryTable()
    table.create_entity(entity())
    with pytest.raises(ResourceExistsError):
        table.create_entity(entity())


def test_update_with_stale_etag_fails() -> None:
    table = MemoryTable()
    table.create_entity(entity())
    stale = table.get_entity("p", "r").metadata["etag"]
    table.update_entity(entity("b"), UpdateMode.REPLACE)
    with pytest.raises(ResourceModifiedError):
        table.update_entity(
            entity("c"),
            UpdateMode.REPLACE,
            etag=stale,
            match_condition=MatchConditions.IfNotModified,
        )


def test_update_with_current_etag_succeeds() -> None:
    table = MemoryTable()
    table.create_entity(entity())
    current = table.get_entity("p", "r").metadata["etag"]
    table.update_entity(
        entity("b"), UpdateMode.REPLACE, etag=current, match_condition=MatchConditions.IfNotModified
    )
    assert table.get_entity("p", "r")["value"] == "b"


def test_coalescer_enqueues_once_per_window() -> None:
    queue = CountingQueue()
    coalescer = Coalescer(MemoryTables(), queue, window_seconds=30)  # type: ignore[arg-type]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for second in range(5):
        coalescer.request(WORKSPACE, "test", now=now + timedelta(seconds=second))
    assert len(queue.sent) == 1


def test_coalescer_enqueues_again_after_window() -> None:
    queue = CountingQueue()
    coalescer = Coalescer(MemoryTables(), queue, window_seconds=30)  # type: ignore[arg-type]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    coalescer.request(WORKSPACE, "test", now=now)
    coalescer.request(WORKSPACE, "test", now=now + timedelta(seconds=31))
    assert len(queue.sent) == 2
