"""ARM error classification by error code, and bounded retry that honours Retry-After.

ARM reports why a write failed in the error code of the response body, or, for a long-running
operation that ends Failed, in the error code of the operation status body. Remediation decides
by that code, never by the HTTP status alone: a 409 can be a transient conflict
(`AnotherOperationInProgress`) or a permanent one (`CannotChangeSubnetOnExistingPrivateEndpoint`).
"""

from __future__ import annotations

import enum
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.polling.base_polling import BadResponse

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ErrorKind(enum.Enum):
    """The next step after a failed ARM request."""

    # Retry after a delay: throttling, a conflicting operation, a server or connection error.
    TRANSIENT = "transient"
    # Do not retry: the request can only succeed after someone changes something.
    PERMANENT = "permanent"
    # The write may or may not have happened: read the resource, never re-issue the write.
    OUTCOME_UNKNOWN = "outcome-unknown"


# Error codes that clear on their own, in the spelling ARM uses.
TRANSIENT_CODES = frozenset(
    code.lower()
    for code in (
        "TooManyRequests",
        "RetryableError",
        "RetryableErrorDueToAnotherOperation",
        "StorageAccountOperationInProgress",
        "AnotherOperationInProgress",
        "OperationNotAllowedOnResourceWhileUpdating",
        "ReferencedResourceNotProvisioned",
        "Conflict_ResourceInProgress",
        "InternalServerError",
        "ServerTimeout",
        "ServiceUnavailable",
        "GatewayTimeout",
    )
)

# Permanent codes and what a person has to do before the write can succeed.
PERMANENT_FIXES: Mapping[str, str] = {
    "privateendpointcannotbecreatedinsubnetthathasnetworkpoliciesenabled": (
        "set privateEndpointNetworkPolicies to Disabled on the private endpoint subnet, or "
        "configure another subnet in REMEDIATOR_PE_SUBNET_ID; the remediator never changes "
        "subnet policies because that changes NSG and route handling for every private "
        "endpoint in the subnet"
    ),
    "linkedauthorizationfailed": (
        "grant the remediator identity the privateEndpointConnectionsApproval/action permission "
        "on the target resource, or let the target's owner approve a manual connection request"
    ),
    "authorizationfailed": (
        "grant the remediator identity the role that allows this action on the resource named "
        "in the error message"
    ),
    "invalidresourcereference": (
        "check that the subnet in REMEDIATOR_PE_SUBNET_ID (or of the workspace's private "
        "endpoint) exists and that the remediator identity can read it"
    ),
    "subnetnotfound": (
        "check that the subnet in REMEDIATOR_PE_SUBNET_ID exists; create it or configure "
        "another subnet"
    ),
    "invalidsubnetreference": (
        "check that the subnet in REMEDIATOR_PE_SUBNET_ID exists; create it or configure "
        "another subnet"
    ),
    "cannotchangesubnetonexistingprivateendpoint": (
        "an existing private endpoint cannot move to another subnet; delete it and let the "
        "remediator create a new one, or keep the existing one"
    ),
    "privatednszonenotfound": (
        "create the private DNS zone in the configured DNS subscription or resource group, "
        "or declare custom DNS"
    ),
    "invalidrequestcontent": "the request body is invalid; report it as a remediator bug",
    "badrequest": "the request was rejected as invalid; see the error message for the field",
}

# Codes that mean "the identity may not do this": never retried, never looped on.
AUTHORIZATION_CODES = frozenset({"linkedauthorizationfailed", "authorizationfailed"})


@dataclass(frozen=True)
class ArmError:
    """A failed ARM request, reduced to what remediation decides on."""

    kind: ErrorKind
    code: str | None
    status_code: int | None
    message: str
    retry_after: float | None = None
    correlation_id: str | None = None
    fix: str | None = None

    @property
    def is_authorization(self) -> bool:
        return (self.code or "").lower() in AUTHORIZATION_CODES

    def describe(self) -> str:
        """Render the error for an alert or audit record: code, message and fix."""
        head = f"{self.code or 'HTTP ' + str(self.status_code)}: {self.message}"
        return f"{head} Fix: {self.fix}" if self.fix else head


class ArmOperationError(Exception):
    """An ARM write failed for good, or kept failing after the retry bound."""

    def __init__(self, operation: str, error: ArmError, attempts: int) -> None:
        self.operation = operation
        self.error = error
        self.attempts = attempts
        super().__init__(f"{operation} failed after {attempts} attempt(s): {error.describe()}")


def classify(error: BaseException) -> ArmError:
    """Classify an exception raised by an SDK call or an LRO poller."""
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return ArmError(ErrorKind.TRANSIENT, None, None, f"connection error: {error}")
    if isinstance(error, HttpResponseError) and _is_missing_status(error):
        return ArmError(
            ErrorKind.OUTCOME_UNKNOWN,
            None,
            error.status_code,
            "the operation status response had no status; read the resource to learn the outcome",
            correlation_id=correlation_id_of(error),
        )
    if isinstance(error, HttpResponseError):
        return _classify_http(error)
    if isinstance(error, AzureError):
        return ArmError(ErrorKind.TRANSIENT, None, None, str(error))
    raise TypeError(f"cannot classify {type(error).__name__} as an ARM error") from error


def _classify_http(error: HttpResponseError) -> ArmError:
    code, message = error_code_and_message(error)
    status = error.status_code
    lowered = (code or "").lower()
    correlation = correlation_id_of(error)
    retry_after = retry_after_seconds(_headers_of(error))
    # A known permanent code wins over the status, so it is never retried whatever the status.
    # Unknown 4xx codes are permanent too, so nothing loops on a request ARM rejects.
    transient = lowered in TRANSIENT_CODES or status == 429 or (status or 0) >= 500
    kind = ErrorKind.PERMANENT
    if transient and lowered not in PERMANENT_FIXES:
        kind = ErrorKind.TRANSIENT
    return ArmError(
        kind,
        code,
        status,
        message or str(error).splitlines()[0],
        retry_after=retry_after,
        correlation_id=correlation,
        fix=PERMANENT_FIXES.get(lowered),
    )


def error_code_and_message(error: HttpResponseError) -> tuple[str | None, str | None]:
    """Return the ARM error code and message from the response or operation status body."""
    parsed = getattr(error, "error", None)
    code = getattr(parsed, "code", None)
    message = getattr(parsed, "message", None)
    if code:
        return str(code), str(message) if message else None
    body = _json_body(error)
    inner = body.get("error") if isinstance(body.get("error"), Mapping) else body
    if isinstance(inner, Mapping) and inner.get("code"):
        return str(inner["code"]), str(inner.get("message") or "") or None
    return None, None


def _is_missing_status(error: HttpResponseError) -> bool:
    inner = getattr(error, "inner_exception", None) or error.__cause__
    return isinstance(inner, BadResponse) and "status" in str(inner).lower()


def _json_body(error: HttpResponseError) -> dict[str, Any]:
    response = error.response
    if response is None:
        return {}
    try:
        body = json.loads(response.text())
    except (ValueError, TypeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _headers_of(error: HttpResponseError) -> Mapping[str, str]:
    response = error.response
    headers = getattr(response, "headers", None)
    return headers if headers is not None else {}


def correlation_id_of(error: HttpResponseError) -> str | None:
    return correlation_id(_headers_of(error))


def correlation_id(headers: Mapping[str, str] | None) -> str | None:
    """Return ARM's x-ms-correlation-request-id from response headers (any case)."""
    if not headers:
        return None
    for name, value in headers.items():
        if name.lower() == "x-ms-correlation-request-id":
            return value
    return None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Parse Retry-After (seconds or an HTTP date) or retry-after-ms; None when absent."""
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Bound on retries of transient ARM errors."""

    attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0
    # Total seconds of waiting allowed, kept below the Functions invocation timeout.
    budget: float = 240.0

    def delay(self, attempt: int, error: ArmError) -> float:
        """Return the wait before retry number `attempt` (1-based): Retry-After, else backoff."""
        if error.retry_after is not None:
            return min(error.retry_after, self.max_delay)
        backoff = self.base_delay * (2 ** (attempt - 1))
        return min(backoff * (0.5 + random.random() / 2), self.max_delay)


def call_with_retry(
    operation: str,
    function: Callable[[], T],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_outcome_unknown: Callable[[], T] | None = None,
) -> T:
    """Run `function`, retrying transient ARM errors within the policy's bound.

    Permanent errors raise `ArmOperationError` at once. When a poll response has no status,
    `on_outcome_unknown` (a read of the resource) decides the result: the write is never
    re-issued blindly.
    """
    policy = policy or RetryPolicy()
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return function()
        except AzureError as raised:
            error = classify(raised)
        if error.kind is ErrorKind.OUTCOME_UNKNOWN and on_outcome_unknown is not None:
            logger.warning("%s: %s", operation, error.message)
            return on_outcome_unknown()
        if error.kind is not ErrorKind.TRANSIENT or attempt >= policy.attempts:
            raise ArmOperationError(operation, error, attempt)
        delay = policy.delay(attempt, error)
        if waited + delay > policy.budget:
            raise ArmOperationError(operation, error, attempt)
        logger.warning(
            "%s failed with %s (attempt %d of %d); retrying in %.1f s",
            operation,
            error.code or error.status_code,
            attempt,
            policy.attempts,
            delay,
            extra={"correlation_id": error.correlation_id},
        )
        sleep(delay)
        waited += delay


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def resource_lock(resource_id: str) -> threading.Lock:
    """Return the process-wide lock that serialises writes on one resource.

    Writes on one target take turns, so this process never causes the conflict codes that
    resources with one exclusive operation at a time (storage accounts) return.
    """
    key = resource_id.strip().rstrip("/").lower()
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
        return lock


class Correlation:
    """The x-ms-correlation-request-id of one action's ARM writes.

    The id is sent with each write so ARM logs the whole action under it. A different id in
    a response replaces it, so the audit record names the id ARM used.
    """

    def __init__(self) -> None:
        self.id = str(uuid.uuid4())

    def options(self) -> dict[str, Any]:
        """Return the per-call keyword arguments of an SDK write."""
        return {
            "headers": {"x-ms-correlation-request-id": self.id},
            "raw_response_hook": self._record,
        }

    def _record(self, pipeline_response: Any) -> None:
        headers = getattr(pipeline_response.http_response, "headers", None)
        returned = correlation_id(headers)
        if returned:
            self.id = returned
