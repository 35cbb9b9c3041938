"""The evaluation service: one queued evaluation request, end to end.

For each request the service holds the workspace's blob lease and releases the coalescing
marker. It reads the estate, records whether the workspace is private now, and evaluates it
with the recorded network history, falling back to the Resource Graph change records. Then it
stores the findings lifecycle, updates the dependency index, calls the alert and remediation
hooks and writes one audit record. A dry run reads and evaluates only. It records no history,
findings, alerts or actions, and its audit record says it was a dry run.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from azure.mgmt.core.tools import is_valid_resource_id

from remediators import telemetry
from remediators.budget import Budget, BudgetExhausted
from remediators.config import Settings
from remediators.estate.estate import Estate, NetworkHistory, build_context
from remediators.estate.history import history_from_changes
from remediators.estate.source import EstateSource
from remediators.evaluation import Evaluation, evaluate_workspace
from remediators.events import resource_id_problem
from remediators.findings import Finding, Severity
from remediators.pipeline import Dispatcher, EvaluationRequest, log_evaluation
from remediators.routing import DependencyIndex
from remediators.rules.common import workspace_is_private
from remediators.state._common import iso, parse_iso, utc_now
from remediators.state.audit import AuditLog, AuditRecord
from remediators.state.blobs import DEFAULT_CONTAINER, SnapshotStore
from remediators.state.clients import StorageClients
from remediators.state.coalesce import Coalescer
from remediators.state.findings import FindingsDelta, FindingsStore
from remediators.state.history import NetworkHistoryStore
from remediators.state.leases import LeaseUnavailable, WorkspaceLease, WorkspaceLocks
from remediators.state.queues import (
    DEFAULT_QUEUE,
    RECREATION_QUEUE,
    EvaluationQueue,
    decode_body,
)
from remediators.state.watermarks import Watermarks

if TYPE_CHECKING:
    from remediators.runtime import Runtime

logger = logging.getLogger(__name__)

# A request whose workspace is leased goes back on the queue, hidden for this long.
REQUEUE_DELAY_SECONDS = 10
# After this many requeues the request fails, so a lease that never frees ends in the poison
# queue instead of circling forever. With the delay above that is about 5 minutes.
MAX_REQUEUES = 30
# Time allowed for one queued evaluation, below host.json's functionTimeout of 10 minutes so
# that a throttled evaluation is requeued rather than killed mid-way by the host.
EVALUATION_BUDGET_SECONDS = 480.0
# Audit partition of records about messages that name no usable workspace.
NO_WORKSPACE = "/remediator/messages-without-workspace"
# Status records of one evaluation request live in the partition of this prefix plus its id.
STATUS_PREFIX = "/remediator/evaluations/"
STATUS_TABLE = "evaluationstatus"
MAX_LISTED_EVENT_IDS = 50

_WORKSPACE_ID = re.compile(
    r"^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"/resourcegroups/[^/]+/providers/microsoft\.machinelearningservices/workspaces/[^/]+$",
    re.IGNORECASE,
)


class Status(enum.StrEnum):
    """The result of one evaluation request, as the audit and status records spell it."""

    QUEUED = "queued"
    COMPLETED = "completed"
    REQUEUED = "requeued"
    NOT_FOUND = "not-found"
    REJECTED = "rejected"
    FAILED = "failed"


class InvalidMessage(ValueError):
    """Raised for a queue message that can never be evaluated: it is recorded, not retried."""


class AlertHook(Protocol):
    """Sends the alerts an evaluation calls for; `remediators.actions.alerts.Alerter` fits."""

    def after_evaluation(
        self,
        workspace_id: str,
        *,
        new: Iterable[Finding] = (),
        still_open: Iterable[Finding] = (),
        resolved: Iterable[Finding] = (),
    ) -> object: ...


class RemediationHook(Protocol):
    """Plans and runs the actions an evaluation calls for and returns their audit records.

    `check_lease` raises `LeaseLost` when the workspace lease was lost; call it before each
    write so that two instances never act on one workspace at once.
    """

    def after_evaluation(
        self,
        evaluation: Evaluation,
        *,
        dry_run: bool,
        check_lease: Callable[[], None],
        record: Callable[[AuditRecord], object],
    ) -> Sequence[AuditRecord]:
        """Run the actions; pass each audit record to `record` as soon as it exists."""
        ...


class NoAlerts:
    """The alert hook used until channels are configured: sends nothing."""

    def after_evaluation(
        self,
        workspace_id: str,
        *,
        new: Iterable[Finding] = (),
        still_open: Iterable[Finding] = (),
        resolved: Iterable[Finding] = (),
    ) -> None:
        return None


class NoRemediation:
    """The remediation hook used until executors are configured: acts on nothing."""

    def after_evaluation(
        self,
        evaluation: Evaluation,
        *,
        dry_run: bool,
        check_lease: Callable[[], None],
        record: Callable[[AuditRecord], object],
    ) -> Sequence[AuditRecord]:
        return ()


@dataclass
class StateStores:
    """The durable stores of the pipeline, all in the function app's storage account."""

    queue: EvaluationQueue
    coalescer: Coalescer | None
    findings: FindingsStore
    history: NetworkHistoryStore
    audit: AuditLog
    # Per-request status records, read by GET /api/evaluations/{id}.
    status: AuditLog
    locks: WorkspaceLocks
    watermarks: Watermarks
    # Batch endpoint recreation: request records and snapshots, and the queue that runs them.
    snapshots: SnapshotStore | None = None
    snapshot_container: str = DEFAULT_CONTAINER
    recreation_queue: EvaluationQueue | None = None

    @classmethod
    def from_clients(
        cls,
        clients: StorageClients,
        *,
        window_seconds: int,
        queue_name: str = DEFAULT_QUEUE,
        namespace: str = "",
    ) -> StateStores:
        """Open every store, creating missing tables, queues and containers.

        `namespace` prefixes every table, queue and container name, so that tests and demos
        can share one account; it must start with a lowercase letter and hold only
        lowercase letters and digits.
        """
        if namespace and not re.fullmatch(r"[a-z][a-z0-9]*", namespace):
            raise ValueError(
                f"invalid storage namespace {namespace!r}; use lowercase letters and digits, "
                "starting with a letter"
            )
        queue = EvaluationQueue(clients.queues, namespace + queue_name)
        queue.create_if_missing()
        coalescer = None
        if window_seconds > 0:
            coalescer = Coalescer(
                clients.tables,
                queue,
                table_name=f"{namespace}coalesce",
                window_seconds=window_seconds,
            )
        recreation_queue = EvaluationQueue(clients.queues, namespace + RECREATION_QUEUE)
        recreation_queue.create_if_missing()
        snapshot_container = namespace + DEFAULT_CONTAINER
        return cls(
            queue=queue,
            coalescer=coalescer,
            findings=FindingsStore(clients.tables, table_name=f"{namespace}findings"),
            history=NetworkHistoryStore(clients.tables, table_name=f"{namespace}networkhistory"),
            audit=AuditLog(clients.tables, table_name=f"{namespace}audit"),
            status=AuditLog(clients.tables, table_name=f"{namespace}{STATUS_TABLE}"),
            locks=WorkspaceLocks(clients.blobs, container=f"{namespace}locks"),
            watermarks=Watermarks(clients.tables, table_name=f"{namespace}watermarks"),
            snapshots=SnapshotStore(clients.blobs, container=snapshot_container),
            snapshot_container=snapshot_container,
            recreation_queue=recreation_queue,
        )


@dataclass(frozen=True)
class QueuedRequest:
    """An evaluation request as read from the evaluation queue."""

    workspace_id: str
    reason: str
    requested_at: datetime
    window_end: datetime | None = None
    event_ids: tuple[str, ...] = ()
    # None: use the configured dry-run setting.
    dry_run: bool | None = None
    # Set by manual re-evaluation, whose status is read back by this id.
    evaluation_id: str | None = None
    requeues: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "reason": self.reason,
            "requested_at": iso(self.requested_at),
            "window_end": iso(self.window_end) if self.window_end else None,
            "event_ids": list(self.event_ids),
            "correlation_id": None,
            "dry_run": self.dry_run,
            "evaluation_id": self.evaluation_id,
            "requeues": self.requeues,
        }


def parse_message(body: bytes | str) -> QueuedRequest:
    """Parse an evaluation queue message; raise InvalidMessage naming what is wrong."""
    data = _json_object(body)
    workspace_id = data.get("workspace_id")
    if not isinstance(workspace_id, str) or workspace_id_problem(workspace_id):
        raise InvalidMessage(
            f"invalid workspace_id {workspace_id!r}: expected the ARM id of an Azure Machine "
            "Learning workspace"
        )
    return QueuedRequest(
        workspace_id=workspace_id,
        reason=str(data.get("reason") or ""),
        requested_at=_time(data, "requested_at", required=True) or utc_now(),
        window_end=_time(data, "window_end", required=False),
        event_ids=_event_ids(data.get("event_ids")),
        dry_run=_optional_bool(data, "dry_run"),
        evaluation_id=_evaluation_id(data.get("evaluation_id")),
        requeues=_requeues(data.get("requeues")),
    )


def _json_object(body: bytes | str) -> dict[str, Any]:
    text = body
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidMessage(f"message body is not UTF-8 ({error.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidMessage(f"message body is not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise InvalidMessage(f"message body is JSON {type(data).__name__}, expected an object")
    return data


def _time(data: dict[str, Any], name: str, *, required: bool) -> datetime | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidMessage(f"invalid {name} {value!r}: expected an ISO 8601 UTC time string")
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidMessage(
            f"invalid {name} {value!r}: expected the format 2024-05-01T12:00:00.000000Z"
        ) from None


def _event_ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidMessage(f"invalid event_ids {value!r}: expected a list of strings")
    return tuple(value)


def _optional_bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidMessage(f"invalid {name} {value!r}: expected true, false or null")


def _evaluation_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_evaluation_id(value):
        raise InvalidMessage(f"invalid evaluation_id {value!r}: expected 32 hex digits")
    return value


def _requeues(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidMessage(f"invalid requeues {value!r}: expected a whole number")
    return value


def workspace_id_problem(text: str) -> str | None:
    """Return why `text` is not a workspace ARM id, or None when it is one."""
    candidate = text.removesuffix("/")
    unsafe = resource_id_problem(candidate)
    if unsafe:
        return unsafe
    if not _WORKSPACE_ID.match(candidate) or not is_valid_resource_id(candidate):
        return (
            "expected /subscriptions/<subscription id>/resourceGroups/<group>/providers/"
            "Microsoft.MachineLearningServices/workspaces/<name>"
        )
    return None


def subscription_of(resource_id: str) -> str:
    """Return the lowercased subscription id of an ARM id that starts with one."""
    return resource_id.split("/")[2].lower()


def new_evaluation_id() -> str:
    return uuid.uuid4().hex


def is_evaluation_id(text: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{32}", text) is not None


@dataclass
class EvaluationOutcome:
    """Outcome of one evaluation request."""

    evaluation_id: str
    workspace_id: str
    status: Status
    dry_run: bool = False
    evaluation: Evaluation | None = None
    delta: FindingsDelta | None = None
    detail: str = ""
    actions: list[AuditRecord] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return counts for logs, audit and status records."""
        summary: dict[str, Any] = {"dry_run": self.dry_run}
        if self.evaluation is not None:
            severities = {s.value: 0 for s in Severity}
            for finding in self.evaluation.findings:
                severities[finding.severity.value] += 1
            summary.update(
                findings=len(self.evaluation.findings),
                severities=severities,
                exempt=self.evaluation.exempt,
                network_history=self.evaluation.history_source,
            )
        if self.delta is not None:
            summary.update(
                new=len(self.delta.new),
                still_open=len(self.delta.still_open),
                resolved=len(self.delta.resolved),
            )
        if self.actions:
            summary["actions"] = [{"what": a.what, "result": a.result} for a in self.actions]
        return summary


class EvaluationService:
    """Evaluate workspaces one request at a time, with durable state and one worker each."""

    def __init__(
        self,
        settings: Settings,
        source: EstateSource,
        stores: StateStores,
        index: Callable[[], DependencyIndex] | None = None,
        *,
        alerts: AlertHook | None = None,
        remediation: RemediationHook | None = None,
        clock: Callable[[], datetime] = utc_now,
        budget_seconds: float = EVALUATION_BUDGET_SECONDS,
        budget_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.budget_seconds = budget_seconds
        self.budget_clock = budget_clock
        self.source = source
        self.stores = stores
        self._index = index
        self.alerts: AlertHook = alerts or NoAlerts()
        self.remediation: RemediationHook = remediation or NoRemediation()
        self.clock = clock

    def with_source(self, source: EstateSource) -> EvaluationService:
        """Return a service with the same settings, stores and hooks that reads `source`."""
        return EvaluationService(
            self.settings,
            source,
            self.stores,
            self._index,
            alerts=self.alerts,
            remediation=self.remediation,
            clock=self.clock,
            budget_seconds=self.budget_seconds,
            budget_clock=self.budget_clock,
        )

    # Queue messages ----------------------------------------------------------------------

    def handle_message(
        self,
        body: bytes | str,
        *,
        message_id: str | None = None,
        dequeue_count: int | None = None,
        invocation_id: str | None = None,
    ) -> EvaluationOutcome:
        """Run the evaluation that a queue message requests.

        A message that can never succeed (malformed, or outside the configured scope) is
        recorded and completed. A leased workspace puts the request back on the queue. Other
        errors propagate, so the Functions host retries the message and, after
        `maxDequeueCount` attempts, moves it to the poison queue.
        """
        ids = {"message_id": message_id, "dequeue_count": dequeue_count}
        try:
            request = parse_message(body)
        except InvalidMessage as error:
            return self._reject_message(body, str(error), ids, invocation_id)
        ids["workspace_id"] = request.workspace_id
        if not self.in_scope(request.workspace_id):
            reason = (
                f"subscription {subscription_of(request.workspace_id)} is outside the "
                "configured scope (REMEDIATOR_SCOPE_SUBSCRIPTIONS)"
            )
            return self._reject_request(request, reason, ids, invocation_id)

        evaluation_id = request.evaluation_id or new_evaluation_id()
        budget = Budget(self.budget_seconds, self.budget_clock)
        try:
            with budget.applied():
                return self.evaluate(
                    request.workspace_id,
                    reason=request.reason or "queued request",
                    dry_run=self.settings.dry_run if request.dry_run is None else request.dry_run,
                    evaluation_id=evaluation_id,
                    event_ids=request.event_ids,
                    window_end=request.window_end,
                    message_id=message_id,
                    invocation_id=invocation_id,
                    track_status=request.evaluation_id is not None,
                )
        except LeaseUnavailable as busy:
            return self._requeue(request, evaluation_id, str(busy), ids)
        except BudgetExhausted as exhausted:
            # Nothing was decided from the partial reads: findings are recorded only after
            # every read succeeded, and the actions already taken are idempotent.
            logger.warning(
                "Evaluation of %s ran out of its %.0f s budget (%s); requeued it",
                request.workspace_id,
                self.budget_seconds,
                exhausted,
                extra={**ids, "evaluation_id": evaluation_id},
            )
            return self._requeue(request, evaluation_id, f"time budget exhausted: {exhausted}", ids)

    def record_poison(
        self,
        body: bytes | str,
        *,
        message_id: str | None = None,
        dequeue_count: int | None = None,
        invocation_id: str | None = None,
    ) -> AuditRecord:
        """Record a message that exhausted its retries, for an operator to look at."""
        data = _poison_body(body)
        workspace = data.get("workspace_id") if data else None
        workspace_id = workspace if isinstance(workspace, str) and workspace else NO_WORKSPACE
        logger.error(
            "Evaluation request for %s failed on every attempt and is in the poison queue "
            "(message %s); check the errors logged for this message, fix the cause, then "
            "re-evaluate with POST /api/evaluations",
            workspace_id,
            message_id,
            extra={
                "workspace_id": workspace_id,
                "message_id": message_id,
                "dequeue_count": dequeue_count,
            },
        )
        record = AuditRecord(
            kind="poison",
            workspace_id=workspace_id,
            what="evaluation request moved to the poison queue",
            why=f"it failed {dequeue_count or 'the maximum number of'} times",
            result=Status.FAILED,
            invocation_id=invocation_id,
            details={
                "message_id": message_id,
                "dequeue_count": dequeue_count,
                "body": data if data is not None else _text_of(body),
            },
            recorded_at=self.clock(),
        )
        self.stores.audit.append(record)
        evaluation_id = data.get("evaluation_id") if data else None
        if isinstance(evaluation_id, str) and is_evaluation_id(evaluation_id):
            self._write_status(
                evaluation_id, workspace_id, Status.FAILED, "moved to the poison queue", {}
            )
        return record

    # Evaluation --------------------------------------------------------------------------

    def evaluate(
        self,
        workspace_id: str,
        *,
        reason: str,
        dry_run: bool,
        evaluation_id: str,
        event_ids: tuple[str, ...] = (),
        window_end: datetime | None = None,
        message_id: str | None = None,
        invocation_id: str | None = None,
        track_status: bool = True,
        lease_wait_seconds: float = 0,
    ) -> EvaluationOutcome:
        """Evaluate one workspace under its lease; raise LeaseUnavailable when it is held.

        Every log record written meanwhile carries the workspace and evaluation ids.
        """
        ids = {"workspace_id": workspace_id, "evaluation_id": evaluation_id}
        with (
            telemetry.evaluation_context(workspace_id, evaluation_id),
            self.stores.locks.workspace_lease(
                workspace_id, wait_seconds=lease_wait_seconds
            ) as lease,
        ):
            if window_end is not None and self.stores.coalescer is not None:
                self.stores.coalescer.release(workspace_id, window_end)
            try:
                outcome = self._evaluate_leased(
                    workspace_id, reason, dry_run, evaluation_id, event_ids, lease
                )
            except Exception as error:
                logger.exception("Evaluation of %s failed", workspace_id, extra=ids)
                # An exhausted budget is requeued, and `_requeue` counts it.
                if not isinstance(error, BudgetExhausted):
                    telemetry.count_evaluation(Status.FAILED)
                if track_status:
                    self._write_status(
                        evaluation_id, workspace_id, Status.FAILED, _describe(error), {}
                    )
                raise
            self._audit(outcome, reason, event_ids, message_id, invocation_id)
        telemetry.count_evaluation(outcome.status)
        if track_status:
            self._write_status(
                evaluation_id, workspace_id, outcome.status, outcome.detail, outcome.summary()
            )
        return outcome

    def _evaluate_leased(
        self,
        workspace_id: str,
        reason: str,
        dry_run: bool,
        evaluation_id: str,
        event_ids: tuple[str, ...],
        lease: WorkspaceLease,
    ) -> EvaluationOutcome:
        outcome = EvaluationOutcome(evaluation_id, workspace_id, Status.COMPLETED, dry_run)
        try:
            estate = self.source.workspace_estate(workspace_id)
        except KeyError:
            logger.warning(
                "Skipping evaluation of %s: the workspace was not found",
                workspace_id,
                extra={"workspace_id": workspace_id, "evaluation_id": evaluation_id},
            )
            if self._index is not None and not dry_run:
                self._index().remove(workspace_id)
            outcome.status = Status.NOT_FOUND
            outcome.detail = "the workspace was not found"
            return outcome

        observed_at = self.clock()
        history = self._network_history(estate, workspace_id, observed_at, dry_run)
        evaluation = evaluate_workspace(estate, workspace_id, self.settings.rule_options(), history)
        outcome.evaluation = evaluation
        request = EvaluationRequest(workspace_id, reason, event_ids, dry_run, observed_at)
        log_evaluation(evaluation, request, evaluation_id)
        if dry_run:
            outcome.detail = "dry run: nothing was stored, alerted or changed"
            return outcome

        lease.check()
        complete = not evaluation.missing
        if not complete:
            logger.warning(
                "Evaluation of %s could not read %d dependencies (%s); open findings stay open",
                workspace_id,
                len(evaluation.missing),
                ", ".join(evaluation.missing),
                extra={"workspace_id": workspace_id, "evaluation_id": evaluation_id},
            )
        outcome.delta = self.stores.findings.record_evaluation(
            workspace_id, evaluation.findings, observed_at=observed_at, resolve=complete
        )
        telemetry.count_findings_opened(item.finding for item in outcome.delta.new)
        telemetry.count_findings_resolved(item.finding for item in outcome.delta.resolved)
        if self._index is not None:
            self._index().update(build_context(estate, workspace_id, history))
        lease.check()
        self.alerts.after_evaluation(
            workspace_id,
            new=[item.finding for item in outcome.delta.new],
            still_open=[item.finding for item in outcome.delta.still_open],
            resolved=[item.finding for item in outcome.delta.resolved],
        )
        # The hook stores each action's records as the action starts and ends, so a crash
        # between two actions keeps the records of those that already changed ARM.
        outcome.actions = list(
            self.remediation.after_evaluation(
                evaluation, dry_run=False, check_lease=lease.check, record=self.stores.audit.append
            )
        )
        return outcome

    def _network_history(
        self, estate: Estate, workspace_id: str, observed_at: datetime, dry_run: bool
    ) -> NetworkHistory:
        """Record whether W is private now, then return when it became private.

        The recorded history wins. Resource Graph change records fill in a transition time
        the recording cannot know: the workspace was already private when first observed.
        """
        if not dry_run:
            context = build_context(estate, workspace_id)
            self.stores.history.record(
                workspace_id, workspace_is_private(context.workspace), observed_at
            )
        recorded = self.stores.history.became_private_at(workspace_id)
        if recorded.became_private_at is not None:
            return recorded
        changes = history_from_changes(estate.changes, workspace_id)
        if changes.became_private_at is not None or recorded.source == "unknown":
            return changes
        if recorded.earliest_private_evidence is None:
            return recorded
        evidence = [
            t
            for t in (recorded.earliest_private_evidence, changes.earliest_private_evidence)
            if t is not None
        ]
        return NetworkHistory(earliest_private_evidence=min(evidence), source=recorded.source)

    # Records -----------------------------------------------------------------------------

    def _audit(
        self,
        outcome: EvaluationOutcome,
        reason: str,
        event_ids: tuple[str, ...],
        message_id: str | None,
        invocation_id: str | None,
    ) -> None:
        details = {
            "evaluation_id": outcome.evaluation_id,
            "message_id": message_id,
            "event_ids": list(event_ids[:MAX_LISTED_EVENT_IDS]),
            "event_count": len(event_ids),
            "detail": outcome.detail,
            **outcome.summary(),
        }
        if outcome.evaluation is not None:
            details["rules"] = sorted({f.rule for f in outcome.evaluation.findings})
            details["missing"] = list(outcome.evaluation.missing)
        self.stores.audit.append(
            AuditRecord(
                kind="evaluation",
                workspace_id=outcome.workspace_id,
                what="dry-run evaluation" if outcome.dry_run else "evaluation",
                why=reason,
                result=outcome.status,
                invocation_id=invocation_id,
                details=details,
                recorded_at=self.clock(),
            )
        )

    def _write_status(
        self,
        evaluation_id: str,
        workspace_id: str,
        status: Status,
        detail: str,
        summary: dict[str, Any],
    ) -> None:
        self.stores.status.append(
            AuditRecord(
                kind="evaluation-status",
                workspace_id=STATUS_PREFIX + evaluation_id,
                what=f"evaluation of {workspace_id}",
                why=detail,
                result=status,
                resource_id=workspace_id,
                details={"workspace_id": workspace_id, "detail": detail, **summary},
                recorded_at=self.clock(),
            )
        )

    def record_queued(
        self, evaluation_id: str, workspace_ids: Sequence[str], *, dry_run: bool, reason: str
    ) -> None:
        """Write the status record of a manual request accepted for queued evaluation."""
        self.stores.status.append(
            AuditRecord(
                kind="evaluation-request",
                workspace_id=STATUS_PREFIX + evaluation_id,
                what=f"evaluation of {len(workspace_ids)} workspaces",
                why=reason,
                result=Status.QUEUED,
                details={"workspace_ids": list(workspace_ids), "dry_run": dry_run},
                recorded_at=self.clock(),
            )
        )

    def status_records(self, evaluation_id: str, limit: int = 1000) -> list[AuditRecord]:
        """Return the status records of one request, newest first."""
        return self.stores.status.recent(STATUS_PREFIX + evaluation_id, limit=limit)

    def in_scope(self, resource_id: str) -> bool:
        """Return whether the subscription of `resource_id` is in the configured scope.

        With no subscriptions configured nothing is in scope, so a misconfigured app never
        evaluates a subscription it was not pointed at.
        """
        return subscription_of(resource_id) in self.settings.scope_subscriptions

    def _reject_message(
        self, body: bytes | str, reason: str, ids: dict[str, Any], invocation_id: str | None
    ) -> EvaluationOutcome:
        telemetry.count_evaluation(Status.REJECTED)
        logger.error(
            "Dropped evaluation message %s: %s; it is recorded in the audit log and not retried",
            ids.get("message_id"),
            reason,
            extra=ids,
        )
        self.stores.audit.append(
            AuditRecord(
                kind="rejected-message",
                workspace_id=NO_WORKSPACE,
                what="evaluation message dropped",
                why=reason,
                result=Status.REJECTED,
                invocation_id=invocation_id,
                details={**ids, "body": _text_of(body)},
                recorded_at=self.clock(),
            )
        )
        return EvaluationOutcome("", NO_WORKSPACE, Status.REJECTED, detail=reason)

    def _reject_request(
        self,
        request: QueuedRequest,
        reason: str,
        ids: dict[str, Any],
        invocation_id: str | None,
    ) -> EvaluationOutcome:
        telemetry.count_evaluation(Status.REJECTED)
        logger.warning(
            "Rejected evaluation request for %s: %s", request.workspace_id, reason, extra=ids
        )
        evaluation_id = request.evaluation_id or new_evaluation_id()
        outcome = EvaluationOutcome(
            evaluation_id, request.workspace_id, Status.REJECTED, detail=reason
        )
        self._audit(outcome, request.reason, request.event_ids, ids["message_id"], invocation_id)
        if request.evaluation_id is not None:
            self._write_status(evaluation_id, request.workspace_id, Status.REJECTED, reason, {})
        return outcome

    def _requeue(
        self, request: QueuedRequest, evaluation_id: str, reason: str, ids: dict[str, Any]
    ) -> EvaluationOutcome:
        if request.requeues >= MAX_REQUEUES:
            telemetry.count_evaluation(Status.FAILED)
            raise RuntimeError(
                f"the evaluation of workspace {request.workspace_id!r} was requeued "
                f"{MAX_REQUEUES} times (last: {reason}); check for a stuck evaluator holding "
                "the lease in the 'locks' container, or for ARM throttling"
            )
        again = QueuedRequest(
            workspace_id=request.workspace_id,
            reason=request.reason,
            requested_at=request.requested_at,
            window_end=None,
            event_ids=request.event_ids,
            dry_run=request.dry_run,
            evaluation_id=request.evaluation_id,
            requeues=request.requeues + 1,
        )
        message_id = self.stores.queue.enqueue(
            again.to_json(), visibility_timeout=REQUEUE_DELAY_SECONDS
        )
        telemetry.count_evaluation(Status.REQUEUED)
        logger.info(
            "Requeued the evaluation of %s for %d s: %s",
            request.workspace_id,
            REQUEUE_DELAY_SECONDS,
            reason,
            extra={**ids, "requeued_message_id": message_id, "requeues": again.requeues},
        )
        return EvaluationOutcome(
            evaluation_id, request.workspace_id, Status.REQUEUED, detail=reason
        )


def _poison_body(body: bytes | str) -> dict[str, Any] | None:
    """Parse a poison message body, JSON as the trigger decoded it or still base64."""
    try:
        return _json_object(body)
    except InvalidMessage:
        text = _text_of(body)
        # decode_body expects base64 text, which is ASCII; anything else is not a body.
        return decode_body(text) if text.isascii() else None


def _text_of(body: bytes | str) -> str:
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def service_for(runtime: Runtime) -> EvaluationService:
    """Build the evaluation service over the stores and hooks of `runtime`.

    Raises RuntimeError when the runtime has no durable state, because queued evaluation
    needs the lease, findings and history stores.
    """
    if runtime.state is None:
        raise RuntimeError(
            "the runtime has no storage: set AzureWebJobsStorage (a connection string or the "
            "identity-based AzureWebJobsStorage__* settings) so the evaluator can use its stores"
        )
    return EvaluationService(
        runtime.settings,
        runtime.source,
        runtime.state,
        runtime.dependency_index,
        alerts=runtime.alerts,
        remediation=runtime.remediation,
    )


# Sweep -------------------------------------------------------------------------------------

# Time allowed for one timer sweep, below host.json's functionTimeout of 10 minutes, so the
# sweep hands what it cannot finish to the queue instead of being killed by the host.
SWEEP_BUDGET_SECONDS = 480.0
# The sweep starts evaluating a workspace only while more than this remains of its budget;
# the rest of the time is left for enqueuing the workspaces it did not reach.
# NOTE: an estimate. One evaluation from a collected estate reads nothing from ARM, so it
# takes well under a second, but an evaluation that remediates can take longer.
SWEEP_RESERVE_SECONDS = 60.0
SWEEP_REASON = "periodic sweep"


class ScopeCollector(Protocol):
    """An estate source that can read every workspace of a scope with shared list requests;
    `remediators.estate.live.LiveSource` fits."""

    def workspace_estate(self, workspace_id: str) -> Estate: ...

    def workspace_ids(self, scope: str) -> list[str]: ...

    def scope_estates(self, scope: str) -> dict[str, Estate]: ...


@dataclass
class SweepResult:
    """Counts of one sweep: workspaces evaluated, enqueued and failed, by subscription."""

    subscriptions: int = 0
    workspaces: int = 0
    evaluated: int = 0
    enqueued: int = 0
    failed_subscriptions: list[str] = field(default_factory=list)
    failed_workspaces: list[str] = field(default_factory=list)
    # Workspaces the sweep meant to evaluate but enqueued: leased, failed or out of time.
    deferred: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return len(self.failed_subscriptions) + len(self.failed_workspaces)


def sweep(
    settings: Settings,
    source: EstateSource,
    dispatcher: Dispatcher,
    evaluator: EvaluationService | None = None,
    *,
    on_collected: Callable[[EstateSource], None] | None = None,
    budget: Budget | None = None,
) -> SweepResult:
    """Evaluate every workspace in the configured subscriptions, or enqueue its evaluation.

    Without `evaluator`, or when `source` cannot collect a scope (it has no
    `scope_estates`), every workspace is enqueued. Otherwise each subscription is collected
    once with shared list requests, `on_collected` receives a source over every collected
    estate, and each workspace is evaluated through `evaluator` as a queued request would be
    (lease, history, findings, alerts, remediation, audit). A workspace whose lease is held,
    whose evaluation raises, or that the `budget` (default `SWEEP_BUDGET_SECONDS`) leaves no
    time for is enqueued instead. A subscription whose collection fails has its workspaces
    enqueued. Every failure is logged and counted, and the sweep goes on with the next one.
    """
    result = SweepResult()
    budget = budget or Budget(SWEEP_BUDGET_SECONDS)
    collector = source if hasattr(source, "scope_estates") else None
    if evaluator is None or collector is None:
        for subscription in settings.scope_subscriptions:
            result.subscriptions += 1
            _enqueue_subscription(settings, source, dispatcher, subscription, result)
        _log_sweep(result)
        return result

    collected = _collect_subscriptions(
        settings, cast(ScopeCollector, collector), dispatcher, budget, result
    )
    from remediators.estate.live import CollectedSource

    every_estate = {w: e for estates in collected.values() for w, e in estates.items()}
    collected_source = CollectedSource(every_estate, collector)
    if on_collected is not None:
        on_collected(collected_source)
    # NOTE: each estate is read before its workspace lease is taken, so a workspace evaluated
    # late in the sweep is judged on reads up to the sweep's budget (480 s) old. The next
    # event or sweep corrects a finding that went stale in between.
    sweeping = evaluator.with_source(collected_source)
    for estates in collected.values():
        for workspace_id in estates:
            _sweep_workspace(settings, sweeping, dispatcher, budget, workspace_id, result)
            result.workspaces += 1
    _log_sweep(result)
    return result


def _collect_subscriptions(
    settings: Settings,
    collector: ScopeCollector,
    dispatcher: Dispatcher,
    budget: Budget,
    result: SweepResult,
) -> dict[str, dict[str, Estate]]:
    """Collect each subscription once; enqueue the workspaces of one whose collection fails."""
    collected: dict[str, dict[str, Estate]] = {}
    for subscription in settings.scope_subscriptions:
        result.subscriptions += 1
        scope = f"/subscriptions/{subscription}"
        try:
            budget.check(SWEEP_RESERVE_SECONDS, doing=f"collect subscription {subscription}")
            with budget.applied():
                collected[subscription] = collector.scope_estates(scope)
        except Exception:  # one subscription must not stop the sweep; logged and counted
            logger.exception(
                "Sweep could not collect subscription %s with shared list requests; "
                "enqueuing an evaluation of each of its workspaces instead",
                subscription,
                extra={"subscription_id": subscription},
            )
            _enqueue_subscription(settings, collector, dispatcher, subscription, result)
    return collected


def _sweep_workspace(
    settings: Settings,
    sweeping: EvaluationService,
    dispatcher: Dispatcher,
    budget: Budget,
    workspace_id: str,
    result: SweepResult,
) -> None:
    """Evaluate one collected workspace, or enqueue it when that is not possible now."""
    ids = {"workspace_id": workspace_id, "subscription_id": subscription_of(workspace_id)}
    if budget.remaining() <= SWEEP_RESERVE_SECONDS:
        logger.info(
            "Sweep has %.0f s of its %.0f s budget left; enqueuing %s instead of evaluating it",
            budget.remaining(),
            budget.seconds,
            workspace_id,
            extra=ids,
        )
        _defer(settings, dispatcher, workspace_id, result)
        return
    try:
        with budget.applied():
            sweeping.evaluate(
                workspace_id,
                reason=SWEEP_REASON,
                dry_run=settings.dry_run,
                evaluation_id=new_evaluation_id(),
                track_status=False,
            )
    except LeaseUnavailable as busy:
        logger.info(
            "Sweep enqueued %s because another instance holds its lease: %s",
            workspace_id,
            busy,
            extra=ids,
        )
        _defer(settings, dispatcher, workspace_id, result)
        return
    except Exception:  # one workspace must not stop the sweep; logged and counted
        logger.exception(
            "Sweep could not evaluate %s; enqueuing its evaluation instead",
            workspace_id,
            extra=ids,
        )
        _defer(settings, dispatcher, workspace_id, result)
        return
    result.evaluated += 1


def _defer(
    settings: Settings, dispatcher: Dispatcher, workspace_id: str, result: SweepResult
) -> None:
    result.deferred.append(workspace_id)
    _enqueue(settings, dispatcher, workspace_id, result)


def _enqueue_subscription(
    settings: Settings,
    source: EstateSource,
    dispatcher: Dispatcher,
    subscription: str,
    result: SweepResult,
) -> None:
    """Enqueue an evaluation of every workspace of one subscription."""
    try:
        workspace_ids = source.workspace_ids(f"/subscriptions/{subscription}")
    except Exception:  # one subscription must not stop the sweep; logged and counted
        logger.exception(
            "Sweep could not list the workspaces of subscription %s; skipping it",
            subscription,
            extra={"subscription_id": subscription},
        )
        result.failed_subscriptions.append(subscription)
        return
    for workspace_id in workspace_ids:
        result.workspaces += 1
        _enqueue(settings, dispatcher, workspace_id, result)


def _enqueue(
    settings: Settings, dispatcher: Dispatcher, workspace_id: str, result: SweepResult
) -> None:
    request = EvaluationRequest(workspace_id, SWEEP_REASON, dry_run=settings.dry_run)
    try:
        dispatcher.dispatch([request])
    except Exception:  # one workspace must not stop the sweep; logged and counted
        logger.exception(
            "Sweep could not enqueue the evaluation of %s; skipping it",
            workspace_id,
            extra={"workspace_id": workspace_id, "subscription_id": subscription_of(workspace_id)},
        )
        result.failed_workspaces.append(workspace_id)
        return
    result.enqueued += 1


def _log_sweep(result: SweepResult) -> None:
    level = logging.WARNING if result.failures or result.deferred else logging.INFO
    logger.log(
        level,
        "Sweep evaluated %d and enqueued %d of %d workspaces in %d subscriptions "
        "(%d enqueued after they could not be evaluated); %d subscriptions and %d "
        "workspaces failed",
        result.evaluated,
        result.enqueued,
        result.workspaces,
        result.subscriptions,
        len(result.deferred),
        len(result.failed_subscriptions),
        len(result.failed_workspaces),
        extra={
            "evaluated": result.evaluated,
            "enqueued": result.enqueued,
            "deferred_workspaces": result.deferred,
            "failed_subscriptions": result.failed_subscriptions,
            "failed_workspaces": result.failed_workspaces,
        },
    )
