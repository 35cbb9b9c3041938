"""Runtime.from_environment wires the Alerter, the remediation hook and recreation requests."""

from __future__ import annotations

import pytest

from remediators import clients
from remediators.actions.alerts import Alerter
from remediators.actions.executors import Remediation
from remediators.runtime import Runtime
from tests.azurite import require_azurite
from tests.pipeline.conftest import FakeCredential

pytestmark = pytest.mark.azurite

WEBHOOK = "https://example.invalid/workflows/1/triggers/manual/paths/invoke?sig=secret"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # The production credential would probe the instance metadata address; a fake stands in.
    monkeypatch.setattr(clients, "default_credential", lambda client_id: FakeCredential())
    return {"AzureWebJobsStorage": require_azurite(), "REMEDIATOR_MODE": "remediate"}


def test_hooks_are_wired(environment: dict[str, str]) -> None:
    built = Runtime.from_environment({**environment, "TEAMS_WEBHOOK_URL": WEBHOOK})

    assert isinstance(built.alerts, Alerter)
    assert isinstance(built.remediation, Remediation)
    assert built.recreations is not None


def test_no_channel_no_alerter(environment: dict[str, str]) -> None:
    built = Runtime.from_environment(environment)

    assert built.alerts is None


def test_approval_cards_need_host_name(environment: dict[str, str]) -> None:
    without_host = Runtime.from_environment({**environment, "TEAMS_WEBHOOK_URL": WEBHOOK})
    with_host = Runtime.from_environment(
        {**environment, "TEAMS_WEBHOOK_URL": WEBHOOK, "WEBSITE_HOSTNAME": "app.example.test"}
    )

    assert without_host.recreations is not None
    assert without_host.recreations.cards is None
    assert with_host.recreations is not None
    assert with_host.recreations.cards is not None
    assert with_host.recreations.cards.base_url == "https://app.example.test"
