from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from remediators.state import AuditLog, AuditRecord, StorageClients
from remediators.state._common import MAX_STRING_CHARS
from remediators.state.audit import reverse_row_key
from tests.state.conftest import WORKSPACE_ID

pytestmark = pytest.mark.azurite

T0 = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)


def audit_record(what: str = "evaluate", at: datetime = T0, **fields: object) -> AuditRecord:
    return AuditRecord(
        kind="action",
        workspace_id=WORKSPACE_ID,
        what=what,
        why="storage.private-endpoint",
        result="succeeded",
        recorded_at=at,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def audit(clients: StorageClients, unique_name: Callable[[str], str]) -> AuditLog:
    return AuditLog(clients.tables, table_name=unique_name("audit"))


def test_row_keys_sort_newest_first() -> None:
    assert reverse_row_key(T0 + timedelta(microseconds=1)) < reverse_row_key(T0)


def test_same_time_unique_keys() -> None:
    assert reverse_row_key(T0) != reverse_row_key(T0)


def test_recent_newest_first(audit: AuditLog) -> None:
    for minute in range(3):
        audit.append(audit_record(f"step {minute}", T0 + timedelta(minutes=minute)))

    records = audit.recent(WORKSPACE_ID)

    assert [record.what for record in records] == ["step 2", "step 1", "step 0"]


def test_recent_limit(audit: AuditLog) -> None:
    for minute in range(5):
        audit.append(audit_record(at=T0 + timedelta(minutes=minute)))
    assert len(audit.recent(WORKSPACE_ID, limit=2)) == 2


def test_ids_round_trip(audit: AuditLog) -> None:
    record = audit_record(
        resource_id=WORKSPACE_ID,
        rule="storage.private-endpoint",
        arm_correlation_id="6a1c8a7e-0000-0000-0000-000000000001",
        details={"group_id": "queue"},
    )
    audit.append(record)
    assert audit.recent(WORKSPACE_ID) == [record]


def test_same_time_appends_both(audit: AuditLog) -> None:
    audit.append(audit_record("first"))
    audit.append(audit_record("second"))
    assert len(audit.recent(WORKSPACE_ID)) == 2


def test_long_details_truncated(audit: AuditLog) -> None:
    audit.append(audit_record(details={"body": "y" * (MAX_STRING_CHARS + 1)}))
    assert audit.recent(WORKSPACE_ID)[0].details["_truncated"] is True
