"""`remediate check` fails closed on incomplete estates and `plan-event` on unusable events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from remediators.cli import main

DEMO = Path(__file__).resolve().parents[1] / "demo"


def compliant_resources() -> list[dict[str, Any]]:
    document = json.loads((DEMO / "compliant-estate.json").read_text(encoding="utf-8"))
    return document if isinstance(document, list) else document["resources"]


def write_estate(tmp_path: Path, resources: list[dict[str, Any]]) -> str:
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources), encoding="utf-8")
    return str(path)


def test_compliant_estate_passes(tmp_path: Path) -> None:
    assert main(["check", "--estate", write_estate(tmp_path, compliant_resources())]) == 0


def test_missing_storage_account_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    resources = [
        r
        for r in compliant_resources()
        if str(r.get("type", "")).lower() != "microsoft.storage/storageaccounts"
    ]

    status = main(["check", "--estate", write_estate(tmp_path, resources)])

    assert status == 1
    error = capsys.readouterr().err
    assert "storageAccounts/stcontosobatch" in error
    assert "did not run" in error


def test_missing_dependency_passes_with_fail_on_never(tmp_path: Path) -> None:
    resources = [
        r
        for r in compliant_resources()
        if str(r.get("type", "")).lower() != "microsoft.containerregistry/registries"
    ]

    status = main(["check", "--estate", write_estate(tmp_path, resources), "--fail-on", "never"])

    assert status == 0


def test_plan_event_unusable_event_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "id": "1",
                "eventType": "Microsoft.Resources.ResourceWriteSuccess",
                "subject": "/subscriptions/x",
                "data": {},
            }
        )
    )

    status = main(
        ["plan-event", str(event), "--estate", str(DEMO / "estate.json"), "--format", "json"]
    )

    assert status == 2
    assert "no usable event" in capsys.readouterr().err


def test_plan_event_not_json_exits_2(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("not json")

    assert main(["plan-event", str(event), "--estate", str(DEMO / "estate.json")]) == 2


def test_plan_event_delete_drops_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = compliant_resources()
    endpoint = next(
        r for r in resources if str(r.get("name", "")).startswith("pe-") and "blob" in r["name"]
    )
    event = tmp_path / "delete.json"
    event.write_text(
        json.dumps(
            [
                {
                    "id": "2f5c8b4e-0000-4000-8000-000000000001",
                    "eventType": "Microsoft.Resources.ResourceDeleteSuccess",
                    "subject": endpoint["id"],
                    "eventTime": "2026-12-01T10:00:00Z",
                    "data": {
                        "resourceUri": endpoint["id"],
                        "operationName": "Microsoft.Network/privateEndpoints/delete",
                        "status": "Succeeded",
                    },
                    "dataVersion": "2",
                    "metadataVersion": "1",
                }
            ]
        )
    )

    status = main(
        [
            "plan-event",
            str(event),
            "--estate",
            write_estate(tmp_path, resources),
            "--format",
            "json",
        ]
    )

    plan = json.loads(capsys.readouterr().out)
    assert status == 1
    groups = [
        f["details"].get("group_id")
        for f in plan["findings"]
        if f["rule"] == "storage.private-endpoint"
    ]
    assert groups == ["blob"]
