from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from remediators.state import LeaseUnavailable, StorageClients, WorkspaceLocks
from remediators.state.leases import MIN_DURATION
from tests.state.conftest import WORKSPACE_ID, workspace_id

pytestmark = pytest.mark.azurite


@pytest.fixture
def locks(clients: StorageClients, unique_name: Callable[[str], str]) -> WorkspaceLocks:
    return WorkspaceLocks(clients.blobs, container=unique_name("locks-"))


def test_second_holder_unavailable(locks: WorkspaceLocks) -> None:
    with (
        locks.workspace_lease(WORKSPACE_ID, duration=MIN_DURATION),
        pytest.raises(LeaseUnavailable, match="leased by another instance"),
    ):
        locks.acquire(WORKSPACE_ID, duration=MIN_DURATION)


def test_mixed_case_same_lease(locks: WorkspaceLocks) -> None:
    with (
        locks.workspace_lease(WORKSPACE_ID.upper(), duration=MIN_DURATION),
        pytest.raises(LeaseUnavailable),
    ):
        locks.acquire(WORKSPACE_ID.lower(), duration=MIN_DURATION)


def test_other_workspace_free(locks: WorkspaceLocks) -> None:
    with locks.workspace_lease(workspace_id("ws-a"), duration=MIN_DURATION):
        other = locks.acquire(workspace_id("ws-b"), duration=MIN_DURATION)
        other.release()


def test_release_frees(locks: WorkspaceLocks) -> None:
    with locks.workspace_lease(WORKSPACE_ID, duration=MIN_DURATION):
        pass
    lease = locks.acquire(WORKSPACE_ID, duration=MIN_DURATION)
    lease.release()


def test_threads_never_overlap(locks: WorkspaceLocks) -> None:
    inside = 0
    max_inside = 0
    entered = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    def hold() -> None:
        nonlocal inside, max_inside, entered
        try:
            with locks.workspace_lease(WORKSPACE_ID, duration=MIN_DURATION, wait_seconds=10):
                with guard:
                    inside += 1
                    entered += 1
                    max_inside = max(max_inside, inside)
                time.sleep(0.3)
                with guard:
                    inside -= 1
        except BaseException as error:  # surfaced by the asserts below
            errors.append(error)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert entered == 2
    assert max_inside == 1


def test_waiting_holder_gets_lease(locks: WorkspaceLocks) -> None:
    first = locks.acquire(WORKSPACE_ID, duration=MIN_DURATION)
    threading.Timer(0.5, first.release).start()

    started = time.monotonic()
    second = locks.acquire(WORKSPACE_ID, duration=MIN_DURATION, wait_seconds=5)
    waited = time.monotonic() - started
    second.release()

    assert 0.4 <= waited < 5


def test_wait_times_out(locks: WorkspaceLocks) -> None:
    with (
        locks.workspace_lease(WORKSPACE_ID, duration=MIN_DURATION),
        pytest.raises(LeaseUnavailable, match="stayed leased for 1 s"),
    ):
        locks.acquire(WORKSPACE_ID, duration=MIN_DURATION, wait_seconds=1)


def test_renewal_outlives_crash_expiry(
    clients: StorageClients, locks: WorkspaceLocks, unique_name: Callable[[str], str]
) -> None:
    # One sleep past the lease duration checks both sides: the renewed lease is still held,
    # and a lease whose holder crashed (acquired, then never renewed) has expired.
    crashed_id = workspace_id("ws-crashed")
    locks.acquire(crashed_id, duration=MIN_DURATION)._stop.set()  # renewal thread dies

    with locks.workspace_lease(WORKSPACE_ID, duration=MIN_DURATION) as lease:
        time.sleep(MIN_DURATION + 3)

        assert lease.renewals >= 3
        assert not lease.lost
        with pytest.raises(LeaseUnavailable):
            locks.acquire(WORKSPACE_ID, duration=MIN_DURATION)
        taken_over = locks.acquire(crashed_id, duration=MIN_DURATION)
        taken_over.release()


def test_invalid_duration_rejected(locks: WorkspaceLocks) -> None:
    with pytest.raises(ValueError, match="15 to 60"):
        locks.acquire(WORKSPACE_ID, duration=5)
