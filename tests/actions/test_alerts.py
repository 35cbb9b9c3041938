"""Alerter end to end: a loopback Teams receiver, an ACS stand-in and an in-memory store."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from remediators.actions.alerts import (
    AlertChannel,
    Alerter,
    AlertReport,
    AlertState,
    EmailChannel,
    TeamsChannel,
)
from remediators.actions.messages import ActionContext, AlertKind
from remediators.actions.teams import TeamsWebhook
from remediators.findings import Finding, make_finding
from tests.actions.test_email import FakeCommunicationServices, sender
from tests.actions.test_teams import (
    SIGNATURE,
    WEBHOOK_PATH,
    Answer,
    Receiver,
    closed_port_url,
    running_receiver,
)

WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.MachineLearningServices/workspaces/ws-batch"
)
STORAGE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ml"
    "/providers/Microsoft.Storage/storageAccounts/sabatch"
)
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
INTERVAL = timedelta(hours=24)


@dataclass
class _Record:
    finding: Finding
    resolved: bool = False
    notified: dict[str, datetime] = field(default_factory=dict)
    resolved_notified: dict[str, datetime] = field(default_factory=dict)


@dataclass
class MemoryStore:
    """An in-memory findings store with the new / still open / resolved lifecycle."""

    records: dict[str, dict[str, _Record]] = field(default_factory=dict)
    marks: list[tuple[str, str, AlertKind, tuple[str, ...]]] = field(default_factory=list)

    def record_evaluation(
        self, workspace_id: str, findings: Sequence[Finding]
    ) -> tuple[list[Finding], list[Finding], list[Finding]]:
        records = self.records.setdefault(workspace_id, {})
        current = {finding.key: finding for finding in findings}
        new: list[Finding] = []
        still_open: list[Finding] = []
        resolved: list[Finding] = []
        for key, finding in current.items():
            record = records.get(key)
            if record is None or record.resolved:
                records[key] = _Record(finding)
                new.append(finding)
            else:
                record.finding = finding
                still_open.append(finding)
        for key, record in records.items():
            if key not in current and not record.resolved:
                record.resolved = True
                resolved.append(record.finding)
        return new, still_open, resolved

    def pending_alerts(self, workspace_id: str) -> Sequence[AlertState]:
        pending: list[AlertState] = []
        for record in self.records.get(workspace_id, {}).values():
            unresolved_channels = set(record.notified) - set(record.resolved_notified)
            if not record.resolved or unresolved_channels:
                pending.append(
                    AlertState(
                        record.finding,
                        record.resolved,
                        dict(record.notified),
                        dict(record.resolved_notified),
                    )
                )
        return pending

    def mark_notified(
        self,
        workspace_id: str,
        keys: Collection[str],
        channel: str,
        at: datetime,
        *,
        kind: AlertKind,
    ) -> None:
        self.marks.append((workspace_id, channel, kind, tuple(keys)))
        for key in keys:
            record = self.records[workspace_id][key]
            if kind is AlertKind.RESOLVED:
                record.resolved_notified[channel] = at
            else:
                record.notified[channel] = at


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Harness:
    store: MemoryStore
    clock: Clock
    alerter: Alerter
    email: FakeCommunicationServices

    def evaluate(self, findings: Sequence[Finding]) -> AlertReport:
        new, still_open, resolved = self.store.record_evaluation(WORKSPACE, findings)
        return self.alerter.after_evaluation(
            WORKSPACE, new=new, still_open=still_open, resolved=resolved
        )

    @property
    def emails(self) -> list[dict[str, Any]]:
        return [body for method, _, body in self.email.requests if method == "POST" and body]


def harness(
    url: str,
    *,
    context: ActionContext | None = None,
    email: FakeCommunicationServices | None = None,
) -> Harness:
    store = MemoryStore()
    clock = Clock()
    email = email or FakeCommunicationServices()
    webhook = TeamsWebhook(
        url, allow_insecure_loopback=True, timeout=5.0, max_attempts=3, backoff_factor=0.0
    )
    channels: list[AlertChannel] = [
        TeamsChannel(webhook),
        EmailChannel(sender(email, retry_total=0)),
    ]
    alerter = Alerter(store, channels, INTERVAL, clock, context=context)
    return Harness(store, clock, alerter, email)


def queue_finding() -> Finding:
    return make_finding(
        "storage.private-endpoint",
        STORAGE,
        WORKSPACE,
        "The storage account has no Approved private endpoint for group 'queue'.",
        group_id="queue",
    )


def table_finding() -> Finding:
    return make_finding(
        "storage.private-endpoint",
        STORAGE,
        WORKSPACE,
        "The storage account has no Approved private endpoint for group 'table'.",
        group_id="table",
    )


def card_title(receiver: Receiver, index: int) -> str:
    return str(receiver.cards[index]["body"][0]["text"])


def test_new_finding_one_card_one_email() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url)
        report = run.evaluate([queue_finding()])
    assert len(receiver.cards) == 1
    assert len(run.emails) == 1
    assert card_title(receiver, 0) == "1 finding new in workspace ws-batch"
    assert [d.delivered for d in report.deliveries] == [True, True]


def test_unchanged_finding_sends_nothing() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url)
        run.evaluate([queue_finding()])
        run.clock.advance(timedelta(hours=1))
        report = run.evaluate([queue_finding()])
    assert report.deliveries == []
    assert len(receiver.cards) == 1
    assert len(run.emails) == 1


def test_reminder_after_interval() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url)
        run.evaluate([queue_finding()])
        run.clock.advance(INTERVAL)
        report = run.evaluate([queue_finding()])
        run.clock.advance(timedelta(hours=1))
        later = run.evaluate([queue_finding()])
    assert [d.kind for d in report.deliveries] == [AlertKind.REMINDER, AlertKind.REMINDER]
    assert card_title(receiver, 1) == "Reminder: 1 finding still open in workspace ws-batch"
    assert len(run.emails) == 2
    assert later.deliveries == []


def test_fix_sends_one_resolved() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url)
        run.evaluate([queue_finding()])
        report = run.evaluate([])
        again = run.evaluate([])
    assert [d.kind for d in report.deliveries] == [AlertKind.RESOLVED, AlertKind.RESOLVED]
    assert card_title(receiver, 1) == "1 finding resolved in workspace ws-batch"
    assert len(run.emails) == 2
    assert again.deliveries == []


def test_one_digest_for_several_new() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url)
        run.evaluate([queue_finding(), table_finding()])
    assert len(receiver.cards) == 1
    assert card_title(receiver, 0) == "2 findings new in workspace ws-batch"


def test_429_then_200_delivered_once() -> None:
    with running_receiver() as receiver:
        receiver.answers = [Answer(429, {"Retry-After": "1"}), Answer(200)]
        run = harness(receiver.url)
        report = run.evaluate([queue_finding()])
        second = run.evaluate([queue_finding()])
    assert report.deliveries[0].delivered
    assert len(receiver.cards) == 1
    assert second.deliveries == []


def test_receiver_down_stays_pending() -> None:
    url = closed_port_url()
    port = urlsplit(url).port
    assert port is not None
    run = harness(url)
    first = run.evaluate([queue_finding()])
    with running_receiver(port) as receiver:
        second = run.evaluate([queue_finding()])
        third = run.evaluate([queue_finding()])
    assert [(d.channel, d.delivered) for d in first.deliveries] == [
        ("teams", False),
        ("email", True),
    ]
    assert [(d.channel, d.kind) for d in second.deliveries] == [("teams", AlertKind.NEW)]
    assert len(receiver.cards) == 1
    assert len(run.emails) == 1
    assert third.deliveries == []


def test_email_failure_retried_alone() -> None:
    email = FakeCommunicationServices(refuse=True)
    with running_receiver() as receiver:
        run = harness(receiver.url, email=email)
        first = run.evaluate([queue_finding()])
        email.refuse = False
        second = run.evaluate([queue_finding()])
    assert [d.delivered for d in first.deliveries] == [True, False]
    assert [(d.channel, d.delivered) for d in second.deliveries] == [("email", True)]
    assert len(receiver.cards) == 1


def test_resolved_before_delivery_not_announced() -> None:
    url = closed_port_url()
    run = harness(url)
    run.evaluate([queue_finding()])
    report = run.evaluate([])
    assert [(d.channel, d.kind) for d in report.deliveries] == [("email", AlertKind.RESOLVED)]


def test_pending_resolved_retried() -> None:
    url = closed_port_url()
    port = urlsplit(url).port
    assert port is not None
    with running_receiver(port) as receiver:
        run = harness(url)
        run.evaluate([queue_finding()])
    failed = run.evaluate([])
    with running_receiver(port) as receiver:
        retried = run.evaluate([])
    assert [(d.channel, d.delivered) for d in failed.deliveries] == [
        ("teams", False),
        ("email", True),
    ]
    assert [(d.channel, d.kind, d.delivered) for d in retried.deliveries] == [
        ("teams", AlertKind.RESOLVED, True)
    ]
    assert card_title(receiver, 0) == "1 finding resolved in workspace ws-batch"


def test_reopened_finding_is_new() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url)
        run.evaluate([queue_finding()])
        run.evaluate([])
        report = run.evaluate([queue_finding()])
    assert [d.kind for d in report.deliveries] == [AlertKind.NEW, AlertKind.NEW]
    assert len(receiver.cards) == 3


def test_dry_run_sends_nothing() -> None:
    with running_receiver() as receiver:
        run = harness(receiver.url, context=ActionContext(dry_run=True))
        report = run.evaluate([queue_finding()])
    assert receiver.cards == []
    assert run.emails == []
    assert run.store.marks == []
    assert [d.result for d in report.deliveries] == [None, None]


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Alerter(MemoryStore(), [], timedelta(0), Clock())


def test_delivery_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with running_receiver() as receiver, caplog.at_level(logging.INFO):
        run = harness(receiver.url)
        run.evaluate([queue_finding(), table_finding()])
    sent = [r for r in caplog.records if r.getMessage().startswith("Sent ")]
    assert [(r.levelno, r.channel, r.finding_count) for r in sent] == [  # type: ignore[attr-defined]
        (logging.INFO, "teams", 2),
        (logging.INFO, "email", 2),
    ]
    assert all(r.workspace_id == WORKSPACE for r in sent)  # type: ignore[attr-defined]


def test_no_log_or_error_has_secret(caplog: pytest.LogCaptureFixture) -> None:
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG):
            with running_receiver() as receiver:
                receiver.answers = [Answer(429, {"Retry-After": "0"}), Answer(500), Answer(503)]
                run = harness(receiver.url)
                failed = run.evaluate([queue_finding()])
                delivered = run.evaluate([queue_finding()])
            down = harness(closed_port_url()).evaluate([queue_finding()])
    finally:
        root.setLevel(previous)
    loggers = {record.name for record in caplog.records}
    assert "azure.core.pipeline.policies.http_logging_policy" in loggers
    lines = [record.getMessage() for record in caplog.records]
    lines += [str(d.result) for report in (failed, delivered, down) for d in report.deliveries]
    for line in lines:
        assert SIGNATURE not in line
        assert WEBHOOK_PATH.split("?")[0] not in line
