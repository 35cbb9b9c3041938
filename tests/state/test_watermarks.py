from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from remediators.state import StorageClients, Watermarks
from remediators.state._common import iso
from tests.state.conftest import WORKSPACE_ID

pytestmark = pytest.mark.azurite

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
RESOURCE_ID = WORKSPACE_ID + "/batchEndpoints/Score"


@pytest.fixture
def watermarks(clients: StorageClients, unique_name: Callable[[str], str]) -> Watermarks:
    return Watermarks(clients.tables, table_name=unique_name("watermarks"))


def test_first_event_accepted(watermarks: Watermarks) -> None:
    assert watermarks.accept(RESOURCE_ID, T0, "e1")
    assert watermarks.get(RESOURCE_ID) == iso(T0)


def test_newest_first_keeps_newer(watermarks: Watermarks) -> None:
    newer = T0 + timedelta(seconds=5)
    assert watermarks.accept(RESOURCE_ID, newer, "e2")
    assert not watermarks.accept(RESOURCE_ID, T0, "e1")
    assert watermarks.get(RESOURCE_ID) == iso(newer)


def test_duplicate_changes_nothing(watermarks: Watermarks) -> None:
    watermarks.accept(RESOURCE_ID, T0, "e1")
    assert not watermarks.accept(RESOURCE_ID, T0, "e1")
    assert watermarks.get(RESOURCE_ID) == iso(T0)


def test_same_time_other_id(watermarks: Watermarks) -> None:
    watermarks.accept(RESOURCE_ID, T0, "e1")
    assert watermarks.accept(RESOURCE_ID, T0, "e2")
    assert not watermarks.accept(RESOURCE_ID, T0, "e1")


def test_microseconds_ordered(watermarks: Watermarks) -> None:
    watermarks.accept(RESOURCE_ID, T0 + timedelta(microseconds=2), "e2")
    assert not watermarks.accept(RESOURCE_ID, T0 + timedelta(microseconds=1), "e1")


def test_mixed_case_same_watermark(watermarks: Watermarks) -> None:
    watermarks.accept(RESOURCE_ID.upper(), T0 + timedelta(seconds=1), "e2")
    assert not watermarks.accept(RESOURCE_ID.lower(), T0, "e1")


def test_concurrent_writers_end_newest(watermarks: Watermarks) -> None:
    times = [T0 + timedelta(seconds=i) for i in range(40)]
    ordered = list(reversed(times[::2])) + times[1::2]  # out of order, both halves

    def accept(index: int) -> bool:
        return watermarks.accept(RESOURCE_ID, ordered[index], f"e{index}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(accept, range(len(ordered))))

    assert watermarks.get(RESOURCE_ID) == iso(times[-1])


def test_concurrent_duplicate_once(watermarks: Watermarks) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = list(pool.map(lambda _: watermarks.accept(RESOURCE_ID, T0, "e1"), range(16)))
    assert sum(accepted) == 1
