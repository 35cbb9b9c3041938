"""The whole app on Azurite and the fake ARM: alerts, remediation and recreation approvals.

`App` extends the pipeline harness with the wiring production builds in
`Runtime.from_environment`: the Alerter with a Teams channel (a receiver on 127.0.0.1 over
http, allowed by the loopback flag), the remediation hook and the recreation requests with
their queue. Tests drive the registered functions as the Functions host would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from fake_arm import FakeArm, FakeArmTransport
from remediators import runtime
from remediators.actions.alert_store import alert_channels, build_alerter
from remediators.actions.executors import ApprovalCards, build_recreations, build_remediation
from remediators.actions.teams import TeamsWebhook
from remediators.clients import AzureClients
from remediators.config import Settings
from remediators.state import StorageClients
from remediators.state._common import utc_now
from tests.actions.test_teams import Receiver, running_receiver
from tests.azurite import require_azurite
from tests.functions.estates import DEPLOYMENT, ENDPOINT, GROUP, build_estate
from tests.pipeline.conftest import FakeContext, Harness, Received, make_settings

BASE = "https://remediator.example.test"
RECREATION_FUNCTION = "run_recreation"


class App(Harness):
    """The pipeline harness with alerts, remediation and recreation requests installed."""

    def __init__(
        self,
        arm: FakeArm,
        clients: StorageClients,
        namespace: str,
        settings: Settings,
        receiver: Receiver,
    ) -> None:
        super().__init__(arm, clients, namespace, settings)
        self.receiver = receiver
        azure = AzureClients(
            self.credential, transport=FakeArmTransport(arm), polling_interval=0, retry_total=0
        )
        webhook = TeamsWebhook(receiver.url, allow_insecure_loopback=True, backoff_factor=0.0)
        channels = alert_channels(settings, self.credential, teams=webhook)
        self.runtime.alerts = build_alerter(settings, self.stores.findings, channels, utc_now)
        recreations = build_recreations(
            settings,
            azure,
            self.stores,
            cards=ApprovalCards(webhook, BASE),
            sleep=lambda seconds: None,
        )
        self.runtime.recreations = recreations
        self.runtime.remediation = build_remediation(
            settings, azure, recreations, sleep=lambda seconds: None
        )
        assert self.stores.recreation_queue is not None
        self._recreation_reader = QueueClient.from_connection_string(
            require_azurite(),
            self.stores.recreation_queue.name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def receive_recreations(self) -> list[Received]:
        """Receive and delete every visible recreation message."""
        received: list[Received] = []
        while True:
            reader = self._recreation_reader
            batch = list(reader.receive_messages(messages_per_page=32, max_messages=32))
            if not batch:
                return received
            for message in batch:
                received.append(Received(message.id, message.content, message.dequeue_count or 1))
                reader.delete_message(message)

    def run_recreation(self, message: Received) -> None:
        queue_message = QueueMessage(
            id=message.id, body=message.body.encode("utf-8"), dequeue_count=message.dequeue_count
        )
        self.user_function(RECREATION_FUNCTION)(queue_message, FakeContext())

    def drain_recreations(self) -> int:
        count = 0
        while messages := self.receive_recreations():
            for message in messages:
                self.run_recreation(message)
                count += 1
        return count

    def http(self, name: str, method: str, path: str, body: Any = None, **route: str) -> Any:
        raw = b"" if body is None else json.dumps(body).encode()
        request = func.HttpRequest(
            method,
            f"{BASE}/api/{path}",
            headers={"Content-Type": "application/json"},
            body=raw,
            route_params=route,
        )
        return self.user_function(name)(request)


def batch_ready(arm: FakeArm) -> None:
    """Give the test estate's batch endpoint what a recreation needs: auth mode and default."""
    endpoint = arm.get(ENDPOINT)
    assert endpoint is not None
    endpoint["properties"].update(authMode="AADToken", defaults={"deploymentName": "blue"})
    arm.add(endpoint)
    deployment = arm.get(DEPLOYMENT)
    assert deployment is not None
    deployment["location"] = "eastus"
    arm.add(deployment)


ZONES = (
    "privatelink.blob.core.windows.net",
    "privatelink.file.core.windows.net",
    "privatelink.queue.core.windows.net",
    "privatelink.table.core.windows.net",
    "privatelink.vaultcore.azure.net",
    "privatelink.api.azureml.ms",
    "privatelink.notebooks.azure.net",
)


def add_private_dns_zones(arm: FakeArm) -> None:
    """Add the private DNS zones every private endpoint of the estate needs."""
    for zone in ZONES:
        arm.add(
            {
                "id": f"{GROUP}/providers/Microsoft.Network/privateDnsZones/{zone}",
                "name": zone,
                "type": "Microsoft.Network/privateDnsZones",
                "location": "global",
                "properties": {},
            }
        )


@pytest.fixture
def arm() -> FakeArm:
    fake = FakeArm(build_estate().resources())
    batch_ready(fake)
    add_private_dns_zones(fake)
    return fake


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def install_app(arm: FakeArm, receiver: Receiver, **overrides: Any) -> App:
    clients = StorageClients.from_connection_string(require_azurite())
    settings = make_settings(mode="remediate", **overrides)
    app = App(arm, clients, f"i{uuid.uuid4().hex[:12]}", settings, receiver)
    runtime.install(app.runtime)
    return app


@pytest.fixture
def app(arm: FakeArm, receiver: Receiver) -> Iterator[App]:
    yield install_app(arm, receiver)
    runtime.install(None)


@pytest.fixture
def dry_app(arm: FakeArm, receiver: Receiver) -> Iterator[App]:
    yield install_app(arm, receiver, dry_run=True)
    runtime.install(None)
