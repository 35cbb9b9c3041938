from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from remediators.findings import Finding, make_finding
from remediators.state import FindingsStore, StorageClients
from remediators.state._common import MAX_STRING_CHARS
from tests.state.conftest import WORKSPACE_ID

pytestmark = pytest.mark.azurite

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
STORAGE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG-ML"
    "/providers/Microsoft.Storage/storageAccounts/stMain"
)


def storage_finding(group_id: str = "queue", **details: Any) -> Finding:
    return make_finding(
        "storage.private-endpoint",
        STORAGE_ID,
        WORKSPACE_ID,
        f"The storage account has no Approved private endpoint for group '{group_id}'.",
        group_id=group_id,
        **details,
    )


@pytest.fixture
def store(clients: StorageClients, unique_name: Callable[[str], str]) -> FindingsStore:
    return FindingsStore(clients.tables, table_name=unique_name("findings"))


def test_first_evaluation_new(store: FindingsStore) -> None:
    delta = store.record_evaluation(
        WORKSPACE_ID, [storage_finding("queue"), storage_finding("table")], observed_at=T0
    )
    assert len(delta.new) == 2
    assert delta.still_open == []
    assert delta.resolved == []
    assert delta.new[0].first_seen == T0
    assert delta.new[0].pending_channels == ["teams", "email"]


def test_lifecycle_open_resolved(store: FindingsStore) -> None:
    store.record_evaluation(
        WORKSPACE_ID, [storage_finding("queue"), storage_finding("table")], observed_at=T0
    )
    later = T0 + timedelta(hours=1)

    delta = store.record_evaluation(WORKSPACE_ID, [storage_finding("queue")], observed_at=later)

    assert delta.new == []
    assert [item.key for item in delta.still_open] == [storage_finding("queue").key]
    assert [item.key for item in delta.resolved] == [storage_finding("table").key]
    assert delta.still_open[0].first_seen == T0
    assert delta.still_open[0].last_seen == later
    assert delta.resolved[0].resolved_at == later


def test_incomplete_evaluation_resolves_nothing(store: FindingsStore) -> None:
    store.record_evaluation(
        WORKSPACE_ID, [storage_finding("queue"), storage_finding("table")], observed_at=T0
    )

    delta = store.record_evaluation(
        WORKSPACE_ID, [], observed_at=T0 + timedelta(hours=1), resolve=False
    )

    assert delta.resolved == []
    assert len(store.load(WORKSPACE_ID)) == 2


def test_resolved_stays_resolved(store: FindingsStore) -> None:
    store.record_evaluation(WORKSPACE_ID, [storage_finding()], observed_at=T0)
    store.record_evaluation(WORKSPACE_ID, [], observed_at=T0 + timedelta(hours=1))

    delta = store.record_evaluation(WORKSPACE_ID, [], observed_at=T0 + timedelta(hours=2))

    assert delta.resolved == []
    assert store.load(WORKSPACE_ID) == []
    assert len(store.load(WORKSPACE_ID, include_resolved=True)) == 1


def test_reopen_is_new(store: FindingsStore) -> None:
    store.record_evaluation(WORKSPACE_ID, [storage_finding()], observed_at=T0)
    store.record_evaluation(WORKSPACE_ID, [], observed_at=T0 + timedelta(hours=1))
    store.mark_notified(WORKSPACE_ID, storage_finding().key, "teams", T0)
    reopened_at = T0 + timedelta(hours=2)

    delta = store.record_evaluation(WORKSPACE_ID, [storage_finding()], observed_at=reopened_at)

    assert len(delta.new) == 1
    assert delta.new[0].times_reopened == 1
    assert delta.new[0].first_seen == reopened_at
    assert delta.new[0].resolved_at is None
    assert delta.new[0].notified_at == {}


def test_mark_notified_per_channel(store: FindingsStore) -> None:
    store.record_evaluation(WORKSPACE_ID, [storage_finding()], observed_at=T0)
    sent_at = T0 + timedelta(minutes=1)

    store.mark_notified(WORKSPACE_ID, storage_finding().key, "teams", sent_at)

    stored = store.get(WORKSPACE_ID, storage_finding().key)
    assert stored is not None
    assert stored.notified_at == {"teams": sent_at}
    assert stored.pending_channels == ["email"]


def test_notified_survives_evaluation(store: FindingsStore) -> None:
    store.record_evaluation(WORKSPACE_ID, [storage_finding()], observed_at=T0)
    store.mark_notified(WORKSPACE_ID, storage_finding().key, "email", T0)

    delta = store.record_evaluation(
        WORKSPACE_ID, [storage_finding()], observed_at=T0 + timedelta(hours=1)
    )

    assert delta.still_open[0].notified_at == {"email": T0}


def test_mark_unknown_raises(store: FindingsStore) -> None:
    with pytest.raises(KeyError, match="not stored"):
        store.mark_notified(WORKSPACE_ID, "no|such|key", "teams")


def test_round_trip_fields(store: FindingsStore) -> None:
    finding = storage_finding(subnet_id=WORKSPACE_ID + "/x")
    store.record_evaluation(WORKSPACE_ID, [finding], observed_at=T0)

    stored = store.get(WORKSPACE_ID, finding.key)

    assert stored is not None
    assert stored.finding == finding


def test_large_details_truncated(store: FindingsStore) -> None:
    finding = storage_finding(evidence="x" * (MAX_STRING_CHARS * 2))
    store.record_evaluation(WORKSPACE_ID, [finding], observed_at=T0)

    stored = store.get(WORKSPACE_ID, finding.key)

    assert stored is not None
    assert stored.details_truncated
    assert stored.finding.details["_truncated"] is True
    assert stored.key == finding.key


def test_mixed_case_workspace(store: FindingsStore) -> None:
    store.record_evaluation(WORKSPACE_ID.upper(), [storage_finding()], observed_at=T0)
    assert len(store.load(WORKSPACE_ID.lower())) == 1
