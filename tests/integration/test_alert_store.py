"""The Alerter over the findings store on Azurite, with a Teams receiver on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from remediators.actions.alert_store import FindingsAlertStore, alert_channels, build_alerter
from remediators.actions.alerts import Alerter
from remediators.actions.messages import AlertKind
from remediators.actions.teams import TeamsWebhook
from remediators.config import Secret, Settings
from remediators.findings import Finding, make_finding
from remediators.state import StorageClients
from remediators.state.findings import FindingsStore
from tests.actions.test_teams import Receiver, running_receiver
from tests.azurite import require_azurite

pytestmark = pytest.mark.azurite

WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.MachineLearningServices/workspaces/ws-alerts"
)
STORAGE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.Storage/storageAccounts/saalerts"
)
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def queue_finding() -> Finding:
    return make_finding(
        "storage.private-endpoint",
        STORAGE,
        WORKSPACE,
        "No private endpoint for group 'queue'.",
        group_id="queue",
        missing_groups=["queue"],
    )


@pytest.fixture
def findings() -> FindingsStore:
    clients = StorageClients.from_connection_string(require_azurite())
    return FindingsStore(clients.tables, table_name=f"f{uuid.uuid4().hex[:12]}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def alerter_for(findings: FindingsStore, receiver: Receiver, clock: Clock) -> Alerter:
    webhook = TeamsWebhook(receiver.url, allow_insecure_loopback=True, backoff_factor=0.0)
    channels = alert_channels(Settings(), None, teams=webhook)
    alerter = build_alerter(Settings(renotify_hours=24), findings, channels, clock)
    assert alerter is not None
    return alerter


def evaluate(findings: FindingsStore, alerter: Alerter, clock: Clock, found: list[Finding]) -> None:
    delta = findings.record_evaluation(WORKSPACE, found, observed_at=clock.now)
    alerter.after_evaluation(
        WORKSPACE,
        new=[item.finding for item in delta.new],
        still_open=[item.finding for item in delta.still_open],
        resolved=[item.finding for item in delta.resolved],
    )


def test_new_finding_posts_one_card(findings: FindingsStore, receiver: Receiver) -> None:
    clock = Clock()
    alerter = alerter_for(findings, receiver, clock)

    evaluate(findings, alerter, clock, [queue_finding()])
    evaluate(findings, alerter, clock, [queue_finding()])

    assert len(receiver.bodies) == 1
    stored = findings.load(WORKSPACE)
    assert stored[0].notified_at == {"teams": START}
    assert stored[0].pending_channels == ["email"]


def test_reminder_after_interval(findings: FindingsStore, receiver: Receiver) -> None:
    clock = Clock()
    alerter = alerter_for(findings, receiver, clock)
    evaluate(findings, alerter, clock, [queue_finding()])

    clock.now += timedelta(hours=25)
    evaluate(findings, alerter, clock, [queue_finding()])

    assert len(receiver.bodies) == 2
    assert findings.load(WORKSPACE)[0].notified_at == {"teams": clock.now}


def test_resolved_posts_once(findings: FindingsStore, receiver: Receiver) -> None:
    clock = Clock()
    alerter = alerter_for(findings, receiver, clock)
    evaluate(findings, alerter, clock, [queue_finding()])

    clock.now += timedelta(minutes=5)
    evaluate(findings, alerter, clock, [])
    evaluate(findings, alerter, clock, [])

    assert len(receiver.bodies) == 2
    assert FindingsAlertStore(findings).pending_alerts(WORKSPACE) == []


def test_resolved_unannounced_not_pending(findings: FindingsStore) -> None:
    findings.record_evaluation(WORKSPACE, [queue_finding()], observed_at=START)
    findings.record_evaluation(WORKSPACE, [], observed_at=START + timedelta(minutes=1))

    assert FindingsAlertStore(findings).pending_alerts(WORKSPACE) == []


def test_resolved_state_maps_channels(findings: FindingsStore) -> None:
    store = FindingsAlertStore(findings)
    finding = queue_finding()
    findings.record_evaluation(WORKSPACE, [finding], observed_at=START)
    store.mark_notified(WORKSPACE, [finding.key], "teams", START, kind=AlertKind.NEW)
    store.mark_notified(WORKSPACE, [finding.key], "email", START, kind=AlertKind.NEW)
    findings.record_evaluation(WORKSPACE, [], observed_at=START + timedelta(minutes=1))
    later = START + timedelta(minutes=2)
    store.mark_notified(WORKSPACE, [finding.key], "teams", later, kind=AlertKind.RESOLVED)

    [state] = store.pending_alerts(WORKSPACE)

    assert state.resolved is True
    assert state.notified == {"teams": later, "email": START}
    assert state.resolved_notified == {"teams": later}


def test_mark_unknown_key_is_skipped(findings: FindingsStore) -> None:
    store = FindingsAlertStore(findings)

    store.mark_notified(WORKSPACE, ["missing"], "teams", START, kind=AlertKind.NEW)

    assert store.pending_alerts(WORKSPACE) == []


def test_no_channels_builds_no_alerter(findings: FindingsStore) -> None:
    assert build_alerter(Settings(), findings, [], Clock()) is None


def test_channels_from_settings() -> None:
    settings = Settings(
        teams_webhook_url=Secret("https://example.invalid/workflows/x?sig=secret"),
        acs_endpoint="https://alerts.communication.azure.com",
        email_sender="DoNotReply@alerts.example.com",
        email_recipients=("platform@example.com",),
    )

    channels = alert_channels(settings, FakeCredential())

    assert [channel.name for channel in channels] == ["teams", "email"]


def test_email_needs_credential() -> None:
    settings = Settings(
        acs_endpoint="https://alerts.communication.azure.com",
        email_sender="DoNotReply@alerts.example.com",
        email_recipients=("platform@example.com",),
    )

    with pytest.raises(ValueError, match="credential"):
        alert_channels(settings, None)


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("no token is requested while building channels")
