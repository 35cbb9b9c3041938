from __future__ import annotations

from collections.abc import Callable

import pytest

from remediators.state import SaveOutcome, SnapshotConflict, SnapshotStore, StorageClients

pytestmark = pytest.mark.azurite

NAME = "recreation/endpoint-score/2025-05-01T10-00-00Z.json"
DOCUMENT = {"endpoint": {"name": "score", "authMode": "AADToken"}, "deployments": [{"name": "d"}]}


@pytest.fixture
def store(clients: StorageClients, unique_name: Callable[[str], str]) -> SnapshotStore:
    return SnapshotStore(clients.blobs, container=unique_name("snapshots-"))


def test_save_then_load(store: SnapshotStore) -> None:
    assert store.save(NAME, DOCUMENT) is SaveOutcome.CREATED
    snapshot = store.load(NAME)
    assert snapshot is not None
    assert snapshot.document == DOCUMENT


def test_same_content_unchanged(store: SnapshotStore) -> None:
    store.save(NAME, DOCUMENT)
    before = store.load(NAME)
    reordered = dict(reversed(list(DOCUMENT.items())))

    assert store.save(NAME, reordered) is SaveOutcome.UNCHANGED
    after = store.load(NAME)
    assert before is not None and after is not None
    assert after.etag == before.etag


def test_different_content_conflicts(store: SnapshotStore) -> None:
    store.save(NAME, DOCUMENT)
    with pytest.raises(SnapshotConflict, match="different document"):
        store.save(NAME, {**DOCUMENT, "deployments": []})
    snapshot = store.load(NAME)
    assert snapshot is not None
    assert snapshot.document == DOCUMENT


def test_missing_load_none(store: SnapshotStore) -> None:
    assert store.load("no-such.json") is None


def test_replace_with_etag(store: SnapshotStore) -> None:
    store.save(NAME, DOCUMENT)
    snapshot = store.load(NAME)
    assert snapshot is not None

    replaced = store.replace(NAME, {"step": 2}, snapshot.etag)

    loaded = store.load(NAME)
    assert loaded is not None
    assert loaded.document == {"step": 2}
    assert loaded.etag == replaced.etag


def test_stale_etag_conflicts(store: SnapshotStore) -> None:
    store.save(NAME, DOCUMENT)
    snapshot = store.load(NAME)
    assert snapshot is not None
    store.replace(NAME, {"step": 2}, snapshot.etag)

    with pytest.raises(SnapshotConflict, match="changed or was deleted"):
        store.replace(NAME, {"step": 3}, snapshot.etag)


def test_names_by_prefix(store: SnapshotStore) -> None:
    store.save("dead-letters/a.json", {"a": 1})
    store.save(NAME, DOCUMENT)
    assert store.names("recreation/") == [NAME]
