"""The objects trigger functions work with, built once per process.

Production builds them from the environment on first use (`current()`); tests and the demo
install their own with `install(Runtime(...))`. Both paths run the same code afterwards.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remediators.config import Settings
from remediators.estate.source import EstateSource
from remediators.pipeline import Dispatcher, InlineDispatcher
from remediators.routing import DependencyIndex

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from remediators.actions.executors import ApprovalCards, Recreations
    from remediators.actions.teams import TeamsWebhook
    from remediators.dispatch import EventOrder
    from remediators.service import AlertHook, RemediationHook, StateStores

logger = logging.getLogger(__name__)

# The host name of the function app, which the Functions host sets in Azure.
WEBSITE_HOSTNAME = "WEBSITE_HOSTNAME"


@dataclass
class Runtime:
    """Settings, the estate source, the dependency index and the dispatcher of one process.

    When `index` is None it is built from the source on first use, over every workspace in
    the configured subscriptions.
    """

    settings: Settings
    source: EstateSource
    index: DependencyIndex | None
    dispatcher: Dispatcher
    # Durable state (queue, findings, history, audit, leases); None runs without storage.
    state: StateStores | None = None
    # Drops events older than the last one processed for their resource; None admits all.
    ordering: EventOrder | None = None
    # The Azure credential, for the health check; None when the source needs none.
    credential: TokenCredential | None = None
    alerts: AlertHook | None = None
    remediation: RemediationHook | None = None
    # Batch endpoint recreation requests, for the recreation queue and the approval API.
    recreations: Recreations | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Runtime:
        """Build the production runtime: live Azure clients with the configured identity."""
        # Imported here because the live modules load every management SDK, which only the
        # production path needs.
        from remediators.actions.alert_store import alert_channels, build_alerter, teams_webhook
        from remediators.actions.executors import build_recreations, build_remediation
        from remediators.clients import AzureClients, default_credential
        from remediators.dispatch import EventOrder, QueueDispatcher
        from remediators.estate.live import LiveSource
        from remediators.service import StateStores
        from remediators.state._common import utc_now
        from remediators.state.clients import StorageClients
        from remediators.telemetry import configure as configure_telemetry

        environ = os.environ if environ is None else environ
        # First, so that the errors of the steps below are exported too.
        configure_telemetry(environ)
        settings = Settings.from_environment(environ)
        credential = default_credential(settings.azure_client_id)
        clients = AzureClients(credential)
        source = LiveSource(clients)
        # The storage identity may differ from the ARM one (AzureWebJobsStorage__clientId).
        storage_client_id = settings.storage.client_id if settings.storage else None
        storage_credential = (
            default_credential(storage_client_id) if storage_client_id else credential
        )
        storage = StorageClients.from_settings(environ, storage_credential)
        state = StateStores.from_clients(storage, window_seconds=settings.coalesce_seconds)
        dispatcher = QueueDispatcher(state.queue, state.coalescer, settings.coalesce_seconds)
        teams = teams_webhook(settings) if settings.teams_webhook_url else None
        alerts = build_alerter(
            settings, state.findings, alert_channels(settings, credential, teams=teams), utc_now
        )
        cards = approval_cards(teams, environ)
        recreations = build_recreations(settings, clients, state, cards=cards)
        remediation = build_remediation(settings, clients, recreations)
        return cls(
            settings=settings,
            source=source,
            index=None,
            dispatcher=dispatcher,
            state=state,
            ordering=EventOrder(state.watermarks),
            credential=credential,
            alerts=alerts,
            remediation=remediation,
            recreations=recreations,
        )

    def dependency_index(self) -> DependencyIndex:
        """Return the dependency index, building it from the source the first time."""
        if self.index is None:
            self.index = build_index(self.source, self.settings.scope_subscriptions)
            if isinstance(self.dispatcher, InlineDispatcher) and self.dispatcher.index is None:
                self.dispatcher.index = self.index
        return self.index


def approval_cards(teams: TeamsWebhook | None, environ: Mapping[str, str]) -> ApprovalCards | None:
    """Build the approval card poster when Teams is configured and the app knows its URL.

    The card's buttons link to the app's public https URL, from WEBSITE_HOSTNAME, which the
    Functions host sets in Azure.
    """
    from remediators.actions.executors import ApprovalCards

    if teams is None:
        return None
    host = (environ.get(WEBSITE_HOSTNAME) or "").strip()
    if not host:
        logger.warning(
            "%s is not set, so recreation approval cards are not posted; approve requests "
            "with POST /api/recreations/{id}/approve",
            WEBSITE_HOSTNAME,
        )
        return None
    return ApprovalCards(teams, f"https://{host}")


def build_index(source: EstateSource, subscriptions: tuple[str, ...]) -> DependencyIndex:
    """Index every workspace under `subscriptions` as the source currently returns it."""
    from remediators.estate.estate import build_context

    index = DependencyIndex()
    for subscription in subscriptions:
        for workspace_id in source.workspace_ids(f"/subscriptions/{subscription}"):
            try:
                estate = source.workspace_estate(workspace_id)
            except KeyError:
                continue
            index.update(build_context(estate, workspace_id))
    logger.info(
        "Built the dependency index: %d workspaces in %d subscriptions",
        len(index),
        len(subscriptions),
    )
    return index


_lock = threading.Lock()
_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Set the runtime the trigger functions use; None makes the next call rebuild it."""
    global _current
    with _lock:
        _current = runtime


def current() -> Runtime:
    """Return the installed runtime, building it from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_environment()
        return _current
