"""Azure Storage unreachable: nothing is lost, nothing is decided, and the retry succeeds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import AzureError, ServiceRequestError
from azure.core.pipeline.transport import RequestsTransport

from fake_arm import FakeArm
from remediators import runtime
from remediators.state.clients import StorageClients
from tests.azurite import require_azurite
from tests.functions.estates import WS_A
from tests.pipeline.conftest import Harness, Received, arm, make_settings, write_event

pytestmark = pytest.mark.azurite
__all__ = ["arm"]  # the fixture this module reuses


class SwitchableTransport(RequestsTransport):
    """The real HTTP transport to Azurite, which fails every request while `down` is set."""

    down = False

    def send(self, request: Any, **kwargs: Any) -> Any:
        if self.down:
            raise ServiceRequestError(f"injected outage: {request.url.split('?')[0]} unreachable")
        return super().send(request, **kwargs)


@pytest.fixture
def outage() -> SwitchableTransport:
    return SwitchableTransport()


@pytest.fixture
def harness(arm: FakeArm, outage: SwitchableTransport) -> Iterator[Harness]:
    clients = StorageClients.from_connection_string(
        require_azurite(), transport=outage, retry_total=0
    )
    built = Harness(arm, clients, f"t{uuid.uuid4().hex[:12]}", make_settings())
    runtime.install(built.runtime)
    yield built
    runtime.install(None)


def test_event_during_outage_raises(harness: Harness, outage: SwitchableTransport) -> None:
    event = write_event(WS_A)
    outage.down = True

    # The error reaches the Functions host, so Event Grid redelivers the event later.
    with pytest.raises(AzureError):
        harness.deliver(event)

    outage.down = False
    assert harness.receive() == []


def test_redelivery_after_outage_enqueues(harness: Harness, outage: SwitchableTransport) -> None:
    event = write_event(WS_A)
    outage.down = True
    with pytest.raises(AzureError):
        harness.deliver(event)
    outage.down = False

    harness.deliver(event)

    messages = harness.receive()
    assert len(messages) == 1


def test_evaluation_during_outage_decides_nothing(
    harness: Harness, outage: SwitchableTransport
) -> None:
    harness.deliver(write_event(WS_A))
    [message] = harness.receive()
    outage.down = True

    with pytest.raises(AzureError):
        harness.run_queue_function(message)

    outage.down = False
    assert harness.evaluations(WS_A) == []
    assert harness.stores.findings.load(WS_A) == []

    harness.run_queue_function(Received(message.id, message.body, message.dequeue_count + 1))
    assert len(harness.evaluations(WS_A)) == 1
    assert harness.stores.findings.load(WS_A)
