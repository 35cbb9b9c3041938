"""Turn an Event Grid delivery, in any schema, into typed resource changes.

A delivery is the Event Grid schema or CloudEvents 1.0, one event or an array, as bytes, text,
parsed JSON or the `EventGridEvent` objects the Functions trigger passes. Each input event
becomes exactly one `ResourceChange`, `Ignored` or `Rejected` value. Bad input never raises:
it becomes a `Rejected` value with the reason, so one broken event cannot stop a batch.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from azure.mgmt.core.tools import is_valid_resource_id

from remediators.estate.models import as_datetime, as_dict, as_text

logger = logging.getLogger(__name__)

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"
ACTION_SUCCESS = "Microsoft.Resources.ResourceActionSuccess"
CREATED_OR_UPDATED = "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated"
DELETED = "Microsoft.ResourceNotifications.Resources.Deleted"

Operation = Literal["write", "delete", "action"]
Schema = Literal["eventgrid", "cloudevents"]

# Event types that describe a change to an ARM resource, and the operation each one means.
_OPERATIONS: dict[str, Operation] = {
    WRITE_SUCCESS: "write",
    DELETE_SUCCESS: "delete",
    ACTION_SUCCESS: "action",
    CREATED_OR_UPDATED: "write",
    DELETED: "delete",
}
HANDLED_EVENT_TYPES: tuple[str, ...] = tuple(_OPERATIONS)

_HANDLED_BY_LOWER = {name.lower(): name for name in HANDLED_EVENT_TYPES}
_SUBSCRIPTION_VALIDATION = "microsoft.eventgrid.subscriptionvalidationevent"
_HEALTH_RESOURCES_PREFIX = "microsoft.resourcenotifications.healthresources."
_UNSAFE_CHARACTERS = frozenset("?#%\\<>*{}")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass(frozen=True)
class ResourceChange:
    """One change to one ARM resource, as read from an event; never trusted for state."""

    event_id: str
    event_type: str
    resource_id: str
    operation: Operation
    event_time: datetime
    correlation_id: str | None
    subscription_id: str
    # The resource body that Azure Resource Notifications carry (data.resourceInfo).
    body: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    schema: Schema = "eventgrid"
    # The topic (Event Grid schema) or source (CloudEvents) that published the event.
    source: str | None = None

    @property
    def resource_type(self) -> str:
        return resource_type_of(self.resource_id)


@dataclass(frozen=True)
class Ignored:
    """An event that is valid but needs no evaluation."""

    event_id: str | None
    reason: str
    resource_id: str | None = None


@dataclass(frozen=True)
class Rejected:
    """An event that cannot be used: malformed, without a usable id, or out of scope."""

    event_id: str | None
    reason: str
    resource_id: str | None = None


Normalised = ResourceChange | Ignored | Rejected


def normalise(payload: object) -> list[Normalised]:
    """Read every event of a delivery; one result per input event, in delivery order."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            payload = bytes(payload).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return [Rejected(None, f"malformed delivery: the body is not UTF-8 ({error.reason})")]
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as error:
            return [Rejected(None, f"malformed delivery: the body is not JSON ({error})")]
        except RecursionError:
            return [Rejected(None, "malformed delivery: the JSON body is nested too deeply")]
    if isinstance(payload, list):
        if not payload:
            return [Rejected(None, "malformed delivery: the event array is empty")]
        return [normalise_event(item) for item in payload]
    return [normalise_event(payload)]


def normalise_event(event: object) -> Normalised:
    """Read one event: a JSON object in either schema or an `EventGridEvent`-like object."""
    if isinstance(event, Mapping):
        envelope = _envelope_from_mapping(event)
    elif callable(getattr(event, "get_json", None)) and hasattr(event, "id"):
        envelope = _envelope_from_object(event)
    else:
        return Rejected(None, f"malformed event: expected a JSON object, got {_kind(event)}")
    if isinstance(envelope, Rejected):
        return envelope
    return _change_from_envelope(envelope)


def resource_type_of(resource_id: str) -> str:
    """Return the lowercased ARM type of a resource id, using the innermost provider."""
    segments = [s for s in resource_id.strip().strip("/").split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" not in lowered:
        if len(segments) >= 4 and lowered[2] == "resourcegroups":
            return "microsoft.resources/resourcegroups"
        return "microsoft.resources/subscriptions"
    start = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace = lowered[start + 1] if start + 1 < len(lowered) else ""
    types = lowered[start + 2 :: 2]
    return "/".join([namespace, *types])


def resource_id_problem(resource_id: str) -> str | None:
    """Return why `resource_id` is unsafe to put in an ARM request path, or None.

    ARM resource names never contain these characters, so an id with one is forged or
    corrupt: `..` and `.` segments, empty segments, a query (`?`) or fragment (`#`),
    percent-encoding (`%2F` is an encoded slash), backslashes, `<>*{}`, whitespace and
    control characters (newlines split log lines and HTTP headers).
    """
    for character in resource_id:
        if character.isspace() or not character.isprintable():
            return f"it contains the character {character!r}"
        if character in _UNSAFE_CHARACTERS:
            return f"it contains {character!r}"
    segments = resource_id.split("/")
    if any(segment in (".", "..") for segment in segments):
        return "it contains a '.' or '..' segment"
    if any(not segment for segment in segments[1:]):
        return "it contains an empty segment ('//' or a trailing '/')"
    return None


def usable_resource_id(candidate: str | None) -> str | None:
    """Return `candidate` when it is an ARM resource id under a real subscription GUID.

    Outer whitespace and one trailing slash are trimmed; `resource_id_problem` rejects the rest.
    """
    text = as_text(candidate)
    if text is not None:
        text = text.removesuffix("/")
    if not text or "{" in text or "}" in text:
        return None
    if resource_id_problem(text) is not None:
        return None
    if not text.startswith("/") or not is_valid_resource_id(text):
        return None
    segments = text.split("/")
    if len(segments) < 3 or segments[1].lower() != "subscriptions":
        return None
    if not _GUID.match(segments[2]):
        return None
    # A bare subscription or resource group id is a scope, not a resource.
    if "providers" not in (s.lower() for s in segments):
        return None
    return text


@dataclass
class _Envelope:
    event_id: str | None
    event_type: str | None
    subject: str | None
    source: str | None
    time: datetime | None
    data: dict[str, Any]
    schema: Schema


def _envelope_from_mapping(event: Mapping[str, Any]) -> _Envelope | Rejected:
    event_id = as_text(event.get("id"))
    if "specversion" in event:
        return _Envelope(
            event_id=event_id,
            event_type=as_text(event.get("type")),
            subject=as_text(event.get("subject")),
            source=as_text(event.get("source")),
            time=as_datetime(event.get("time")),
            data=as_dict(event.get("data")),
            schema="cloudevents",
        )
    if "eventType" in event or "topic" in event:
        return _Envelope(
            event_id=event_id,
            event_type=as_text(event.get("eventType")),
            subject=as_text(event.get("subject")),
            source=as_text(event.get("topic")),
            time=as_datetime(event.get("eventTime")),
            data=as_dict(event.get("data")),
            schema="eventgrid",
        )
    return Rejected(
        event_id,
        "malformed event: it has neither 'eventType' (Event Grid schema) "
        "nor 'specversion' (CloudEvents 1.0)",
    )


def _envelope_from_object(event: Any) -> _Envelope | Rejected:
    """Read an `azure.functions.EventGridEvent`, whose attributes may be None.

    With CloudEvents delivery the Python worker fills only `id` and the data. Topic, subject
    and event_type arrive as None because the CloudEvents attributes do not map onto them.
    """
    try:
        data = event.get_json()
    except ValueError as error:
        return Rejected(as_text(event.id), f"malformed event: its data is not JSON ({error})")
    event_type = as_text(getattr(event, "event_type", None))
    topic = as_text(getattr(event, "topic", None))
    event_time = getattr(event, "event_time", None)
    return _Envelope(
        event_id=as_text(getattr(event, "id", None)),
        event_type=event_type,
        subject=as_text(getattr(event, "subject", None)),
        source=topic,
        time=_utc(event_time) if isinstance(event_time, datetime) else None,
        data=as_dict(data),
        schema="eventgrid" if event_type or topic else "cloudevents",
    )


def _change_from_envelope(envelope: _Envelope) -> Normalised:
    event_id = envelope.event_id
    data = envelope.data
    event_type = envelope.event_type or _infer_event_type(data)
    if event_type is None:
        return Ignored(
            event_id, "the event has no type and its data is not a resource change (data-plane)"
        )
    skip = _skip_by_type(event_id, event_type)
    if skip is not None:
        return skip
    canonical_type = _HANDLED_BY_LOWER[event_type.lower()]

    resource_info = as_dict(data.get("resourceInfo"))
    candidates = [
        as_text(data.get("resourceUri")),
        as_text(resource_info.get("id")),
        envelope.subject,
        envelope.source,
    ]
    resource_id = next((c for c in map(usable_resource_id, candidates) if c), None)
    if resource_id is None:
        listed = ", ".join(repr(c) for c in candidates if c) or "none"
        return Rejected(
            event_id,
            f"no usable resource id in the event (candidates: {listed}); "
            "expected an ARM id under a subscription GUID",
        )
    if resource_type_of(resource_id) == "microsoft.resources/deployments":
        logger.debug(
            "Ignoring the template deployment event %s for %s",
            event_id,
            resource_id,
            extra={"event_id": event_id, "resource_id": resource_id},
        )
        return Ignored(
            event_id,
            "template deployment object; the deployed resource fires its own event",
            resource_id,
        )
    if event_id is None:
        return Rejected(None, "the event has no id", resource_id)

    return ResourceChange(
        event_id=event_id,
        event_type=canonical_type,
        resource_id=resource_id,
        operation=_OPERATIONS[canonical_type],
        event_time=_event_time(envelope),
        correlation_id=as_text(data.get("correlationId")),
        subscription_id=resource_id.split("/")[2].lower(),
        body=resource_info or None,
        schema=envelope.schema,
        source=envelope.source,
    )


def _skip_by_type(event_id: str | None, event_type: str) -> Ignored | None:
    lowered = event_type.lower()
    if lowered in _HANDLED_BY_LOWER:
        return None
    if lowered == _SUBSCRIPTION_VALIDATION:
        reason = "subscription validation event; the Functions host completes the handshake"
    elif lowered.startswith(_HEALTH_RESOURCES_PREFIX):
        reason = f"{event_type} is a resource health event, not a resource change"
    else:
        reason = f"{event_type} is not a resource change event (data-plane or unrelated)"
    return Ignored(event_id, reason)


def _infer_event_type(data: Mapping[str, Any]) -> str | None:
    """Guess the event type from the data alone, for CloudEvents seen through EventGridEvent."""
    operation = (as_text(data.get("operationName")) or "").lower()
    if operation and as_text(data.get("resourceUri")):
        if operation.endswith("/write"):
            return WRITE_SUCCESS
        if operation.endswith("/delete"):
            return DELETE_SUCCESS
        if operation.endswith("/action"):
            return ACTION_SUCCESS
    resource_info = data.get("resourceInfo")
    if isinstance(resource_info, Mapping) and isinstance(data.get("operationalInfo"), Mapping):
        kind = (as_text(resource_info.get("type")) or "").lower()
        if kind == "microsoft.resourcehealth/availabilitystatuses":
            return "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged"
        # NOTE: an ARN Deleted event carries no properties, so a body without properties is
        # read as a deletion. Both operations lead to the same re-evaluation.
        return CREATED_OR_UPDATED if "properties" in resource_info else DELETED
    return None


def _event_time(envelope: _Envelope) -> datetime:
    operational = as_dict(envelope.data.get("operationalInfo"))
    found = envelope.time or as_datetime(operational.get("resourceEventTime"))
    # NOTE: an event without any timestamp is dated when it was read, so it never counts as
    # older than an event already processed for the same resource.
    return found or datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
