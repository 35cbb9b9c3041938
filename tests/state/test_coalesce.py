from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError

from remediators.state import Coalescer, EvaluationQueue, StorageClients
from tests.state.conftest import WORKSPACE_ID, workspace_id

pytestmark = pytest.mark.azurite

WINDOW_SECONDS = 30
START = datetime.now(UTC)


@pytest.fixture
def queue(clients: StorageClients, unique_name: Callable[[str], str]) -> EvaluationQueue:
    evaluation_queue = EvaluationQueue(clients.queues, unique_name("coalesce-"))
    evaluation_queue.create_if_missing()
    return evaluation_queue


@pytest.fixture
def coalescer(
    clients: StorageClients, queue: EvaluationQueue, unique_name: Callable[[str], str]
) -> Coalescer:
    return Coalescer(
        clients.tables, queue, table_name=unique_name("coalesce"), window_seconds=WINDOW_SECONDS
    )


def test_storm_enqueues_once(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    results = [
        coalescer.request(WORKSPACE_ID, "event", now=START + timedelta(milliseconds=100 * i))
        for i in range(200)
    ]
    assert sum(result.enqueued for result in results) == 1
    assert results[0].enqueued
    assert queue.approximate_count() == 1


def test_threads_enqueue_once(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    def request(index: int) -> bool:
        now = START + timedelta(milliseconds=index)
        return coalescer.request(WORKSPACE_ID, "event", now=now).enqueued

    with ThreadPoolExecutor(max_workers=8) as pool:
        enqueued = list(pool.map(request, range(200)))

    assert sum(enqueued) == 1
    assert queue.approximate_count() == 1


def test_workspaces_enqueue_each(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    for name in ("ws-a", "ws-b", "ws-c"):
        for _ in range(5):
            coalescer.request(workspace_id(name), "event", now=START)
    assert queue.approximate_count() == 3


def test_case_shares_window(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    coalescer.request(WORKSPACE_ID, "event", now=START)
    result = coalescer.request(WORKSPACE_ID.upper(), "event", now=START)
    assert not result.enqueued
    assert queue.approximate_count() == 1


def test_next_window_enqueues(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    first = coalescer.request(WORKSPACE_ID, "event", now=START)
    later = START + timedelta(seconds=WINDOW_SECONDS + 1)

    second = coalescer.request(WORKSPACE_ID, "event", now=later)
    third = coalescer.request(WORKSPACE_ID, "event", now=later + timedelta(seconds=1))

    assert first.enqueued
    assert second.enqueued
    assert not third.enqueued
    assert second.window_end == later + timedelta(seconds=WINDOW_SECONDS)
    assert queue.approximate_count() == 2


def test_expired_marker_race(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    coalescer.request(WORKSPACE_ID, "event", now=START)
    later = START + timedelta(seconds=WINDOW_SECONDS + 1)

    def request(index: int) -> bool:
        now = later + timedelta(milliseconds=index)
        return coalescer.request(WORKSPACE_ID, "event", now=now).enqueued

    with ThreadPoolExecutor(max_workers=8) as pool:
        enqueued = list(pool.map(request, range(64)))

    assert sum(enqueued) == 1
    assert queue.approximate_count() == 2


def test_release_opens_window(coalescer: Coalescer, queue: EvaluationQueue) -> None:
    first = coalescer.request(WORKSPACE_ID, "event", now=START)
    assert coalescer.release(WORKSPACE_ID, first.window_end)

    second = coalescer.request(WORKSPACE_ID, "event", now=START + timedelta(seconds=1))

    assert second.enqueued
    assert queue.approximate_count() == 2


def test_release_keeps_later_window(coalescer: Coalescer) -> None:
    first = coalescer.request(WORKSPACE_ID, "event", now=START)
    later = START + timedelta(seconds=WINDOW_SECONDS + 1)
    coalescer.request(WORKSPACE_ID, "event", now=later)

    assert not coalescer.release(WORKSPACE_ID, first.window_end)
    assert not coalescer.request(WORKSPACE_ID, "event", now=later).enqueued


def test_failed_enqueue_removes_marker(
    clients: StorageClients, unique_name: Callable[[str], str]
) -> None:
    missing_queue = EvaluationQueue(clients.queues, unique_name("missing-"))  # never created
    coalescer = Coalescer(clients.tables, missing_queue, table_name=unique_name("coalesce"))

    with pytest.raises(ResourceNotFoundError):
        coalescer.request(WORKSPACE_ID, "event", now=START)
    missing_queue.create_if_missing()

    assert coalescer.request(WORKSPACE_ID, "event", now=START).enqueued
