"""Decide which alerts an evaluation sends, send them on every channel, record each delivery.

Per workspace, evaluation and channel the `Alerter` sends at most one message of each kind:

- new: one digest of the open findings that the channel was never notified of;
- reminder: one message for open findings last alerted at least `renotify_interval` ago;
- resolved: one message for findings that resolved after the channel was notified of them.

A delivery is recorded per channel only after the channel accepted it, so a failed one stays
pending and goes out on the next evaluation, and a delivered one is not sent again. Dry run
sends and records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from remediators.actions.cards import DEFAULT_MAX_LISTED, card_for_content
from remediators.actions.email import EmailSender
from remediators.actions.messages import (
    ActionContext,
    AlertContent,
    AlertKind,
    DeliveryResult,
    alert_content,
)
from remediators.actions.teams import TeamsWebhook
from remediators.findings import Finding

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertState:
    """Alert state that the findings store records for one finding.

    `notified` maps a channel name to when that channel last accepted a new or reminder alert
    for the finding. `resolved_notified` maps it to when the channel accepted the resolved
    message. A finding that reopens after being resolved starts again with both empty.
    """

    finding: Finding
    resolved: bool = False
    notified: Mapping[str, datetime] = field(default_factory=dict)
    resolved_notified: Mapping[str, datetime] = field(default_factory=dict)


class AlertStore(Protocol):
    """Interface the Alerter needs from the findings store (new, still open, resolved)."""

    def pending_alerts(self, workspace_id: str) -> Sequence[AlertState]:
        """Return every open finding of the workspace, and every resolved one that some
        channel was notified of but has not yet accepted the resolved message for."""
        ...

    def mark_notified(
        self,
        workspace_id: str,
        keys: Collection[str],
        channel: str,
        at: datetime,
        *,
        kind: AlertKind,
    ) -> None:
        """Record that `channel` accepted a `kind` alert for the findings `keys` at `at`.

        NEW and REMINDER set `notified[channel]`; RESOLVED sets `resolved_notified[channel]`.
        """
        ...


class AlertChannel(Protocol):
    """A destination for alerts, such as a Teams webhook or an email sender."""

    @property
    def name(self) -> str: ...

    def send(self, content: AlertContent) -> DeliveryResult: ...


class TeamsChannel:
    """Alerts as Adaptive Cards on a Teams Workflows webhook."""

    name = "teams"

    def __init__(self, webhook: TeamsWebhook, *, max_listed: int = DEFAULT_MAX_LISTED) -> None:
        self._webhook = webhook
        self._max_listed = max_listed

    def __repr__(self) -> str:
        return f"TeamsChannel({self._webhook!r})"

    def send(self, content: AlertContent) -> DeliveryResult:
        return self._webhook.post_card(card_for_content(content, max_listed=self._max_listed))


class EmailChannel:
    """Alerts as HTML and plain-text email through ACS Email."""

    name = "email"

    def __init__(self, sender: EmailSender) -> None:
        self._sender = sender

    def __repr__(self) -> str:
        return f"EmailChannel({self._sender!r})"

    def send(self, content: AlertContent) -> DeliveryResult:
        return self._sender.send(content)


@dataclass(frozen=True)
class Delivery:
    """One alert message on one channel: sent and accepted, sent and failed, or only planned."""

    workspace_id: str
    channel: str
    kind: AlertKind
    keys: tuple[str, ...]
    result: DeliveryResult | None

    @property
    def delivered(self) -> bool:
        return self.result is not None and self.result.delivered


@dataclass
class AlertReport:
    """The alerts of one evaluation; in dry run every delivery is planned, with no result."""

    workspace_id: str
    dry_run: bool
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def pending(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.delivered]


@dataclass(frozen=True)
class _Due:
    kind: AlertKind
    findings: tuple[Finding, ...]
    last_notified_at: datetime | None = None


def _unique(findings: Iterable[Finding]) -> dict[str, Finding]:
    by_key: dict[str, Finding] = {}
    for finding in findings:
        by_key.setdefault(finding.key, finding)
    return by_key


class Alerter:
    """Sends the alerts an evaluation calls for on every channel, once each.

    `clock` returns the current time (timezone-aware); `context` decides the wording of what
    the product does, and its `dry_run` turns sending and recording off.
    """

    def __init__(
        self,
        store: AlertStore,
        channels: Sequence[AlertChannel],
        renotify_interval: timedelta,
        clock: Callable[[], datetime],
        *,
        context: ActionContext | None = None,
    ) -> None:
        if renotify_interval <= timedelta(0):
            raise ValueError(f"renotify_interval is {renotify_interval}; it must be positive")
        names = [channel.name for channel in channels]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique; got {names}")
        self._store = store
        self._channels = list(channels)
        self._renotify_interval = renotify_interval
        self._clock = clock
        self._context = context or ActionContext()

    def after_evaluation(
        self,
        workspace_id: str,
        *,
        new: Iterable[Finding] = (),
        still_open: Iterable[Finding] = (),
        resolved: Iterable[Finding] = (),
    ) -> AlertReport:
        """Send the alerts due after an evaluation of `workspace_id`.

        `new`, `still_open` and `resolved` are the lifecycle the findings store computed for
        this evaluation. Their notification times, and resolved findings whose message is still
        pending from earlier evaluations, come from the store.
        """
        now = self._clock()
        states = {state.finding.key: state for state in self._store.pending_alerts(workspace_id)}
        open_findings = _unique([*new, *still_open])
        resolved_findings = _unique(
            [*resolved, *(s.finding for s in states.values() if s.resolved)]
        )
        for key in open_findings:
            resolved_findings.pop(key, None)

        report = AlertReport(workspace_id, dry_run=self._context.dry_run)
        for channel in self._channels:
            for due in self._due(channel.name, open_findings, resolved_findings, states, now):
                report.deliveries.append(self._deliver(workspace_id, channel, due, now))
        return report

    def _due(
        self,
        channel: str,
        open_findings: Mapping[str, Finding],
        resolved_findings: Mapping[str, Finding],
        states: Mapping[str, AlertState],
        now: datetime,
    ) -> list[_Due]:
        fresh: list[Finding] = []
        reminders: list[Finding] = []
        reminded_since: list[datetime] = []
        for key, finding in open_findings.items():
            state = states.get(key)
            last = state.notified.get(channel) if state else None
            if last is None:
                fresh.append(finding)
            elif now - last >= self._renotify_interval:
                reminders.append(finding)
                reminded_since.append(last)
        gone: list[Finding] = []
        for key, finding in resolved_findings.items():
            state = states.get(key)
            if state and channel in state.notified and channel not in state.resolved_notified:
                gone.append(finding)

        due: list[_Due] = []
        if fresh:
            due.append(_Due(AlertKind.NEW, tuple(fresh)))
        if reminders:
            due.append(_Due(AlertKind.REMINDER, tuple(reminders), min(reminded_since)))
        if gone:
            due.append(_Due(AlertKind.RESOLVED, tuple(gone)))
        return due

    def _deliver(
        self, workspace_id: str, channel: AlertChannel, due: _Due, now: datetime
    ) -> Delivery:
        keys = tuple(finding.key for finding in due.findings)
        log_extra = {
            "workspace_id": workspace_id,
            "channel": channel.name,
            "alert_kind": due.kind.value,
            "finding_count": len(keys),
        }
        if self._context.dry_run:
            logger.info(
                "Dry run: would send %s alert for workspace %s on %s with %d findings",
                due.kind.value,
                workspace_id,
                channel.name,
                len(keys),
                extra=log_extra,
            )
            return Delivery(workspace_id, channel.name, due.kind, keys, None)

        content = alert_content(
            due.kind,
            workspace_id,
            due.findings,
            context=self._context,
            evaluated_at=now,
            last_notified_at=due.last_notified_at,
        )
        result = channel.send(content)
        if result.delivered:
            self._store.mark_notified(workspace_id, keys, channel.name, now, kind=due.kind)
            logger.info(
                "Sent %s alert for workspace %s on %s with %d findings",
                due.kind.value,
                workspace_id,
                channel.name,
                len(keys),
                extra=log_extra,
            )
        else:
            logger.warning(
                "Sending %s alert for workspace %s on %s with %d findings failed (%s); "
                "it stays pending and is retried on the next evaluation",
                due.kind.value,
                workspace_id,
                channel.name,
                len(keys),
                result.error,
                extra={**log_extra, "status_code": result.status_code, "error": result.error},
            )
        return Delivery(workspace_id, channel.name, due.kind, keys, result)
