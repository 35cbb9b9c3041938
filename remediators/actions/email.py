"""Send alert email through Azure Communication Services Email.

The HTML and plain-text bodies render the same `AlertContent` as the Teams card, and list every
finding, because email has no 28 KB message limit.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from azure.communication.email import EmailClient
from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError

from remediators.actions.messages import AlertContent, DeliveryResult, FindingView

DEFAULT_POLLING_INTERVAL = 5.0


def _validate_recipients(recipients: Sequence[str]) -> list[str]:
    addresses = [address.strip() for address in recipients if address.strip()]
    if not addresses:
        raise ValueError("no email recipients are configured; set at least one address")
    invalid = [address for address in addresses if "@" not in address]
    if invalid:
        raise ValueError(f"invalid email recipient {invalid[0]!r}; expected name@domain")
    return addresses


def subject(content: AlertContent) -> str:
    return f"[batch endpoint isolation] {content.title}"


def render_text(content: AlertContent) -> str:
    """Render alert content as the plain-text body."""
    lines = [content.title, "", content.summary, ""]
    lines += [f"{title}: {value}" for title, value in content.facts]
    for index, view in enumerate(content.findings, start=1):
        lines += ["", f"{index}. {view.severity.value.upper()} {view.rule}"]
        lines += [f"   What is wrong: {view.what}", f"   Resource: {view.resource_id}"]
        if content.kind.value != "resolved":
            lines += [
                f"   Why it matters for batch endpoints: {view.why}",
                f"   Fix: {view.fix}",
                f"   Product action: {view.action}",
            ]
        if view.docs:
            lines.append(f"   Documentation: {view.docs}")
    return "\n".join(lines) + "\n"


def _html_finding(view: FindingView, *, resolved: bool) -> str:
    escape = html.escape
    rows = [
        f"<h3>{escape(view.severity.value.upper())} {escape(view.rule)}</h3>",
        f"<p><b>What is wrong:</b> {escape(view.what)}</p>",
        f"<p><b>Resource:</b> <code>{escape(view.resource_id)}</code></p>",
    ]
    if not resolved:
        rows += [
            f"<p><b>Why it matters for batch endpoints:</b> {escape(view.why)}</p>",
            f"<p><b>Fix:</b></p><pre>{escape(view.fix)}</pre>",
            f"<p><b>Product action:</b> {escape(view.action)}</p>",
        ]
    if view.docs:
        rows.append(f'<p><a href="{escape(view.docs, quote=True)}">Documentation</a></p>')
    return "\n".join(rows)


def render_html(content: AlertContent) -> str:
    """Render alert content as the HTML body; every value is HTML-escaped."""
    escape = html.escape
    resolved = content.kind.value == "resolved"
    facts = "\n".join(
        f"<tr><th align='left'>{escape(t)}</th><td>{escape(v)}</td></tr>" for t, v in content.facts
    )
    findings = "\n<hr>\n".join(_html_finding(v, resolved=resolved) for v in content.findings)
    return (
        "<!DOCTYPE html>\n<html><body>\n"
        f"<h2>{escape(content.title)}</h2>\n<p>{escape(content.summary)}</p>\n"
        f"<table>\n{facts}\n</table>\n<hr>\n{findings}\n</body></html>\n"
    )


class EmailSender:
    """Sends alert email to the configured recipients through ACS Email.

    `polling_interval` is the seconds between status polls of the send operation; tests pass 0.
    Extra keyword arguments (for example `transport`) go to `EmailClient`.
    """

    channel = "email"

    def __init__(
        self,
        endpoint: str,
        credential: TokenCredential | AzureKeyCredential,
        *,
        sender: str,
        recipients: Sequence[str],
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        **client_options: Any,
    ) -> None:
        if "@" not in sender:
            raise ValueError(f"invalid email sender {sender!r}; expected the ACS MailFrom address")
        self._sender = sender
        self._recipients = _validate_recipients(recipients)
        self._polling_interval = polling_interval
        self._client = EmailClient(endpoint, credential, **client_options)

    def __repr__(self) -> str:
        return f"EmailSender(sender={self._sender!r}, recipients={len(self._recipients)})"

    def message(self, content: AlertContent) -> dict[str, Any]:
        """Build the ACS send request body for `content`."""
        return {
            "senderAddress": self._sender,
            "recipients": {"to": [{"address": address} for address in self._recipients]},
            "content": {
                "subject": subject(content),
                "plainText": render_text(content),
                "html": render_html(content),
            },
        }

    def send(self, content: AlertContent) -> DeliveryResult:
        """Send one alert and wait for ACS to report the outcome. Never raises for HTTP failures."""
        try:
            poller = self._client.begin_send(
                self.message(content), polling_interval=self._polling_interval
            )
            result = poller.result()
        except HttpResponseError as error:
            return DeliveryResult(
                self.channel,
                delivered=False,
                status_code=error.status_code,
                error=type(error).__name__,
            )
        except AzureError as error:
            return DeliveryResult(self.channel, delivered=False, error=type(error).__name__)
        status = str((result or {}).get("status", ""))
        if status.lower() == "succeeded":
            return DeliveryResult(self.channel, delivered=True)
        return DeliveryResult(self.channel, delivered=False, error=f"send status {status!r}")
