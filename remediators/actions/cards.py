"""Adaptive Card 1.5 builders for Teams alerts, and the Workflows webhook message envelope.

Builders are pure: they return dicts that serialise to the JSON Teams receives. Every card fits
in `TEAMS_MESSAGE_LIMIT_BYTES`, because Teams rejects larger messages: a card with many
findings lists the most severe ones and ends with "and M more".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from remediators.actions.messages import (
    ActionContext,
    AlertContent,
    AlertKind,
    FindingView,
    alert_content,
    utc_text,
    workspace_name,
)
from remediators.findings import Finding, Severity

# Teams documents the message size limit as 28 KB for incoming webhooks ("The message size limit
# is 28 KB. When the size exceeds 28 KB, you receive an error.",
# learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook)
# and as about 28 KB for the Workflows (Power Automate) Teams actions that post the card
# (learn.microsoft.com/connectors/teams, "Request Entity too large"). The builders keep the whole
# serialised envelope at or under 28,000 bytes, the lower reading of "28 KB".
TEAMS_MESSAGE_LIMIT_BYTES = 28_000
# At most this many findings are listed in one card before "and M more", however small they are.
DEFAULT_MAX_LISTED = 25

ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_VERSION = "1.5"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
PORTAL_RESOURCE_URL = "https://portal.azure.com/#@/resource"

Card = dict[str, Any]

_CONTAINER_STYLE = {
    Severity.ERROR: "attention",
    Severity.WARNING: "warning",
    Severity.INFO: "default",
}


def teams_message(card: Card) -> dict[str, Any]:
    """Wrap a card in the message envelope that a Teams Workflows webhook accepts.

    The "Post to a channel when a webhook request is received" template posts each entry of
    `attachments` whose content type is the Adaptive Card type.
    """
    return {
        "type": "message",
        "attachments": [
            {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
        ],
    }


def serialize_message(message: dict[str, Any]) -> bytes:
    """Serialise a message exactly as the webhook client posts it (compact UTF-8 JSON)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def message_size(card: Card) -> int:
    """Return the size in bytes of `card` posted inside the webhook envelope."""
    return len(serialize_message(teams_message(card)))


def _card(title: str, body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": title,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _text(text: str, **options: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **options}


def _facts(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def short_id(resource_id: str) -> str:
    """Shorten an ARM id to its last type and name, such as `workspaces/mlw-contoso-batch`."""
    segments = [segment for segment in resource_id.split("/") if segment]
    if not _is_arm_id(resource_id) or len(segments) < 2:
        return resource_id
    return "/".join(segments[-2:])


def _is_arm_id(value: str) -> bool:
    return value.lower().startswith("/subscriptions/")


def _facts_with_ids(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Build a FactSet that names ARM ids by type and name, followed by the full ids.

    The adaptivecards renderer (npm package, as scripts/render_cards.sh runs it) clips a
    FactSet value that has no space or hyphen to break at, and ARM ids have long runs without
    one. Each full id goes in a small wrapping TextBlock under the FactSet instead.
    """
    facts: list[tuple[str, str]] = []
    ids: list[dict[str, Any]] = []
    for title, value in pairs:
        if not _is_arm_id(value):
            facts.append((title, value))
            continue
        facts.append((title, short_id(value)))
        ids.append(_text(f"{title} id: {value}", size="small", isSubtle=True, spacing="small"))
    return [_facts(facts), *ids]


def _open_url(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def portal_url(resource_id: str) -> str:
    return f"{PORTAL_RESOURCE_URL}{resource_id}"


def _header(content: AlertContent) -> list[dict[str, Any]]:
    return [
        _text(content.title, style="heading", size="large", weight="bolder"),
        _text(content.summary, isSubtle=True),
        *_facts_with_ids(content.facts),
    ]


def _finding_block(view: FindingView, *, resolved: bool) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        _text(f"**{view.severity.value.upper()}** · {view.rule}", weight="bolder"),
        _text(view.what),
        *_facts_with_ids([("Resource", view.resource_id)]),
    ]
    if not resolved:
        items += [
            _text(f"**Why it matters for batch endpoints:** {view.why}"),
            _text("**Fix:**"),
            _text(view.fix, fontType="monospace", spacing="none"),
            _facts([("Product action", view.action)]),
        ]
    if view.docs:
        items.append(_text(f"[Documentation]({view.docs})"))
    return {
        "type": "Container",
        "separator": True,
        "spacing": "medium",
        "style": "good" if resolved else _CONTAINER_STYLE[view.severity],
        "items": items,
    }


def _more_block(hidden: int) -> dict[str, Any]:
    return _text(f"…and {hidden} more not shown here.", isSubtle=True, separator=True)


def _findings_card(content: AlertContent, listed: int) -> Card:
    resolved = content.kind is AlertKind.RESOLVED
    body = _header(content)
    body += [_finding_block(v, resolved=resolved) for v in content.findings[:listed]]
    hidden = len(content.findings) - listed
    if hidden > 0:
        body.append(_more_block(hidden))
    actions = [_open_url("Open workspace in the Azure portal", portal_url(content.workspace_id))]
    return _card(content.title, body, actions)


def fit_card(
    build: Callable[[int], Card],
    total: int,
    *,
    max_listed: int = DEFAULT_MAX_LISTED,
    limit: int = TEAMS_MESSAGE_LIMIT_BYTES,
) -> Card:
    """Return `build(n)` for the largest n <= max_listed whose message fits in `limit` bytes."""
    for listed in range(min(total, max_listed), -1, -1):
        card = build(listed)
        if message_size(card) <= limit:
            return card
    raise ValueError(
        f"the card does not fit in {limit} bytes even with no findings listed; "
        "shorten the title or facts"
    )


def card_for_content(
    content: AlertContent,
    *,
    max_listed: int = DEFAULT_MAX_LISTED,
    limit: int = TEAMS_MESSAGE_LIMIT_BYTES,
) -> Card:
    """Render alert content as a card listing as many findings as fit."""
    return fit_card(
        lambda listed: _findings_card(content, listed),
        len(content.findings),
        max_listed=max_listed,
        limit=limit,
    )


def digest_card(
    workspace_id: str,
    findings: Iterable[Finding],
    *,
    context: ActionContext,
    evaluated_at: datetime,
    max_listed: int = DEFAULT_MAX_LISTED,
) -> Card:
    """Build the card for the new findings of one workspace in one evaluation."""
    content = alert_content(
        AlertKind.NEW, workspace_id, findings, context=context, evaluated_at=evaluated_at
    )
    return card_for_content(content, max_listed=max_listed)


def reminder_card(
    workspace_id: str,
    findings: Iterable[Finding],
    *,
    context: ActionContext,
    evaluated_at: datetime,
    last_notified_at: datetime | None = None,
    max_listed: int = DEFAULT_MAX_LISTED,
) -> Card:
    """Build the card for findings still open after the re-notify interval."""
    content = alert_content(
        AlertKind.REMINDER,
        workspace_id,
        findings,
        context=context,
        evaluated_at=evaluated_at,
        last_notified_at=last_notified_at,
    )
    return card_for_content(content, max_listed=max_listed)


def resolved_card(
    workspace_id: str,
    findings: Iterable[Finding],
    *,
    context: ActionContext,
    evaluated_at: datetime,
    max_listed: int = DEFAULT_MAX_LISTED,
) -> Card:
    """Build the card for findings that the latest evaluation no longer reports."""
    content = alert_content(
        AlertKind.RESOLVED, workspace_id, findings, context=context, evaluated_at=evaluated_at
    )
    return card_for_content(content, max_listed=max_listed)


@dataclass(frozen=True)
class RecreationApproval:
    """A queued batch endpoint recreation that waits for a person to approve or reject it."""

    request_id: str
    endpoint_id: str
    workspace_id: str
    reason: str
    requested_at: datetime
    deployments: Sequence[str] = ()
    snapshot_location: str | None = None


# The HTTP functions that take a decision, as `az functionapp function keys list` names them.
APPROVE_FUNCTION = "approve_recreation"
REJECT_FUNCTION = "reject_recreation"


def approval_urls(base_url: str, request_id: str) -> tuple[str, str]:
    """Return the approve and reject endpoint URLs of a recreation request.

    Both endpoints take only a POST request with a function key and a JSON body, so the card
    shows them in commands, not as links. Raises ValueError unless `base_url` is an https URL,
    because the commands send a function key.
    """
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(
            f"approval base URL {base_url!r} is invalid; give the https URL of the function app, "
            "for example https://<app>.azurewebsites.net"
        )
    root = base_url.rstrip("/")
    request = quote(request_id, safe="")
    return (
        f"{root}/api/recreations/{request}/approve",
        f"{root}/api/recreations/{request}/reject",
    )


def decision_command(url: str) -> str:
    """Return the curl command that sends a decision to `url`, with placeholders to fill in."""
    return (
        f'curl -X POST "{url}" -H "x-functions-key: <key>" '
        '-H "Content-Type: application/json" '
        """-d '{"by": "<your name>", "reason": "<why>"}'"""
    )


def function_app_name(base_url: str) -> str:
    """Return the app name of an `https://<app>.azurewebsites.net` URL, else a placeholder."""
    host = urlsplit(base_url).hostname or ""
    if host.endswith(".azurewebsites.net"):
        return host.split(".")[0]
    return "<function app name>"


def key_commands(base_url: str) -> list[str]:
    """Return the az commands that print the function key and the host key of the app."""
    target = f"--resource-group <resource group> --name {function_app_name(base_url)}"
    return [
        f"az functionapp function keys list {target} --function-name {APPROVE_FUNCTION}",
        f"az functionapp keys list {target}",
    ]


def _command(text: str) -> dict[str, Any]:
    return _text(text, fontType="monospace", size="small", spacing="small")


def _approval_steps(approval: RecreationApproval, base_url: str) -> list[dict[str, Any]]:
    approve_url, reject_url = approval_urls(base_url, approval.request_id)
    approve_key, host_key = key_commands(base_url)
    return [
        _text(
            "**How to decide.** Send a POST request with a function key; opening the URL in a "
            "browser does not work. To approve:",
            separator=True,
        ),
        _command(decision_command(approve_url)),
        _text("To reject:", spacing="small"),
        _command(decision_command(reject_url)),
        _text(
            f"Get the key of the {APPROVE_FUNCTION} function (the {REJECT_FUNCTION} function "
            "has its own) or the app's host key, which works for both:",
            spacing="small",
        ),
        _command(approve_key),
        _command(host_key),
        _text(
            "The card never contains a key. GET /api/recreations with the host key lists every "
            "request and its state.",
            isSubtle=True,
        ),
    ]


def recreation_approval_card(approval: RecreationApproval, *, base_url: str) -> Card:
    """Build the card that shows a person how to approve or reject one endpoint recreation.

    A card posted through a Teams Workflows webhook cannot send a request to this app, so the
    card gives the request id, the endpoints and copyable commands instead of buttons.
    """
    endpoint = workspace_name(approval.endpoint_id)
    title = f"Approve recreation of batch endpoint {endpoint}?"
    facts = [
        ("Endpoint", approval.endpoint_id),
        ("Workspace", approval.workspace_id),
        ("Requested", utc_text(approval.requested_at)),
        ("Request id", approval.request_id),
    ]
    if approval.deployments:
        facts.append(("Deployments", ", ".join(approval.deployments)))
    if approval.snapshot_location:
        facts.append(("Snapshot", approval.snapshot_location))
    body = [
        _text(title, style="heading", size="large", weight="bolder"),
        _text(approval.reason),
        *_facts_with_ids(facts),
        _text(
            "Recreation deletes the endpoint and creates it again with the same name, auth "
            "mode, tags, deployments and default deployment, after saving every definition. "
            "Scoring requests fail while it runs."
        ),
        *_approval_steps(approval, base_url),
    ]
    actions = [_open_url("Open endpoint in the Azure portal", portal_url(approval.endpoint_id))]
    card = _card(title, body, actions)
    if message_size(card) > TEAMS_MESSAGE_LIMIT_BYTES:
        raise ValueError(
            f"approval card for request {approval.request_id!r} exceeds "
            f"{TEAMS_MESSAGE_LIMIT_BYTES} bytes; shorten the reason or the deployment list"
        )
    return card
