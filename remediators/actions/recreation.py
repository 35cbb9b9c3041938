"""Recreate a batch endpoint that kept the network setting its workspace had when it was made.

A batch endpoint created before its workspace became private-link enabled keeps its old
public configuration, and only deleting and recreating it changes that. Recreation is a
resumable state machine whose record is saved after every step:

requested -> awaiting_approval -> snapshot_saved -> payloads_validated -> jobs_drained
-> deployments_deleted -> endpoint_deleted -> endpoint_recreated -> deployments_recreated
-> default_restored -> verified -> done  (or failed after the configured attempts)

Guarantees:
- Nothing is deleted before the snapshot of the endpoint and every deployment is saved and
  read back. Every step after the snapshot works from the snapshot, never from live reads.
- Each step is safe to repeat, so a crash at any point followed by a rerun reaches the same
  end state: deletes of deleted resources and PUTs of the same body change nothing.
- One request per endpoint id: requesting again returns the existing request.
"""

from __future__ import annotations

import copy
import enum
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from remediators.actions.arm_errors import (
    ArmOperationError,
    ErrorKind,
    RetryPolicy,
    call_with_retry,
    resource_lock,
)
from remediators.actions.plan import Outcome, OutcomeStatus, PlannedAction
from remediators.clients import AzureClients
from remediators.estate.models import as_dict, as_list, norm_id

logger = logging.getLogger(__name__)

Json = dict[str, Any]


class RecreationState(enum.Enum):
    REQUESTED = "requested"
    AWAITING_APPROVAL = "awaiting_approval"
    SNAPSHOT_SAVED = "snapshot_saved"
    PAYLOADS_VALIDATED = "payloads_validated"
    JOBS_DRAINED = "jobs_drained"
    DEPLOYMENTS_DELETED = "deployments_deleted"
    ENDPOINT_DELETED = "endpoint_deleted"
    ENDPOINT_RECREATED = "endpoint_recreated"
    DEPLOYMENTS_RECREATED = "deployments_recreated"
    DEFAULT_RESTORED = "default_restored"
    VERIFIED = "verified"
    DONE = "done"
    FAILED = "failed"
    # A person rejected the request before anything was changed.
    REJECTED = "rejected"


TERMINAL_STATES = frozenset(
    {RecreationState.DONE, RecreationState.FAILED, RecreationState.REJECTED}
)

# ---------------------------------------------------------------- payloads

# Top-level fields ARM sets; a PUT body carries none of them.
SERVER_SET_FIELDS = frozenset({"id", "etag", "systemdata"})
# Fields ARM sets inside `properties`.
SERVER_SET_PROPERTIES = frozenset({"provisioningstate", "scoringuri", "swaggeruri"})
# Network keys that only online endpoints support. The service rejects them on a batch
# endpoint, which follows its workspace's network setting instead.
UNSUPPORTED_NETWORK_KEYS = frozenset(
    {"public_network_access", "egress_public_network_access", "publicnetworkaccess"}
)
# Identity fields the service assigns.
SERVER_SET_IDENTITY = frozenset({"principalid", "tenantid", "clientid"})
# The top-level fields a PUT body of an endpoint or deployment carries.
BODY_FIELDS = ("location", "tags", "identity", "kind", "sku", "properties")

# Job states in which a job still uses its endpoint's deployments.
ACTIVE_JOB_STATES = frozenset(
    {
        "notstarted",
        "starting",
        "provisioning",
        "preparing",
        "queued",
        "running",
        "finalizing",
        "cancelrequested",
    }
)


class PayloadError(ValueError):
    """Raised when a recreated payload would be rejected; names the field and the fix."""


def _without_network_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: _without_network_keys(item)
            for key, item in value.items()
            if str(key).lower() not in UNSUPPORTED_NETWORK_KEYS
        }
    if isinstance(value, list):
        return [_without_network_keys(item) for item in value]
    return copy.deepcopy(value)


def _clean_identity(identity: Mapping[str, Any]) -> Json:
    cleaned = {k: v for k, v in identity.items() if k.lower() not in SERVER_SET_IDENTITY}
    assigned = as_dict(cleaned.get("userAssignedIdentities"))
    if assigned:
        cleaned["userAssignedIdentities"] = {
            resource_id: {
                k: v for k, v in as_dict(item).items() if k.lower() not in SERVER_SET_IDENTITY
            }
            for resource_id, item in assigned.items()
        }
    return cleaned


def put_body(resource: Mapping[str, Any], *, keep_defaults: bool = True) -> Json:
    """Build the PUT body that recreates `resource` (an endpoint or deployment GET payload).

    Drops server-set fields, empty tag values and the network keys batch endpoints reject.
    With `keep_defaults` false an endpoint body has no `defaults`, because the default
    deployment does not exist yet when the endpoint is created.
    """
    source = _without_network_keys(resource)
    body: Json = {}
    for key in BODY_FIELDS:
        value = next((v for k, v in source.items() if k.lower() == key), None)
        if value is not None:
            body[key] = value
    tags = {str(k): v for k, v in as_dict(body.get("tags")).items() if v not in (None, "")}
    if tags:
        body["tags"] = tags
    else:
        body.pop("tags", None)
    if "identity" in body:
        body["identity"] = _clean_identity(as_dict(body["identity"]))
    properties = {
        k: v for k, v in as_dict(body.get("properties")).items()
        if k.lower() not in SERVER_SET_PROPERTIES
    }  # fmt: skip
    if not keep_defaults:
        properties.pop("defaults", None)
    body["properties"] = properties
    return body


def validate_endpoint_body(body: Mapping[str, Any], endpoint_id: str) -> None:
    """Raise PayloadError unless `body` is a batch endpoint PUT the service accepts."""
    _validate_common(body, endpoint_id)
    if not as_dict(body.get("properties")).get("authMode"):
        raise PayloadError(
            f"batch endpoint {endpoint_id} snapshot has no properties.authMode; set it to "
            "AADToken on the endpoint before recreating it"
        )


def validate_deployment_body(body: Mapping[str, Any], deployment_id: str) -> None:
    """Raise PayloadError unless `body` is a batch deployment PUT the service accepts."""
    _validate_common(body, deployment_id)
    if not as_dict(body.get("properties")):
        raise PayloadError(
            f"batch deployment {deployment_id} snapshot has no properties; it cannot be "
            "recreated from it"
        )


def _validate_common(body: Mapping[str, Any], resource_id: str) -> None:
    if not body.get("location"):
        raise PayloadError(f"{resource_id} snapshot has no location; ARM requires one on PUT")
    found = _network_keys_in(body)
    if found:
        raise PayloadError(
            f"{resource_id} payload contains {', '.join(found)}, which batch endpoints do not "
            "support; remove them"
        )
    try:
        json.dumps(body)
    except (TypeError, ValueError) as error:
        raise PayloadError(f"{resource_id} payload is not valid JSON: {error}") from None


def _network_keys_in(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).lower() in UNSUPPORTED_NETWORK_KEYS:
                found.append(str(key))
            found += _network_keys_in(item)
    elif isinstance(value, list):
        for item in value:
            found += _network_keys_in(item)
    return found


def build_payloads(snapshot: Mapping[str, Any]) -> Json:
    """Build and validate every PUT body of a recreation from its snapshot."""
    endpoint = as_dict(snapshot.get("endpoint"))
    endpoint_id = str(endpoint.get("id") or snapshot.get("endpoint_id"))
    create = put_body(endpoint, keep_defaults=False)
    final = put_body(endpoint)
    validate_endpoint_body(final, endpoint_id)
    deployments: dict[str, Json] = {}
    for deployment in as_list(snapshot.get("deployments")):
        deployment = as_dict(deployment)
        body = put_body(deployment)
        validate_deployment_body(body, str(deployment.get("id")))
        deployments[str(deployment["name"])] = body
    default = as_dict(final["properties"].get("defaults")).get("deploymentName")
    if default and default not in deployments:
        raise PayloadError(
            f"batch endpoint {endpoint_id} names default deployment {default!r}, which the "
            "snapshot does not contain; set the default to an existing deployment first"
        )
    return {"endpoint_create": create, "endpoint": final, "deployments": deployments}


def differences(snapshot: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """List how a recreated endpoint and deployments differ from the snapshot.

    Both sides are compared as PUT bodies, so server-set fields do not count.
    """
    found: list[str] = []
    if put_body(as_dict(snapshot.get("endpoint"))) != put_body(as_dict(live.get("endpoint"))):
        found.append("endpoint")
    expected = {str(d["name"]): put_body(d) for d in as_list(snapshot.get("deployments"))}
    actual = {str(d["name"]): put_body(d) for d in as_list(live.get("deployments"))}
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            found.append(f"deployment {name} is missing")
        elif name not in expected:
            found.append(f"deployment {name} is not in the snapshot")
        elif expected[name] != actual[name]:
            found.append(f"deployment {name}")
    return found


# ---------------------------------------------------------------- state and store


@dataclass
class RecreationRecord:
    """The saved state of one recreation request."""

    endpoint_id: str
    workspace_id: str
    reason: str
    state: str = RecreationState.REQUESTED.value
    approved_by: str | None = None
    attempts: int = 0
    error: str | None = None
    snapshot_location: str | None = None
    payloads: Json = field(default_factory=dict)
    history: list[list[str]] = field(default_factory=list)
    alert: str | None = None
    # The approval or rejection a person sent: who (also in `approved_by` when approved), the
    # reason they gave, and when (ISO 8601).
    decided_by: str | None = None
    decision_reason: str | None = None
    decided_at: str | None = None
    # When the approval card was posted (ISO 8601), so that it is posted once per request.
    approval_card_sent_at: str | None = None

    @property
    def current(self) -> RecreationState:
        return RecreationState(self.state)

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecreationRecord:
        return cls(**{k: copy.deepcopy(v) for k, v in data.items()})


class RecreationStore(Protocol):
    """Durable storage of recreation records and snapshots."""

    def load(self, endpoint_id: str) -> RecreationRecord | None: ...

    def save(self, record: RecreationRecord) -> None: ...

    def save_snapshot(self, endpoint_id: str, document: Json) -> str:
        """Store the snapshot once and return its location; never overwrite another one."""
        ...

    def load_snapshot(self, endpoint_id: str) -> Json | None: ...


class SnapshotMismatch(RuntimeError):
    """Raised when a snapshot read back differs from the one written."""


class InMemoryRecreationStore:
    """A RecreationStore in process memory, for unit tests and the CLI's dry runs."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        self.snapshots: dict[str, str] = {}

    def load(self, endpoint_id: str) -> RecreationRecord | None:
        text = self.records.get(norm_id(endpoint_id))
        return RecreationRecord.from_json(json.loads(text)) if text else None

    def save(self, record: RecreationRecord) -> None:
        self.records[norm_id(record.endpoint_id)] = json.dumps(record.to_json())

    def save_snapshot(self, endpoint_id: str, document: Json) -> str:
        key = norm_id(endpoint_id)
        text = json.dumps(document, sort_keys=True)
        existing = self.snapshots.get(key)
        if existing is not None and existing != text:
            raise SnapshotMismatch(f"a different snapshot of {endpoint_id} is already stored")
        self.snapshots[key] = text
        return f"memory://recreation/{key}"

    def load_snapshot(self, endpoint_id: str) -> Json | None:
        text = self.snapshots.get(norm_id(endpoint_id))
        return json.loads(text) if text else None


class BlobRecreationStore:
    """A RecreationStore on the blob snapshot store: create-once snapshots, ETag-checked state.

    `snapshots` is a `remediators.state.blobs.SnapshotStore`; `container` is its container
    name, used only to report snapshot locations.
    """

    def __init__(self, snapshots: Any, *, container: str = "snapshots") -> None:
        self.snapshots = snapshots
        self.container = container

    @staticmethod
    def _name(endpoint_id: str, leaf: str) -> str:
        from remediators.state.keys import resource_key

        return f"recreation/{resource_key(endpoint_id)}/{leaf}"

    def load(self, endpoint_id: str) -> RecreationRecord | None:
        stored = self.snapshots.load(self._name(endpoint_id, "state.json"))
        return RecreationRecord.from_json(stored.document) if stored else None

    def save(self, record: RecreationRecord) -> None:
        name = self._name(record.endpoint_id, "state.json")
        stored = self.snapshots.load(name)
        if stored is None:
            self.snapshots.save(name, record.to_json())
        else:
            self.snapshots.replace(name, record.to_json(), stored.etag)

    def save_snapshot(self, endpoint_id: str, document: Json) -> str:
        name = self._name(endpoint_id, "snapshot.json")
        self.snapshots.save(name, document)
        return f"{self.container}/{name}"

    def load_snapshot(self, endpoint_id: str) -> Json | None:
        stored = self.snapshots.load(self._name(endpoint_id, "snapshot.json"))
        return dict(stored.document) if stored else None


# ---------------------------------------------------------------- the state machine


@dataclass(frozen=True)
class EndpointPath:
    subscription: str
    resource_group: str
    workspace: str
    endpoint: str

    @classmethod
    def parse(cls, endpoint_id: str) -> EndpointPath:
        segments = endpoint_id.strip("/").split("/")
        lowered = [s.lower() for s in segments]
        if (
            len(segments) != 10
            or lowered[0] != "subscriptions"
            or lowered[2] != "resourcegroups"
            or lowered[6] != "workspaces"
            or lowered[8] != "batchendpoints"
        ):
            raise ValueError(
                f"invalid batch endpoint id {endpoint_id!r}: expected /subscriptions/<id>/"
                "resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/"
                "<workspace>/batchEndpoints/<endpoint>"
            )
        return cls(segments[1], segments[3], segments[7], segments[9])


class RecreationError(RuntimeError):
    """A step failed; `permanent` errors fail the request at once instead of retrying."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class RecreationResult:
    """The state one run left a request in, and any alert for people."""

    record: RecreationRecord
    # True when the run stopped to wait for approval or for running jobs.
    waiting: bool = False
    alert: str | None = None


Step = Callable[[RecreationRecord, EndpointPath], RecreationState | None]


class Recreator:
    """Queue, approve and run batch endpoint recreations.

    `approval` is `required` (a person calls `approve`) or `auto`. `max_attempts` bounds the
    runs that end in an error before the request stops in `failed`.
    """

    def __init__(
        self,
        clients: AzureClients,
        store: RecreationStore,
        *,
        approval: str = "required",
        max_attempts: int = 3,
        job_wait_seconds: float = 300.0,
        job_poll_seconds: float = 30.0,
        dry_run: bool = False,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease: Callable[[str], AbstractContextManager[Any]] | None = None,
    ) -> None:
        if approval not in ("required", "auto"):
            raise ValueError(f"invalid recreation approval {approval!r}; use required or auto")
        self.clients = clients
        self.store = store
        self.approval = approval
        self.max_attempts = max_attempts
        self.job_wait_seconds = job_wait_seconds
        self.job_poll_seconds = job_poll_seconds
        self.dry_run = dry_run
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.lease = lease
        self._steps: dict[RecreationState, Step] = {
            RecreationState.REQUESTED: self._request_approval,
            RecreationState.AWAITING_APPROVAL: self._save_snapshot,
            RecreationState.SNAPSHOT_SAVED: self._validate_payloads,
            RecreationState.PAYLOADS_VALIDATED: self._drain_jobs,
            RecreationState.JOBS_DRAINED: self._delete_deployments,
            RecreationState.DEPLOYMENTS_DELETED: self._delete_endpoint,
            RecreationState.ENDPOINT_DELETED: self._recreate_endpoint,
            RecreationState.ENDPOINT_RECREATED: self._recreate_deployments,
            RecreationState.DEPLOYMENTS_RECREATED: self._restore_default,
            RecreationState.DEFAULT_RESTORED: self._verify,
            RecreationState.VERIFIED: lambda record, path: RecreationState.DONE,
        }

    # Requests ----------------------------------------------------------------------------

    def execute(self, action: PlannedAction) -> Outcome:
        """Queue the recreation that a planned `endpoint.stale-network` action requests."""
        if self.dry_run:
            existing = self.store.load(action.target_id)
            state = existing.state if existing else "none"
            return Outcome(
                OutcomeStatus.WOULD_CHANGE,
                f"dry run: would queue recreation of {action.target_id} (current request: {state})",
                action.target_id,
            )
        record, created = self.request(
            action.target_id, action.finding.workspace_id, action.finding.message
        )
        status = OutcomeStatus.QUEUED if created else OutcomeStatus.ALREADY_DONE
        detail = f"recreation of {record.endpoint_id} is {record.state}"
        alert = None
        if self.approval == "required" and record.approved_by is None:
            alert = _approval_alert(record)
        return Outcome(status, detail, record.endpoint_id, alert=alert)

    def request(
        self, endpoint_id: str, workspace_id: str, reason: str
    ) -> tuple[RecreationRecord, bool]:
        """Return the request for `endpoint_id`, creating it if there is none."""
        EndpointPath.parse(endpoint_id)
        with resource_lock(f"recreation:{endpoint_id}"):
            existing = self.store.load(endpoint_id)
            if existing is not None:
                return existing, False
            record = RecreationRecord(endpoint_id, workspace_id, reason)
            self._enter(record, RecreationState.REQUESTED)
            logger.info("Queued recreation of %s", endpoint_id, extra={"resource_id": endpoint_id})
            return record, True

    def approve(self, endpoint_id: str, approved_by: str) -> RecreationRecord:
        """Record that `approved_by` approved the recreation of `endpoint_id`."""
        with resource_lock(f"recreation:{endpoint_id}"):
            record = self.store.load(endpoint_id)
            if record is None:
                raise KeyError(f"no recreation is requested for {endpoint_id}; request it first")
            record.approved_by = approved_by
            self.store.save(record)
            logger.info(
                "Recreation of %s approved by %s",
                endpoint_id,
                approved_by,
                extra={"resource_id": endpoint_id},
            )
            return record

    # Running -----------------------------------------------------------------------------

    def run(self, endpoint_id: str) -> RecreationResult:
        """Advance the request of `endpoint_id` as far as it can go, saving every step.

        Raises the error of a failed step (after saving the attempt) so the caller's queue
        retries, until the attempts run out: then the request stops in `failed` and the
        result carries an alert with the snapshot location.
        """
        path = EndpointPath.parse(endpoint_id)
        with resource_lock(f"recreation:{endpoint_id}"):
            record = self.store.load(endpoint_id)
            if record is None:
                raise KeyError(f"no recreation is requested for {endpoint_id}; request it first")
            lease = self.lease(record.workspace_id) if self.lease else nullcontext()
            with lease:
                return self._advance(record, path)

    def _advance(self, record: RecreationRecord, path: EndpointPath) -> RecreationResult:
        while record.current not in TERMINAL_STATES:
            step = self._steps[record.current]
            try:
                next_state = step(record, path)
            except Exception as error:
                # Any error counts as an attempt; the queue retries until attempts run out.
                if self._failed_for_good(record, error):
                    return RecreationResult(record, alert=record.alert)
                raise
            if next_state is None:
                self.store.save(record)
                return RecreationResult(record, waiting=True, alert=record.alert)
            record.error = None
            self._enter(record, next_state)
        return RecreationResult(record, alert=record.alert)

    def _enter(self, record: RecreationRecord, state: RecreationState) -> None:
        record.state = state.value
        record.history.append([state.value, self.clock().isoformat()])
        self.store.save(record)
        logger.info(
            "Recreation of %s is %s",
            record.endpoint_id,
            state.value,
            extra={"resource_id": record.endpoint_id},
        )

    def _failed_for_good(self, record: RecreationRecord, error: Exception) -> bool:
        """Save the failed attempt; return True when the request stopped in `failed`."""
        record.attempts += 1
        record.error = f"{type(error).__name__}: {error}"
        logger.exception(
            "Recreation of %s failed in state %s (attempt %d of %d)",
            record.endpoint_id,
            record.state,
            record.attempts,
            self.max_attempts,
            extra={"resource_id": record.endpoint_id},
        )
        if not _is_permanent(error) and record.attempts < self.max_attempts:
            self.store.save(record)
            return False
        failed_in = record.state
        record.alert = (
            f"recreation of batch endpoint {record.endpoint_id} stopped in state {failed_in} "
            f"after {record.attempts} attempt(s): {record.error}. The endpoint and its "
            f"deployments are saved in snapshot {record.snapshot_location or '(none taken)'}; "
            "recreate them from it by hand, or fix the cause and request recreation again"
        )
        self._enter(record, RecreationState.FAILED)
        return True

    # Steps -------------------------------------------------------------------------------

    def _request_approval(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        if self.approval == "auto" and record.approved_by is None:
            record.approved_by = "auto"
        return RecreationState.AWAITING_APPROVAL

    def _save_snapshot(
        self, record: RecreationRecord, path: EndpointPath
    ) -> RecreationState | None:
        if record.approved_by is None:
            record.alert = _approval_alert(record)
            return None
        record.alert = None
        if self.store.load_snapshot(record.endpoint_id) is None:
            document = self._take_snapshot(record, path)
            record.snapshot_location = self.store.save_snapshot(record.endpoint_id, document)
            read_back = self.store.load_snapshot(record.endpoint_id)
            if read_back != json.loads(json.dumps(document)):
                raise SnapshotMismatch(
                    f"snapshot of {record.endpoint_id} read back from "
                    f"{record.snapshot_location} differs from the one written; nothing was "
                    "deleted"
                )
        elif record.snapshot_location is None:
            # A crash after the write and before the state save left the snapshot in place.
            record.snapshot_location = self.store.save_snapshot(
                record.endpoint_id, self._snapshot(record)
            )
        return RecreationState.SNAPSHOT_SAVED

    def _take_snapshot(self, record: RecreationRecord, path: EndpointPath) -> Json:
        client = self._ml(path)
        endpoint = client.get_batch_endpoint(path.resource_group, path.workspace, path.endpoint)
        deployments = list(
            client.list_batch_deployments(path.resource_group, path.workspace, path.endpoint)
        )
        return {
            "endpoint_id": record.endpoint_id,
            "taken_at": self.clock().isoformat(),
            "endpoint": endpoint,
            "deployments": deployments,
        }

    def _validate_payloads(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        record.payloads = build_payloads(self._snapshot(record))
        return RecreationState.PAYLOADS_VALIDATED

    def _drain_jobs(self, record: RecreationRecord, path: EndpointPath) -> RecreationState | None:
        deadline = time.monotonic() + self.job_wait_seconds
        while True:
            active = self._active_jobs(path)
            if not active:
                record.alert = None
                return RecreationState.JOBS_DRAINED
            if time.monotonic() >= deadline:
                record.alert = (
                    f"recreation of {record.endpoint_id} waits for {len(active)} running or "
                    f"queued job(s): {', '.join(active)}"
                )
                return None
            self.sleep(self.job_poll_seconds)

    def _active_jobs(self, path: EndpointPath) -> list[str]:
        jobs = self._ml(path).list_jobs(path.resource_group, path.workspace)
        return [
            str(job.get("name"))
            for job in jobs
            if _is_endpoint_job(job, path.endpoint)
            and str(as_dict(job.get("properties")).get("status") or "").lower() in ACTIVE_JOB_STATES
        ]

    def _delete_deployments(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        self._require_snapshot(record)
        client = self._ml(path)
        default = _default_deployment(record.payloads["endpoint"])
        # NOTE: the default deployment is deleted with its endpoint in the next step, because
        # the service may reject deleting the deployment an endpoint names as its default.
        for name in record.payloads["deployments"]:
            if name == default:
                continue
            self._write(
                f"DELETE deployment {name} of {record.endpoint_id}",
                partial(
                    _wait,
                    client.begin_delete_batch_deployment,
                    path.resource_group,
                    path.workspace,
                    path.endpoint,
                    name,
                ),
            )
        return RecreationState.DEPLOYMENTS_DELETED

    def _delete_endpoint(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        self._require_snapshot(record)
        client = self._ml(path)
        self._write(
            f"DELETE batch endpoint {record.endpoint_id}",
            lambda: client.begin_delete_batch_endpoint(
                path.resource_group, path.workspace, path.endpoint
            ).result(),
        )
        return RecreationState.ENDPOINT_DELETED

    def _recreate_endpoint(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        self._put_endpoint(record, path, record.payloads["endpoint_create"])
        return RecreationState.ENDPOINT_RECREATED

    def _recreate_deployments(
        self, record: RecreationRecord, path: EndpointPath
    ) -> RecreationState:
        client = self._ml(path)
        for name, body in record.payloads["deployments"].items():
            self._write(
                f"PUT deployment {name} of {record.endpoint_id}",
                partial(
                    _wait,
                    client.begin_create_or_update_batch_deployment,
                    path.resource_group,
                    path.workspace,
                    path.endpoint,
                    name,
                    body,
                ),
            )
        return RecreationState.DEPLOYMENTS_RECREATED

    def _restore_default(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        if _default_deployment(record.payloads["endpoint"]):
            self._put_endpoint(record, path, record.payloads["endpoint"])
        return RecreationState.DEFAULT_RESTORED

    def _verify(self, record: RecreationRecord, path: EndpointPath) -> RecreationState:
        client = self._ml(path)
        live = {
            "endpoint": client.get_batch_endpoint(
                path.resource_group, path.workspace, path.endpoint
            ),
            "deployments": list(
                client.list_batch_deployments(path.resource_group, path.workspace, path.endpoint)
            ),
        }
        snapshot = self._snapshot(record)
        found = differences(snapshot, live)
        if found:
            raise RecreationError(
                f"recreated {record.endpoint_id} differs from its snapshot in: {', '.join(found)}"
            )
        record.alert = _identity_alert(snapshot, live, record.endpoint_id)
        return RecreationState.VERIFIED

    # Helpers -----------------------------------------------------------------------------

    def _ml(self, path: EndpointPath) -> Any:
        return self.clients.machine_learning(path.subscription)

    def _snapshot(self, record: RecreationRecord) -> Json:
        snapshot = self.store.load_snapshot(record.endpoint_id)
        if snapshot is None:
            raise RecreationError(
                f"the snapshot of {record.endpoint_id} is missing from the store; nothing is "
                "deleted without it",
                permanent=True,
            )
        return snapshot

    def _require_snapshot(self, record: RecreationRecord) -> None:
        snapshot = self._snapshot(record)
        if norm_id(str(snapshot.get("endpoint_id"))) != norm_id(record.endpoint_id):
            raise RecreationError(
                f"the stored snapshot is not of {record.endpoint_id}; nothing is deleted",
                permanent=True,
            )

    def _put_endpoint(self, record: RecreationRecord, path: EndpointPath, body: Json) -> None:
        client = self._ml(path)
        self._write(
            f"PUT batch endpoint {record.endpoint_id}",
            lambda: client.begin_create_or_update_batch_endpoint(
                path.resource_group, path.workspace, path.endpoint, body
            ).result(),
        )

    def _write(self, operation: str, function: Callable[[], Any]) -> None:
        call_with_retry(operation, function, policy=self.retry, sleep=self.sleep)


def _wait(begin: Callable[..., Any], *args: Any) -> Any:
    """Start a long-running operation and wait for its result."""
    return begin(*args).result()


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, PayloadError):
        return True
    if isinstance(error, RecreationError):
        return error.permanent
    return isinstance(error, ArmOperationError) and error.error.kind is ErrorKind.PERMANENT


def _default_deployment(endpoint_body: Mapping[str, Any]) -> str | None:
    defaults = as_dict(as_dict(endpoint_body.get("properties")).get("defaults"))
    name = defaults.get("deploymentName")
    return str(name) if name else None


def _is_endpoint_job(job: Mapping[str, Any], endpoint: str) -> bool:
    """Return whether a workspace job was started by batch endpoint `endpoint`.

    NOTE: ARM's job list does not filter by batch endpoint, so jobs are matched by any tag
    or property whose key names an endpoint and whose value is the endpoint's name.
    """
    props = as_dict(job.get("properties"))
    pairs: Iterable[tuple[str, Any]] = [
        *as_dict(props.get("properties")).items(),
        *as_dict(props.get("tags")).items(),
        *as_dict(job.get("tags")).items(),
    ]
    return any(
        "endpoint" in str(key).lower() and str(value).lower() == endpoint.lower()
        for key, value in pairs
    )


def _approval_alert(record: RecreationRecord) -> str:
    return (
        f"approval needed to recreate batch endpoint {record.endpoint_id}: it was created "
        "before its workspace became private-link enabled and keeps the old public network "
        "setting. Recreation deletes and recreates the endpoint and its deployments from a "
        "snapshot; running jobs are waited for first."
    )


def _identity_alert(
    snapshot: Mapping[str, Any], live: Mapping[str, Any], endpoint_id: str
) -> str | None:
    """Warn when a system-assigned identity came back with a new principal id."""
    before = as_dict(as_dict(snapshot.get("endpoint")).get("identity")).get("principalId")
    after = as_dict(as_dict(live.get("endpoint")).get("identity")).get("principalId")
    if before and after and before != after:
        return (
            f"batch endpoint {endpoint_id} was recreated with a new system-assigned identity "
            f"(principal id {after}, was {before}): grant it the roles the old one had"
        )
    return None
