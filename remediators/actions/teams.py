"""Post Adaptive Cards to a Microsoft Teams Workflows webhook.

The webhook URL carries a signature (`sig=` in its query), so anyone holding it can post to the
channel. It is a secret: this module never logs it or puts it in an exception message or repr.
Code that needs to name the webhook uses `TeamsWebhook.host` or `TeamsWebhook.fingerprint`.

Requests go through an azure.core pipeline with a retry policy that honours Retry-After on 429
and 5xx responses. The transport is a small http.client one, because urllib3 (under the default
requests transport) logs every request path and query, signature included, at DEBUG.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline import Pipeline, PipelineResponse
from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy, UserAgentPolicy
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport

from remediators.actions.cards import Card, serialize_message, teams_message
from remediators.actions.messages import DeliveryResult

_LOOPBACK_NAMES = {"localhost"}
_RETRY_ON_METHODS = frozenset(["POST"])
# Retry-After values above this many seconds are cut to it, so one slow channel cannot hold an
# evaluation for minutes. The alert stays pending if the retries still fail.
DEFAULT_MAX_RETRY_AFTER = 30.0


class WebhookUrlError(ValueError):
    """Raised for a webhook URL that is not an https URL; the message never contains the URL."""


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(url: str, *, allow_insecure_loopback: bool = False) -> str:
    """Return `url` if it is an https URL with a host, else raise WebhookUrlError.

    http is accepted only for a loopback host and only with `allow_insecure_loopback`, which
    exists for local stand-ins of the webhook.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise WebhookUrlError(
            "the Teams webhook URL has no host; copy the full URL from the workflow's "
            "'When a Teams webhook request is received' trigger"
        )
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_insecure_loopback and _is_loopback(host):
        return url
    raise WebhookUrlError(
        f"the Teams webhook URL for host {host!r} uses scheme {parts.scheme!r}; it must be "
        "https (http is allowed only for 127.0.0.1 with allow_insecure_loopback=True)"
    )


def url_fingerprint(url: str) -> str:
    """Return a short, stable, non-reversible name for a secret URL, for logs and reprs."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


class _BufferedResponse(HttpResponse):
    """A fully read http.client response."""

    def __init__(
        self,
        request: HttpRequest,
        status: int,
        reason: str,
        headers: Mapping[str, str],
        data: bytes,
    ) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.reason = reason
        self.headers = dict(headers)
        self.content_type = self.headers.get("Content-Type")
        self._data = data

    def body(self) -> bytes:
        return self._data


class HttpClientTransport(HttpTransport):
    """An azure.core transport over http.client that logs nothing.

    Errors name the host only. One connection per request, because alerts are rare.
    """

    def __init__(self, *, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None):
        self._timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()

    def __enter__(self) -> HttpClientTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        timeout = float(kwargs.get("connection_timeout", self._timeout))
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, parts.port, timeout=timeout, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        body = request.data if isinstance(request.data, bytes) else None
        try:
            try:
                connection.request(request.method, target, body=body, headers=request.headers)
            except OSError as error:
                raise ServiceRequestError(
                    f"connecting to host {host!r} failed: {type(error).__name__}"
                ) from None
            try:
                raw = connection.getresponse()
                data = raw.read()
            except TimeoutError:
                raise ServiceResponseTimeoutError(
                    f"host {host!r} did not respond within {timeout} s"
                ) from None
            except (OSError, http.client.HTTPException) as error:
                raise ServiceResponseError(
                    f"reading the response of host {host!r} failed: {type(error).__name__}"
                ) from None
        finally:
            connection.close()
        return _BufferedResponse(request, raw.status, raw.reason, dict(raw.getheaders()), data)


class _BoundedRetryPolicy(RetryPolicy):
    """RetryPolicy that caps the Retry-After it honours at `max_retry_after` seconds."""

    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, self._max_retry_after)


class TeamsWebhook:
    """A Teams Workflows webhook ("When a Teams webhook request is received" trigger).

    `max_attempts` bounds the requests per delivery (first try plus retries) and `timeout` is
    the socket timeout of each attempt in seconds. azure.core's RetryPolicy retries responses with
    Retry-After, 408, 429 and 5xx other than 501 and 505, and connection failures. It never
    retries after a request may have been received without an answer (a read timeout), because
    the flow could then post the card twice.
    """

    channel = "teams"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        backoff_factor: float = 0.8,
        allow_insecure_loopback: bool = False,
        transport: HttpTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts is {max_attempts}; it must be at least 1")
        self._url = validate_webhook_url(url, allow_insecure_loopback=allow_insecure_loopback)
        self.host = urlsplit(url).hostname or ""
        self.fingerprint = url_fingerprint(url)
        self._timeout = timeout
        retries = max_attempts - 1
        retry = _BoundedRetryPolicy(
            max_retry_after=max_retry_after,
            retry_total=retries,
            retry_connect=retries,
            retry_status=retries,
            retry_read=0,
            retry_backoff_factor=backoff_factor,
            retry_on_methods=_RETRY_ON_METHODS,
        )
        policies = [
            HeadersPolicy({"Content-Type": "application/json; charset=utf-8"}),
            UserAgentPolicy(sdk_moniker="batch-endpoint-remediator"),
            retry,
        ]
        # NOTE: no HttpLoggingPolicy here: it logs the request path, which names the workflow.
        self._pipeline: Pipeline[HttpRequest, HttpResponse] = Pipeline(
            transport or HttpClientTransport(timeout=timeout),
            policies,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return f"TeamsWebhook(host={self.host!r}, fingerprint={self.fingerprint!r})"

    def post_card(self, card: Card) -> DeliveryResult:
        """Post one card wrapped in the Workflows message envelope."""
        return self.post_message(teams_message(card))

    def post_message(self, message: dict[str, Any]) -> DeliveryResult:
        """Post a message and return whether Teams accepted it.

        HTTP error statuses and transport failures (`AzureError`) give an undelivered result
        instead of raising.
        """
        request = HttpRequest("POST", self._url)
        request.set_bytes_body(serialize_message(message))
        try:
            response = self._pipeline.run(
                request,
                connection_timeout=self._timeout,
                retry_on_methods=_RETRY_ON_METHODS,
            )
        except AzureError as error:
            return DeliveryResult(self.channel, delivered=False, error=type(error).__name__)
        status = response.http_response.status_code
        if 200 <= status < 300:
            return DeliveryResult(self.channel, delivered=True, status_code=status)
        return DeliveryResult(
            self.channel, delivered=False, status_code=status, error=f"HTTP {status}"
        )
