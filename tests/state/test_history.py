from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from remediators.state import NetworkHistoryStore, StorageClients
from tests.state.conftest import WORKSPACE_ID

pytestmark = pytest.mark.azurite

T0 = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def history(clients: StorageClients, unique_name: Callable[[str], str]) -> NetworkHistoryStore:
    return NetworkHistoryStore(clients.tables, table_name=unique_name("history"))


def test_no_record_unknown(history: NetworkHistoryStore) -> None:
    recorded = history.became_private_at(WORKSPACE_ID)
    assert recorded.source == "unknown"
    assert recorded.became_private_at is None


def test_public_to_private_recorded(history: NetworkHistoryStore) -> None:
    history.record(WORKSPACE_ID, False, T0)
    history.record(WORKSPACE_ID, False, T0 + timedelta(hours=1))
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=2))
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=3))

    recorded = history.became_private_at(WORKSPACE_ID)

    assert recorded.source == "recorded"
    assert recorded.became_private_at == T0 + timedelta(hours=2)
    assert recorded.earliest_private_evidence == T0 + timedelta(hours=2)


def test_first_seen_private_unknown(history: NetworkHistoryStore) -> None:
    history.record(WORKSPACE_ID, True, T0)
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=1))

    recorded = history.became_private_at(WORKSPACE_ID)

    assert recorded.source == "recorded"
    assert recorded.became_private_at is None
    assert recorded.earliest_private_evidence == T0


def test_currently_public_no_time(history: NetworkHistoryStore) -> None:
    history.record(WORKSPACE_ID, False, T0)
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=1))
    history.record(WORKSPACE_ID, False, T0 + timedelta(hours=2))

    recorded = history.became_private_at(WORKSPACE_ID)

    assert recorded.became_private_at is None
    assert recorded.earliest_private_evidence is None


def test_private_again_new_time(history: NetworkHistoryStore) -> None:
    history.record(WORKSPACE_ID, False, T0)
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=1))
    history.record(WORKSPACE_ID, False, T0 + timedelta(hours=2))
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=3))

    assert history.became_private_at(WORKSPACE_ID).became_private_at == T0 + timedelta(hours=3)


def test_late_observation_ignored(history: NetworkHistoryStore) -> None:
    history.record(WORKSPACE_ID, False, T0)
    history.record(WORKSPACE_ID, True, T0 + timedelta(hours=2))
    history.record(WORKSPACE_ID, False, T0 + timedelta(hours=1))

    assert history.became_private_at(WORKSPACE_ID).became_private_at == T0 + timedelta(hours=2)


def test_mixed_case_one_history(history: NetworkHistoryStore) -> None:
    history.record(WORKSPACE_ID.upper(), False, T0)
    history.record(WORKSPACE_ID.lower(), True, T0 + timedelta(hours=1))

    assert history.became_private_at(WORKSPACE_ID).became_private_at == T0 + timedelta(hours=1)


def test_naive_time_rejected(history: NetworkHistoryStore) -> None:
    with pytest.raises(ValueError, match="time zone"):
        history.record(WORKSPACE_ID, True, datetime(2025, 1, 1))
