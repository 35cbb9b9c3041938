"""history_from_changes over Resource Graph resourcechanges rows."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from remediators.estate.history import history_from_changes
from remediators.estate.models import ResourceChangeRecord
from tests.rules.builders import utc

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "arm"
ROWS = json.loads((FIXTURE / "resourcegraph_resourcechanges_workspace.json").read_text())["data"]
WORKSPACE = ROWS[0]["properties"]["targetResourceId"]


def _records(rows: list[dict[str, Any]]) -> list[ResourceChangeRecord]:
    return [ResourceChangeRecord.from_arm(row) for row in rows]


def _row(timestamp: str, changes: dict[str, Any], target: str = WORKSPACE, kind="Update") -> dict:
    row = copy.deepcopy(ROWS[0])
    row["properties"]["targetResourceId"] = target
    row["properties"]["changeType"] = kind
    row["properties"]["changeAttributes"]["timestamp"] = timestamp
    row["properties"]["changes"] = changes
    return row


def _access(previous: str | None, new: str | None) -> dict[str, Any]:
    return {
        "properties.publicNetworkAccess": {
            "previousValue": previous,
            "newValue": new,
            "changeCategory": "User",
            "propertyChangeType": "Update",
        }
    }


def test_switch_to_disabled_sets_became_private_at():
    history = history_from_changes(_records(ROWS), WORKSPACE)
    assert history.became_private_at == utc("2024-02-15T10:30:00.123456")
    assert history.earliest_private_evidence == utc("2024-02-15T10:30:00.123456")
    assert history.source == "resource-graph"


def test_mixed_case_workspace_id_matches():
    history = history_from_changes(_records(ROWS), WORKSPACE.upper())
    assert history.became_private_at is not None


def test_other_resources_are_ignored():
    other = ROWS[2]["properties"]["targetResourceId"]
    history = history_from_changes(_records(ROWS[2:]), WORKSPACE)
    assert history.became_private_at is None
    assert history.source == "unknown"
    assert history_from_changes(_records(ROWS[2:]), other).became_private_at is not None


def test_no_records_is_unknown():
    history = history_from_changes([], WORKSPACE)
    assert history.became_private_at is None
    assert history.earliest_private_evidence is None
    assert history.source == "unknown"


def test_latest_switch_to_private_wins():
    rows = [
        _row("2024-02-01T00:00:00Z", _access("Enabled", "Disabled")),
        _row("2024-02-05T00:00:00Z", _access("Disabled", "Enabled")),
        _row("2024-02-09T00:00:00Z", _access("Enabled", "Disabled")),
    ]
    history = history_from_changes(_records(rows), WORKSPACE)
    assert history.became_private_at == utc("2024-02-09T00:00:00")
    assert history.earliest_private_evidence == utc("2024-02-01T00:00:00")


def test_switch_to_public_is_evidence_only():
    rows = [_row("2024-02-05T00:00:00Z", _access("Disabled", "Enabled"))]
    history = history_from_changes(_records(rows), WORKSPACE)
    assert history.became_private_at is None
    assert history.earliest_private_evidence == utc("2024-02-05T00:00:00")


def test_unrelated_change_is_no_evidence():
    history = history_from_changes(_records([ROWS[1]]), WORKSPACE)
    assert history.became_private_at is None
    assert history.earliest_private_evidence is None
    assert history.source == "resource-graph"


def test_approved_connection_added_to_workspace():
    changes = {
        "properties.privateEndpointConnections[0]": {
            "previousValue": None,
            "newValue": {
                "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}
            },
            "propertyChangeType": "Insert",
        }
    }
    history = history_from_changes(_records([_row("2024-02-07T00:00:00Z", changes)]), WORKSPACE)
    assert history.became_private_at == utc("2024-02-07T00:00:00")


def test_pending_connection_added_is_not_private():
    changes = {
        "properties.privateEndpointConnections[0]": {
            "previousValue": None,
            "newValue": {
                "properties": {"privateLinkServiceConnectionState": {"status": "Pending"}}
            },
            "propertyChangeType": "Insert",
        }
    }
    history = history_from_changes(_records([_row("2024-02-07T00:00:00Z", changes)]), WORKSPACE)
    assert history.became_private_at is None


def test_connection_status_approved_on_workspace():
    changes = {
        "properties.privateEndpointConnections[0].properties.privateLinkServiceConnectionState.status": {  # noqa: E501
            "previousValue": "Pending",
            "newValue": "Approved",
            "propertyChangeType": "Update",
        }
    }
    history = history_from_changes(_records([_row("2024-02-08T00:00:00Z", changes)]), WORKSPACE)
    assert history.became_private_at == utc("2024-02-08T00:00:00")


def test_connection_child_resource_created():
    target = f"{WORKSPACE}/privateEndpointConnections/pe-1"
    rows = [_row("2024-02-06T00:00:00Z", {}, target=target, kind="Create")]
    history = history_from_changes(_records(rows), WORKSPACE)
    assert history.became_private_at == utc("2024-02-06T00:00:00")


def test_connection_child_resource_rejected():
    target = f"{WORKSPACE}/privateEndpointConnections/pe-1"
    changes = {
        "properties.privateLinkServiceConnectionState.status": {
            "previousValue": "Pending",
            "newValue": "Rejected",
        }
    }
    rows = [_row("2024-02-06T00:00:00Z", changes, target=target)]
    assert history_from_changes(_records(rows), WORKSPACE).became_private_at is None


def test_record_without_timestamp_is_ignored():
    row = _row("", _access("Enabled", "Disabled"))
    history = history_from_changes(_records([row]), WORKSPACE)
    assert history.became_private_at is None
