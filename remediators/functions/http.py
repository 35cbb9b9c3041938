"""The HTTP API: manual re-evaluation, evaluation status, stored findings and health.

Every route uses auth level FUNCTION, so a caller needs a function or host key. Every input is
validated, and every error is JSON `{"error": {"code", "message", "field"}}` naming the field
at fault (null when the whole body is), and echoes at most MAX_ECHO_CHARS characters of the
input. Invalid app settings make every route return 503 `InvalidConfiguration` with the masked
problem of each setting. Nothing outside the configured subscriptions is accepted.

The handlers only convert between `azure.functions` types and `HttpInput`/`ApiResponse`; the
functions below them do the work.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceNotFoundError

from remediators import runtime
from remediators.actions.executors import (
    MAX_DECISION_TEXT,
    UNDECIDED_STATES,
    Decision,
    DecisionConflict,
    RecreationNotFound,
    Recreations,
    record_view,
)
from remediators.actions.recreation import RecreationRecord
from remediators.config import ConfigurationError
from remediators.dispatch import QueueDispatcher
from remediators.evaluation import report_json
from remediators.events import resource_id_problem
from remediators.pipeline import EvaluationRequest
from remediators.runtime import Runtime
from remediators.service import (
    EvaluationOutcome,
    EvaluationService,
    Status,
    is_evaluation_id,
    new_evaluation_id,
    service_for,
    workspace_id_problem,
)
from remediators.state._common import iso
from remediators.state.leases import LeaseUnavailable

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# Input echoed in error messages and logs is cut to this many characters, so a large field
# cannot make a large response or log line.
MAX_ECHO_CHARS = 200
# wait=true evaluates inside the HTTP request, which the front end cuts off after 230 s, so
# larger scopes go through the queue.
MAX_WAIT_WORKSPACES = 10
LEASE_WAIT_SECONDS = 10
ARM_SCOPE = "https://management.azure.com/.default"
SCOPE_KEYS = ("workspace_id", "resource_group_id", "subscription_id")
BODY_KEYS = (*SCOPE_KEYS, "dry_run", "wait")

_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SUBSCRIPTION = re.compile(rf"^(?:/subscriptions/)?({_GUID})/?$", re.IGNORECASE)
_RESOURCE_GROUP = re.compile(
    rf"^/subscriptions/({_GUID})/resourcegroups/([-\w._()]{{1,90}})/?$", re.IGNORECASE
)
_REQUEST_ID = re.compile(r"^[0-9a-f]{64}$")
DECISION_KEYS = ("by", "reason")
_VALIDATION_EVENT = "microsoft.eventgrid.subscriptionvalidationevent"

blueprint = func.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)


@dataclass(frozen=True)
class HttpInput:
    """The parts of an HTTP request the API reads."""

    method: str
    url: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    route_params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error returned as JSON with `status`, where `field` names the input at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # An unknown field's name is the request's own text, so it is cut like echoed values.
        self.field = _cut(field) if field is not None else None

    def response(self) -> ApiResponse:
        error = {"code": self.code, "message": self.message, "field": self.field}
        return ApiResponse(self.status, {"error": error})


def echo(value: Any) -> str:
    """Return `repr(value)` for an error message, cut to MAX_ECHO_CHARS with an ellipsis."""
    text = repr(value)
    if len(text) <= MAX_ECHO_CHARS:
        return text
    return f"{text[:MAX_ECHO_CHARS]}… ({len(text)} characters)"


def configuration_error_response(error: ConfigurationError) -> ApiResponse:
    """Return the 503 response naming each invalid setting; messages mask secret values."""
    message = (
        f"the function app has {len(error.problems)} invalid app settings; fix each one in "
        "the app's configuration (environment variables) and restart the app"
    )
    body = {
        "error": {"code": "InvalidConfiguration", "message": message, "field": None},
        "problems": error.details(),
    }
    return ApiResponse(503, body)


# Routes ------------------------------------------------------------------------------------


@blueprint.function_name("evaluations")
@blueprint.route(
    route="evaluations", methods=["POST", "OPTIONS"], auth_level=func.AuthLevel.FUNCTION
)
def evaluations(req: func.HttpRequest) -> func.HttpResponse:
    """Evaluate a workspace, resource group or subscription now (wait) or through the queue."""
    return _serve(req, lambda request: create_evaluation(request, runtime.current()))


@blueprint.function_name("evaluation_status")
@blueprint.route(route="evaluations/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def evaluation_status(req: func.HttpRequest) -> func.HttpResponse:
    """Return the status of one evaluation request from its status records."""
    return _serve(req, lambda request: read_evaluation(request, runtime.current()))


@blueprint.function_name("findings")
@blueprint.route(route="findings", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def findings(req: func.HttpRequest) -> func.HttpResponse:
    """Return the stored findings of one workspace with their lifecycle fields."""
    return _serve(req, lambda request: read_findings(request, runtime.current()))


@blueprint.function_name("health")
@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Return the public settings and whether an Azure token can be obtained."""
    return _serve(req, lambda request: read_health(runtime.current()))


@blueprint.function_name("recreations")
@blueprint.route(route="recreations", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def recreations(req: func.HttpRequest) -> func.HttpResponse:
    """List the batch endpoint recreation requests with their state."""
    return _serve(req, lambda request: list_recreations(runtime.current()))


@blueprint.function_name("approve_recreation")
@blueprint.route(
    route="recreations/{id}/approve", methods=["POST"], auth_level=func.AuthLevel.FUNCTION
)
def approve_recreation(req: func.HttpRequest) -> func.HttpResponse:
    """Approve one recreation request; the recreation queue function then runs it."""
    return _serve(
        req, lambda request: decide_recreation(request, Decision.APPROVE, runtime.current())
    )


@blueprint.function_name("reject_recreation")
@blueprint.route(
    route="recreations/{id}/reject", methods=["POST"], auth_level=func.AuthLevel.FUNCTION
)
def reject_recreation(req: func.HttpRequest) -> func.HttpResponse:
    """Reject one recreation request; it stops in state rejected and nothing is changed."""
    return _serve(
        req, lambda request: decide_recreation(request, Decision.REJECT, runtime.current())
    )


def _serve(req: func.HttpRequest, handle: Callable[[HttpInput], ApiResponse]) -> func.HttpResponse:
    request = HttpInput(
        method=req.method.upper(),
        url=req.url,
        body=req.get_body() or b"",
        headers=dict(req.headers),
        params=dict(req.params),
        route_params=dict(req.route_params),
    )
    path = urlsplit(request.url).path
    try:
        response = handle(request)
    except ApiError as error:
        logger.warning(
            "Rejected %s %s: %s (%s)",
            request.method,
            _cut(path),
            error.message,
            error.code,
            extra={"status_code": error.status, "error_code": error.code, "field": error.field},
        )
        response = error.response()
    except ConfigurationError as error:
        # Only the setting names are logged. The response carries the masked problem messages.
        settings = sorted({name for name in error.settings if name})
        logger.warning(
            "Rejected %s %s: %d invalid app settings (%s); fix them and restart the app",
            request.method,
            _cut(path),
            len(error.problems),
            ", ".join(settings),
            extra={"status_code": 503, "error_code": "InvalidConfiguration"},
        )
        response = configuration_error_response(error)
    return func.HttpResponse(
        json.dumps(response.body, default=str),
        status_code=response.status,
        headers=response.headers,
        mimetype="application/json",
    )


# POST /api/evaluations ---------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationBody:
    """A validated manual re-evaluation request."""

    scope_key: str
    scope_id: str
    dry_run: bool
    wait: bool


def create_evaluation(request: HttpInput, current: Runtime) -> ApiResponse:
    """Validate the request, resolve its workspaces, then evaluate now or enqueue them."""
    reject_handshakes(request)
    body = parse_evaluation_body(request, current)
    check_scope(body.scope_id, body.scope_key, current)
    workspace_ids = resolve_workspaces(body, current)
    service = service_for(current)
    evaluation_id = new_evaluation_id()
    reason = f"manual re-evaluation of {body.scope_id}"
    if body.wait:
        return _evaluate_now(service, evaluation_id, workspace_ids, body, reason)
    return _enqueue(current, service, evaluation_id, workspace_ids, body, reason, request.url)


def reject_handshakes(request: HttpInput) -> None:
    """Reject Event Grid and CloudEvents webhook handshakes: this route is not an endpoint."""
    hint = (
        "this route evaluates workspaces on request and is not an Event Grid endpoint; "
        "subscribe the Event Grid trigger function resource_events instead"
    )
    if request.method == "OPTIONS":
        raise ApiError(
            400,
            "WebhookHandshakeRejected",
            f"OPTIONS is the CloudEvents webhook validation handshake; {hint}",
        )
    if (request.header("aeg-event-type") or "").lower() == "subscriptionvalidation":
        raise ApiError(
            400,
            "WebhookHandshakeRejected",
            f"aeg-event-type SubscriptionValidation is an Event Grid handshake; {hint}",
        )
    try:
        parsed = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError):
        return
    events = parsed if isinstance(parsed, list) else [parsed]
    for event in events:
        if isinstance(event, dict) and _is_validation_event(event):
            raise ApiError(
                400,
                "WebhookHandshakeRejected",
                f"the body is an Event Grid subscription validation event; {hint}",
            )


def _is_validation_event(event: Mapping[str, Any]) -> bool:
    kind = event.get("eventType") or event.get("type")
    data = event.get("data")
    has_code = isinstance(data, Mapping) and "validationCode" in data
    return (isinstance(kind, str) and kind.lower() == _VALIDATION_EVENT) or has_code


def parse_evaluation_body(request: HttpInput, current: Runtime) -> EvaluationBody:
    """Parse and validate the JSON body of POST /api/evaluations."""
    data = read_json_object(request)
    unknown = [key for key in data if key not in BODY_KEYS]
    if unknown:
        raise ApiError(
            400,
            "UnknownField",
            f"unknown field {echo(unknown[0])}; allowed fields are {', '.join(BODY_KEYS)}",
            unknown[0],
        )
    present = [key for key in SCOPE_KEYS if key in data]
    if len(present) != 1:
        message = "name no scope" if not present else f"name several scopes ({', '.join(present)})"
        raise ApiError(
            400,
            "InvalidScope",
            f"the body must contain exactly one of {', '.join(SCOPE_KEYS)}, but they {message}",
            present[1] if len(present) > 1 else SCOPE_KEYS[0],
        )
    scope_key = present[0]
    scope_id = validate_scope_id(scope_key, data[scope_key])
    dry_run = _boolean(data, "dry_run")
    return EvaluationBody(
        scope_key=scope_key,
        scope_id=scope_id,
        # The app's own dry-run setting cannot be overridden by a request.
        dry_run=dry_run or current.settings.dry_run,
        wait=_boolean(data, "wait"),
    )


def read_json_object(request: HttpInput) -> dict[str, Any]:
    """Return the body as a JSON object, enforcing the size limit and the content type."""
    declared = request.header("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(int(declared))
    if len(request.body) > MAX_BODY_BYTES:
        raise _too_large(len(request.body))
    content_type = (request.header("content-type") or "application/json").lower()
    if "json" not in content_type.split(";")[0]:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"content type {echo(content_type)} is not supported; send application/json",
        )
    if not request.body.strip():
        raise ApiError(400, "InvalidJson", "the body is empty; send a JSON object")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(
            400,
            "InvalidJson",
            f"the body is not UTF-8 (invalid byte at {error.start}); send a UTF-8 JSON object",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(
            400, "InvalidJson", f"the body is not valid JSON ({error.msg} at {error.pos})"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "InvalidJson", f"the body is a JSON {type(data).__name__}; send a JSON object"
        )
    return data


def _cut(text: str) -> str:
    if len(text) <= MAX_ECHO_CHARS:
        return text
    return f"{text[:MAX_ECHO_CHARS]}…"


def _too_large(size: int) -> ApiError:
    return ApiError(
        413,
        "PayloadTooLarge",
        f"the body is {size} bytes, over the {MAX_BODY_BYTES}-byte limit; send only the "
        "scope and the flags",
    )


def _boolean(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(
            400, "InvalidField", f"{name} must be JSON true or false, got {echo(value)}", name
        )
    return value


def validate_scope_id(scope_key: str, value: Any) -> str:
    """Return the ARM id of the scope, or raise ApiError naming `scope_key`."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError(
            400,
            "InvalidField",
            f"{scope_key} must be a non-empty string, got {echo(value)}",
            scope_key,
        )
    text = value.strip()
    # One trailing slash is tolerated, as for event ids; '//' is an empty segment.
    unsafe = resource_id_problem(text.removesuffix("/"))
    if unsafe:
        raise ApiError(
            400, "InvalidResourceId", f"{scope_key} {echo(text)} is invalid: {unsafe}", scope_key
        )
    if scope_key == "workspace_id":
        problem = workspace_id_problem(text)
        if problem:
            raise ApiError(
                400,
                "InvalidResourceId",
                f"{scope_key} {echo(text)} is invalid: {problem}",
                scope_key,
            )
        return text.rstrip("/")
    if scope_key == "resource_group_id":
        if not _RESOURCE_GROUP.match(text):
            raise ApiError(
                400,
                "InvalidResourceId",
                f"{scope_key} {echo(text)} is invalid: expected "
                "/subscriptions/<subscription id>/resourceGroups/<name>",
                scope_key,
            )
        return text.rstrip("/")
    match = _SUBSCRIPTION.match(text)
    if not match:
        raise ApiError(
            400,
            "InvalidResourceId",
            f"{scope_key} {echo(text)} is invalid: expected a subscription id (a GUID) or "
            "/subscriptions/<subscription id>",
            scope_key,
        )
    return f"/subscriptions/{match.group(1).lower()}"


def check_scope(resource_id: str, field_name: str, current: Runtime) -> None:
    """Raise 403 unless the subscription of `resource_id` is in the configured scope."""
    subscription = resource_id.split("/")[2].lower()
    configured = current.settings.scope_subscriptions
    if subscription in configured:
        return
    reason = (
        "no subscriptions are configured (REMEDIATOR_SCOPE_SUBSCRIPTIONS is empty)"
        if not configured
        else f"it is not one of the configured subscriptions ({', '.join(configured)})"
    )
    raise ApiError(
        403,
        "OutsideScope",
        f"subscription {subscription} is outside the remediator's scope: {reason}",
        field_name,
    )


def resolve_workspaces(body: EvaluationBody, current: Runtime) -> list[str]:
    """Return the workspace ids a request covers; 404 when a named workspace does not exist."""
    if body.scope_key == "workspace_id":
        group = body.scope_id.split("/providers/")[0]
        known = _list_workspaces(group, body.scope_key, current)
        match = [w for w in known if w.lower() == body.scope_id.lower()]
        if not match:
            raise ApiError(
                404,
                "NotFound",
                f"workspace {body.scope_id} was not found; check the id and that the app's "
                "identity can read it",
                body.scope_key,
            )
        return match
    return _list_workspaces(body.scope_id, body.scope_key, current)


def _list_workspaces(scope: str, field_name: str, current: Runtime) -> list[str]:
    try:
        return current.source.workspace_ids(scope)
    except ResourceNotFoundError:
        raise ApiError(
            404, "NotFound", f"{scope} was not found; check the id", field_name
        ) from None
    except AzureError as error:
        logger.exception("Listing the workspaces of %s failed", scope, extra={"scope": scope})
        raise ApiError(
            502,
            "AzureRequestFailed",
            f"listing the workspaces of {scope} failed ({type(error).__name__}); retry later",
        ) from None


def _evaluate_now(
    service: EvaluationService,
    evaluation_id: str,
    workspace_ids: list[str],
    body: EvaluationBody,
    reason: str,
) -> ApiResponse:
    if len(workspace_ids) > MAX_WAIT_WORKSPACES:
        raise ApiError(
            400,
            "TooManyWorkspaces",
            f"{body.scope_id} has {len(workspace_ids)} workspaces, more than the "
            f"{MAX_WAIT_WORKSPACES} that wait=true evaluates in one request; send wait=false",
            "wait",
        )
    outcomes: list[EvaluationOutcome] = []
    for workspace_id in workspace_ids:
        try:
            outcomes.append(
                service.evaluate(
                    workspace_id,
                    reason=reason,
                    dry_run=body.dry_run,
                    evaluation_id=evaluation_id,
                    lease_wait_seconds=LEASE_WAIT_SECONDS,
                )
            )
        except LeaseUnavailable:
            raise ApiError(
                409,
                "EvaluationRunning",
                f"workspace {workspace_id} is being evaluated by another instance; retry in "
                "a minute or send wait=false to queue the request",
            ) from None
    evaluations = [o.evaluation for o in outcomes if o.evaluation is not None]
    document = report_json(evaluations)
    document["evaluation_id"] = evaluation_id
    document["dry_run"] = body.dry_run
    document["status"] = [
        {"workspace_id": o.workspace_id, "status": o.status.value, "detail": o.detail}
        for o in outcomes
    ]
    return ApiResponse(200, document)


def _enqueue(
    current: Runtime,
    service: EvaluationService,
    evaluation_id: str,
    workspace_ids: list[str],
    body: EvaluationBody,
    reason: str,
    url: str,
) -> ApiResponse:
    dispatcher = current.dispatcher
    if not isinstance(dispatcher, QueueDispatcher):
        raise ApiError(
            503,
            "QueueUnavailable",
            "this app has no evaluation queue; send wait=true to evaluate in the request",
        )
    service.record_queued(evaluation_id, workspace_ids, dry_run=body.dry_run, reason=reason)
    for workspace_id in workspace_ids:
        request = EvaluationRequest(workspace_id, reason, dry_run=body.dry_run)
        dispatcher.enqueue_now(request, evaluation_id=evaluation_id)
    location = status_url(url, evaluation_id)
    document = {
        "evaluation_id": evaluation_id,
        "status": Status.QUEUED.value,
        "status_url": location,
        "dry_run": body.dry_run,
        "workspaces": workspace_ids,
    }
    return ApiResponse(202, document, {"Location": location})


def status_url(request_url: str, evaluation_id: str) -> str:
    """Return the absolute URL of GET /api/evaluations/{id} on the host that was called."""
    parts = urlsplit(request_url)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}/{evaluation_id}"


# GET /api/evaluations/{id} -----------------------------------------------------------------


def read_evaluation(request: HttpInput, current: Runtime) -> ApiResponse:
    """Summarise the status records of one evaluation request."""
    # Ids are issued in lower case; upper-case hex names the same evaluation.
    evaluation_id = request.route_params.get("id", "").lower()
    if not is_evaluation_id(evaluation_id):
        raise ApiError(
            400,
            "InvalidField",
            f"evaluation id {echo(evaluation_id)} is invalid; use the 32 hex digits that "
            "POST /api/evaluations returned",
            "id",
        )
    records = service_for(current).status_records(evaluation_id)
    if not records:
        raise ApiError(404, "NotFound", f"no evaluation {evaluation_id} is recorded", "id")

    requested: list[str] = []
    dry_run: bool | None = None
    latest: dict[str, dict[str, Any]] = {}
    for record in records:  # newest first
        if record.kind == "evaluation-request":
            requested = [str(w) for w in record.details.get("workspace_ids", [])]
            dry_run = bool(record.details.get("dry_run"))
            continue
        workspace_id = str(record.details.get("workspace_id") or record.resource_id)
        latest.setdefault(
            workspace_id.lower(),
            {
                "workspace_id": workspace_id,
                "status": record.result,
                "detail": record.details.get("detail") or record.why,
                "recorded_at": iso(record.recorded_at),
                "summary": {
                    k: v for k, v in record.details.items() if k not in ("workspace_id", "detail")
                },
            },
        )
    if dry_run is None:
        # A wait=true evaluation records no request, only a record per workspace.
        dry_run = _dry_run_of(list(latest.values()))
    pending = [w for w in requested if w.lower() not in latest]
    workspaces = list(latest.values()) + [
        {"workspace_id": w, "status": Status.QUEUED.value} for w in pending
    ]
    return ApiResponse(
        200,
        {
            "evaluation_id": evaluation_id,
            "status": _overall_status(workspaces, pending),
            "dry_run": dry_run,
            "workspaces": workspaces,
        },
    )


def _dry_run_of(workspaces: list[dict[str, Any]]) -> bool | None:
    flags = [w["summary"].get("dry_run") for w in workspaces]
    known = [flag for flag in flags if isinstance(flag, bool)]
    return any(known) if known else None


def _overall_status(workspaces: list[dict[str, Any]], pending: list[str]) -> str:
    if pending:
        return Status.QUEUED.value
    failed = {Status.FAILED.value, Status.REJECTED.value}
    if any(w["status"] in failed for w in workspaces):
        return Status.FAILED.value
    return Status.COMPLETED.value


# GET /api/findings -------------------------------------------------------------------------


def read_findings(request: HttpInput, current: Runtime) -> ApiResponse:
    """Return the stored findings of `?workspace=`, open ones unless `include_resolved=true`."""
    workspace_id = request.params.get("workspace")
    if workspace_id is None:
        raise ApiError(
            400,
            "MissingField",
            "query parameter workspace is missing; pass a workspace id",
            "workspace",
        )
    try:
        workspace_id = validate_scope_id("workspace_id", workspace_id)
    except ApiError as error:
        error.field = "workspace"
        raise
    check_scope(workspace_id, "workspace", current)
    include_text = request.params.get("include_resolved", "false").lower()
    if include_text not in ("true", "false"):
        raise ApiError(
            400,
            "InvalidField",
            f"include_resolved must be true or false, got {echo(include_text)}",
            "include_resolved",
        )
    stored = service_for(current).stores.findings.load(
        workspace_id, include_resolved=include_text == "true"
    )
    items = [
        {
            **item.finding.to_json(),
            "key": item.key,
            "status": "open" if item.is_open else "resolved",
            "first_seen": iso(item.first_seen),
            "last_seen": iso(item.last_seen),
            "resolved_at": iso(item.resolved_at) if item.resolved_at else None,
            "times_reopened": item.times_reopened,
            "details_truncated": item.details_truncated,
        }
        for item in sorted(stored, key=lambda s: (s.finding.rule, s.finding.resource_id))
    ]
    return ApiResponse(200, {"workspace_id": workspace_id, "findings": items})


# GET /api/health ---------------------------------------------------------------------------


def read_health(current: Runtime) -> ApiResponse:
    """Report the public settings and whether the app's credential returns an ARM token."""
    credential: dict[str, Any] = {"token": None, "error": None}
    if current.credential is None:
        credential["error"] = "no credential is configured"
    else:
        try:
            current.credential.get_token(ARM_SCOPE)
        except Exception as error:  # any failure means no token; only its type is reported
            logger.warning(
                "Health check could not obtain an Azure token (%s)", type(error).__name__
            )
            credential.update(token=False, error=type(error).__name__)
        else:
            credential["token"] = True
    healthy = credential["token"] is True
    return ApiResponse(
        200 if healthy else 503,
        {
            "status": "ok" if healthy else "degraded",
            "settings": current.settings.public_view(),
            "credential": credential,
            "storage": current.state is not None,
        },
    )


# Recreation requests -----------------------------------------------------------------------


def _recreations(current: Runtime) -> Recreations:
    if current.recreations is None:
        raise ApiError(
            503,
            "NotConfigured",
            "recreation requests need the app's storage; set AzureWebJobsStorage",
        )
    return current.recreations


def list_recreations(current: Runtime) -> ApiResponse:
    """Return every recreation request with its state, newest first."""
    records = _recreations(current).list()
    return ApiResponse(200, {"recreations": [record_view(record) for record in records]})


def decide_recreation(request: HttpInput, decision: Decision, current: Runtime) -> ApiResponse:
    """Approve or reject one request with the `by` and `reason` of the JSON body."""
    recreations = _recreations(current)
    request_id = request.route_params.get("id", "").lower()
    if not _REQUEST_ID.match(request_id):
        raise ApiError(
            400,
            "InvalidField",
            f"recreation request id {echo(request_id)} is invalid; use the 64 hex digits that "
            "GET /api/recreations lists",
            "id",
        )
    by, reason = parse_decision_body(request)
    try:
        record = recreations.decide(request_id, decision, by=by, reason=reason)
    except RecreationNotFound:
        raise ApiError(
            404, "NotFound", f"no recreation request {request_id} exists", "id"
        ) from None
    except DecisionConflict as conflict:
        message = conflict_message(request_id, conflict.record)
        error = {"code": "Conflict", "message": message, "field": None}
        return ApiResponse(
            409,
            {
                "error": error,
                "state": conflict.record.state,
                "recreation": record_view(conflict.record),
            },
        )
    except LeaseUnavailable:
        raise ApiError(
            503,
            "WorkspaceBusy",
            "the workspace of this request is being evaluated or remediated; retry in a minute",
        ) from None
    return ApiResponse(200, {"recreation": record_view(record)})


def conflict_message(request_id: str, record: RecreationRecord) -> str:
    """Describe why a request can no longer be decided: who decided it and its state now."""
    state = record.state.replace("_", " ")
    if record.approved_by is not None and record.current in UNDECIDED_STATES:
        state += ", waiting for the recreation queue function to run it"
    if record.approved_by is not None:
        decided = f"was already approved by {record.approved_by}"
    elif record.decided_by is not None:
        decided = f"was already rejected by {record.decided_by}"
    else:
        decided = "can no longer be approved or rejected"
    return (
        f"recreation request {request_id} {decided}. Its current state is {state}; "
        "GET /api/recreations shows its history"
    )


def parse_decision_body(request: HttpInput) -> tuple[str, str]:
    """Return the `by` and `reason` of a decision body: both required, non-empty strings."""
    data = read_json_object(request)
    unknown = sorted(set(data) - set(DECISION_KEYS))
    if unknown:
        raise ApiError(
            400,
            "UnknownField",
            f"unknown field {echo(unknown[0])}; a decision takes only by and reason",
            unknown[0],
        )
    values = []
    for name in DECISION_KEYS:
        value = data.get(name)
        if value is None:
            raise ApiError(400, "MissingField", f"{name} is missing; send a non-empty string", name)
        if not isinstance(value, str) or not value.strip():
            raise ApiError(
                400, "InvalidField", f"{name} must be a non-empty string, got {echo(value)}", name
            )
        if len(value) > MAX_DECISION_TEXT:
            raise ApiError(
                400,
                "InvalidField",
                f"{name} is {len(value)} characters, over the limit of {MAX_DECISION_TEXT}",
                name,
            )
        values.append(value.strip())
    return values[0], values[1]
