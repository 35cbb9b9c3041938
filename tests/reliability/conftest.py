"""Shared builders of the reliability tests and the session summary of what they exercised."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from _pytest.terminal import TerminalReporter
from azure.core.credentials import AccessToken

from fake_arm import FakeArm, FakeArmTransport
from remediators.clients import AzureClients
from remediators.estate.live import LiveSource

# Cases run per kind ("fuzz: normalise", "fault: 429", ...), printed at the end of the session.
TALLY: Counter[str] = Counter()

# Requests that change nothing in ARM although they are POSTs.
READ_ONLY_POST = "/providers/microsoft.resourcegraph/resources"


class FakeCredential:
    """A credential that never contacts Microsoft Entra ID; its token is a constant."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)


def azure_clients(arm: FakeArm, **options: Any) -> AzureClients:
    """Build clients with production retry settings whose sleeps the fake records."""
    return AzureClients(
        FakeCredential(), transport=FakeArmTransport(arm), polling_interval=0, **options
    )


def live_source(arm: FakeArm, **options: Any) -> LiveSource:
    return LiveSource(azure_clients(arm, **options))


def arm_writes(arm: FakeArm) -> list[str]:
    """Return the requests in the log of `arm` that could change ARM state."""
    return [
        f"{r.method} {r.url}"
        for r in arm.requests
        if r.method in ("PUT", "PATCH", "DELETE", "POST") and READ_ONLY_POST not in r.url.lower()
    ]


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not TALLY:
        return
    terminalreporter.section("reliability cases")
    for kind, count in sorted(TALLY.items()):
        terminalreporter.write_line(f"{kind}: {count}")
    fuzz = sum(n for k, n in TALLY.items() if k.startswith("fuzz"))
    faults = sum(n for k, n in TALLY.items() if k.startswith("fault"))
    terminalreporter.write_line(f"total: {fuzz} fuzz cases, {faults} injected faults")


@pytest.fixture
def tally() -> Counter[str]:
    return TALLY
