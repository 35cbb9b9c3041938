"""The Alerter's view of the findings store, and the Alerter built from the settings.

`FindingsAlertStore` maps the stored lifecycle onto `AlertState`. A stored finding keeps one
notification time per channel (`StoredFinding.notified_at`) and the channels that still owe a
message for its latest change (`pending_channels`). For an open finding `notified_at` is the
last new or reminder alert. When a finding resolves, the store puts every channel back in
`pending_channels`, so a resolved finding whose channel is no longer pending has had its
resolved message, sent at that channel's `notified_at`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from azure.core.credentials import TokenCredential

from remediators.actions.alerts import AlertChannel, Alerter, AlertState, EmailChannel, TeamsChannel
from remediators.actions.messages import ActionContext, AlertKind
from remediators.actions.teams import TeamsWebhook
from remediators.config import Settings
from remediators.state.findings import FindingsStore, StoredFinding

logger = logging.getLogger(__name__)


class FindingsAlertStore:
    """An `AlertStore` over a `FindingsStore`: reads pending alerts and records deliveries."""

    def __init__(self, findings: FindingsStore) -> None:
        self._findings = findings

    def pending_alerts(self, workspace_id: str) -> Sequence[AlertState]:
        """Return every open finding, and every resolved one that still owes a channel the
        resolved message after that channel was notified of it."""
        states: list[AlertState] = []
        for item in self._findings.load(workspace_id, include_resolved=True):
            state = alert_state(item)
            if item.is_open or set(state.notified) - set(state.resolved_notified):
                states.append(state)
        return states

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

        A key the store no longer has (its workspace's findings were rewritten meanwhile) is
        logged and skipped, because the delivery itself already happened.
        """
        for key in keys:
            try:
                self._findings.mark_notified(workspace_id, key, channel, at)
            except KeyError:
                logger.warning(
                    "Could not record the %s alert on %s: finding %s of workspace %s is no "
                    "longer stored",
                    kind.value,
                    channel,
                    key,
                    workspace_id,
                    extra={"workspace_id": workspace_id, "channel": channel, "finding_key": key},
                )


def alert_state(item: StoredFinding) -> AlertState:
    """Return the alerting view of one stored finding."""
    notified = dict(item.notified_at)
    resolved_notified: dict[str, datetime] = {}
    if not item.is_open:
        resolved_notified = {
            channel: at for channel, at in notified.items() if channel not in item.pending_channels
        }
    return AlertState(
        finding=item.finding,
        resolved=not item.is_open,
        notified=notified,
        resolved_notified=resolved_notified,
    )


def teams_webhook(settings: Settings, *, allow_insecure_loopback: bool = False) -> TeamsWebhook:
    """Build the Teams webhook of the settings; raise ValueError when none is configured."""
    if settings.teams_webhook_url is None:
        raise ValueError("TEAMS_WEBHOOK_URL is not set; set it to post cards to Teams")
    return TeamsWebhook(
        settings.teams_webhook_url.reveal(), allow_insecure_loopback=allow_insecure_loopback
    )


def alert_channels(
    settings: Settings,
    credential: TokenCredential | None,
    *,
    teams: TeamsWebhook | None = None,
    **email_options: object,
) -> list[AlertChannel]:
    """Build the configured channels: Teams when a webhook is set (or `teams` is given), and
    email when ACS_ENDPOINT, EMAIL_SENDER and EMAIL_RECIPIENTS are all set.

    `email_options` go to `EmailSender` (tests pass `transport` and `polling_interval`).
    """
    from remediators.actions.email import EmailSender

    channels: list[AlertChannel] = []
    if teams is None and settings.teams_webhook_url is not None:
        teams = teams_webhook(settings)
    if teams is not None:
        channels.append(TeamsChannel(teams))
    email_configured = settings.acs_endpoint and settings.email_sender
    if email_configured and settings.email_recipients:
        if credential is None:
            raise ValueError(
                "email alerts need an Azure credential for ACS_ENDPOINT; build the runtime "
                "with one or unset ACS_ENDPOINT"
            )
        sender = EmailSender(
            str(settings.acs_endpoint),
            credential,
            sender=str(settings.email_sender),
            recipients=settings.email_recipients,
            **email_options,  # type: ignore[arg-type]
        )
        channels.append(EmailChannel(sender))
    return channels


def build_alerter(
    settings: Settings,
    findings: FindingsStore,
    channels: Sequence[AlertChannel],
    clock: Callable[[], datetime],
) -> Alerter | None:
    """Build the Alerter over the findings store, or None when no channel is configured."""
    if not channels:
        logger.info("No alert channel is configured; evaluations send no alerts")
        return None
    context = ActionContext(
        mode=settings.mode,
        rule_modes=dict(settings.rule_modes),
        dry_run=settings.dry_run,
        approval_required=settings.recreation_approval == "required",
    )
    return Alerter(
        FindingsAlertStore(findings),
        channels,
        timedelta(hours=settings.renotify_hours),
        clock,
        context=context,
    )
