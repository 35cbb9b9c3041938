"""Remediate mode on the demo estate: only the missing storage endpoints are written, once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_arm import FakeArm
from remediators import runtime
from remediators.state.clients import StorageClients
from tests.actions.test_teams import Receiver, running_receiver
from tests.azurite import require_azurite
from tests.integration.conftest import App
from tests.integration.test_app import writes
from tests.pipeline.conftest import make_settings, write_event

pytestmark = pytest.mark.azurite

DEMO = Path(__file__).resolve().parents[2] / "demo" / "estate.json"
SUBSCRIPTION = "8f6b6c2e-1d3a-4c8e-9b7a-2f4d5e6a7b8c"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml-prod"
STORAGE = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/stcontosobatch"
ZONES = ("blob", "file", "queue", "table")


def demo_resources() -> list[dict[str, Any]]:
    document = json.loads(DEMO.read_text(encoding="utf-8"))
    return document if isinstance(document, list) else document["resources"]


@pytest.fixture
def arm() -> FakeArm:
    fake = FakeArm(demo_resources())
    for group in ZONES:
        zone = f"privatelink.{group}.core.windows.net"
        fake.add(
            {
                "id": f"{GROUP}/providers/Microsoft.Network/privateDnsZones/{zone}",
                "name": zone,
                "type": "Microsoft.Network/privateDnsZones",
                "location": "global",
                "properties": {},
            }
        )
    return fake


@pytest.fixture
def app(arm: FakeArm) -> Iterator[App]:
    with running_receiver() as receiver:
        yield install(arm, receiver)
    runtime.install(None)


def install(arm: FakeArm, receiver: Receiver) -> App:
    # Alert mode everywhere but the storage private endpoint rule, so that this test sees
    # exactly what creating the missing endpoints writes.
    settings = make_settings(
        scope_subscriptions=(SUBSCRIPTION,),
        mode="alert",
        rule_modes={"storage.private-endpoint": "remediate"},
    )
    clients = StorageClients.from_connection_string(require_azurite())
    built = App(arm, clients, f"d{uuid.uuid4().hex[:12]}", settings, receiver)
    runtime.install(built.runtime)
    return built


def evaluate_storage_change(app: App) -> None:
    app.deliver(write_event(STORAGE))
    app.drain()


def test_missing_queue_and_table_created(app: App, arm: FakeArm) -> None:
    before = {r["id"].lower(): r for r in arm.resources()}

    evaluate_storage_change(app)

    written = writes(arm)
    assert len(written) == 4
    for group in ("queue", "table"):
        endpoint = f"{GROUP}/providers/Microsoft.Network/privateEndpoints/pe-stcontosobatch-{group}"
        assert any(
            w.startswith("PUT ") and endpoint in w and "privateDnsZoneGroups" not in w
            for w in written
        ), group
        assert any(
            w.startswith("PUT ") and f"{endpoint}/privateDnsZoneGroups/" in w for w in written
        ), group
        prefix = f"{endpoint}/privateDnsZoneGroups/".lower()
        groups = [r for r in arm.resources() if r["id"].lower().startswith(prefix)]
        assert len(groups) == 1
        configs = groups[0]["properties"]["privateDnsZoneConfigs"]
        zone_ids = [c["properties"]["privateDnsZoneId"] for c in configs]
        assert zone_ids == [
            f"{GROUP}/providers/Microsoft.Network/privateDnsZones/"
            f"privatelink.{group}.core.windows.net"
        ]
    # Nothing else changed. The storage account only gained the two new connections, which
    # ARM adds to the target of an approved private endpoint.
    for key, resource in before.items():
        after = arm.get(key)
        if key == STORAGE.lower():
            assert after is not None
            connections = after["properties"]["privateEndpointConnections"]
            assert len(connections) == len(resource["properties"]["privateEndpointConnections"]) + 2
            after = {**after, "properties": {**after["properties"]}}
            after["properties"]["privateEndpointConnections"] = resource["properties"][
                "privateEndpointConnections"
            ]
        assert after == resource, key


def test_second_run_writes_nothing(app: App, arm: FakeArm) -> None:
    evaluate_storage_change(app)
    arm.requests.clear()

    evaluate_storage_change(app)

    assert writes(arm) == []
