"""The remediation hook of the evaluator, and the recreation requests it queues.

`build_remediation` builds, from the settings, the Azure clients and the durable state:

- `Remediation`, the evaluator's remediation hook. It plans the actions for an evaluation's
  findings (`plan.plan_actions`: remediate mode only, per-rule overrides, custom DNS) and runs
  each one under the workspace lease the evaluator holds, checking the lease before each.
- `Recreations`, which keeps batch endpoint recreation requests: their records in the blob
  store, the messages on the recreation queue that advance them, the approval decisions sent
  over HTTP and the approval card.

Every executed action returns one audit record, which the evaluator appends to the audit log.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from remediators import telemetry
from remediators.actions import plan
from remediators.actions.cards import RecreationApproval, recreation_approval_card
from remediators.actions.dns import ZoneGroupRepair
from remediators.actions.managed_network import ManagedOutboundRuleCreator
from remediators.actions.plan import Executor, Outcome, OutcomeStatus, PlannedAction
from remediators.actions.private_endpoints import EndpointOptions, PrivateEndpointCreator
from remediators.actions.recreation import (
    TERMINAL_STATES,
    BlobRecreationStore,
    EndpointPath,
    RecreationRecord,
    RecreationState,
    Recreator,
)
from remediators.actions.teams import TeamsWebhook
from remediators.clients import AzureClients
from remediators.config import Settings
from remediators.evaluation import Evaluation
from remediators.findings import Action
from remediators.state._common import iso, parse_iso, utc_now
from remediators.state.audit import AuditLog, AuditRecord
from remediators.state.blobs import SnapshotConflict, SnapshotStore
from remediators.state.keys import resource_key
from remediators.state.leases import LeaseUnavailable, WorkspaceLocks
from remediators.state.queues import EvaluationQueue

if TYPE_CHECKING:
    from remediators.service import StateStores

logger = logging.getLogger(__name__)

# A request whose workspace is leased, or that waits for running jobs, is queued again,
# hidden for these many seconds.
LEASE_RETRY_SECONDS = 10
JOB_RETRY_SECONDS = 120
# After this many lease retries the message fails, so a lease that never frees ends in the
# poison queue instead of circling forever.
MAX_LEASE_RETRIES = 30
# Approvals over HTTP wait this long for the workspace lease before returning 503.
DECISION_LEASE_WAIT_SECONDS = 10
MAX_DECISION_TEXT = 500
# States in which nobody has approved or rejected the request yet and nothing has changed.
UNDECIDED_STATES = frozenset({RecreationState.REQUESTED, RecreationState.AWAITING_APPROVAL})


# Remediation hook --------------------------------------------------------------------------


class Remediation:
    """Plan and run the actions of one evaluation; an evaluator `RemediationHook`.

    `executors(dry_run)` returns the executor of each action kind; dry-run executors read
    and report what they would change, and write nothing.
    """

    def __init__(
        self,
        settings: Settings,
        executors: Callable[[bool], Mapping[Action, Executor]],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._executors = executors
        self._clock = clock

    def after_evaluation(
        self,
        evaluation: Evaluation,
        *,
        dry_run: bool,
        check_lease: Callable[[], None],
        record: Callable[[AuditRecord], object] | None = None,
    ) -> Sequence[AuditRecord]:
        """Run the planned remediation actions and return one audit record per action.

        Alert-only actions are left to the alert hook. `check_lease` runs before each action
        and raises `LeaseLost` when the workspace lease was lost, which stops the rest.
        `record`, when given, stores a "started" record before each action and the result
        record right after it, so a crash mid-way never hides an action that changed ARM.
        """
        dry_run = dry_run or self.settings.dry_run
        settings = dataclasses.replace(self.settings, dry_run=dry_run)
        planned = [
            action
            for action in plan.plan_actions(evaluation.findings, settings)
            if action.action not in (Action.ALERT, Action.NONE)
        ]
        if not planned:
            return []
        executors = self._executors(dry_run)
        records: list[AuditRecord] = []
        for action in planned:
            # NOTE: the lease is checked per action, not per ARM write inside one: a private
            # endpoint PUT and the zone group PUT after it run without a check in between.
            check_lease()
            if record is not None:
                record(_started_record(action, self._clock()))
            executed = plan.execute([action], executors, now=self._clock)
            for result in executed:
                _log_action(action, result)
                if record is not None:
                    record(result)
            records += executed
        logger.info(
            "Ran %d remediation actions for workspace %s%s",
            len(records),
            evaluation.workspace_id,
            " (dry run)" if dry_run else "",
            extra={"workspace_id": evaluation.workspace_id, "dry_run": dry_run},
        )
        return records


def _started_record(action: PlannedAction, at: datetime) -> AuditRecord:
    """Return the write-ahead record stored before an action runs."""
    return AuditRecord(
        kind="action",
        workspace_id=action.finding.workspace_id,
        what=f"start {action.action.value}",
        why=action.finding.message,
        result="started",
        resource_id=action.target_id,
        rule=action.finding.rule,
        finding_key=action.finding.key,
        details={"group_id": action.group_id} if action.group_id else {},
        recorded_at=at,
    )


def _log_action(action: PlannedAction, record: AuditRecord) -> None:
    telemetry.count_action(action.action.value, record.result)
    logger.info(
        "%s for %s: %s",
        action.action.value,
        record.resource_id,
        record.result,
        extra={
            "workspace_id": record.workspace_id,
            "rule": record.rule,
            "action": action.action.value,
            "result": record.result,
            "resource_id": record.resource_id,
            "arm_correlation_id": record.arm_correlation_id,
            "dry_run": action.dry_run,
        },
    )


# Recreation requests -----------------------------------------------------------------------


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class RecreationNotFound(KeyError):
    """Raised for a request id with no recreation request."""


class DecisionConflict(RuntimeError):
    """Raised when a request can no longer be approved or rejected; carries its record."""

    def __init__(self, message: str, record: RecreationRecord) -> None:
        super().__init__(message)
        self.record = record


class ApprovalCards:
    """Post the approval card of a recreation request to the Teams webhook.

    `base_url` is the https URL of the function app, which the card's approve and reject
    commands name.
    """

    def __init__(self, webhook: TeamsWebhook, base_url: str) -> None:
        self._webhook = webhook
        self.base_url = base_url

    def post(self, record: RecreationRecord) -> bool:
        """Post the card; return whether Teams accepted it."""
        approval = RecreationApproval(
            request_id=request_id_of(record.endpoint_id),
            endpoint_id=record.endpoint_id,
            workspace_id=record.workspace_id,
            reason=record.reason,
            requested_at=requested_at(record),
            snapshot_location=record.snapshot_location,
        )
        result = self._webhook.post_card(recreation_approval_card(approval, base_url=self.base_url))
        if not result.delivered:
            logger.warning(
                "Posting the approval card for the recreation of %s failed (%s); it is "
                "posted again on the next run of the request",
                record.endpoint_id,
                result.error,
                extra={"resource_id": record.endpoint_id, "status_code": result.status_code},
            )
        return result.delivered


def request_id_of(endpoint_id: str) -> str:
    """Return the id of the recreation request of a batch endpoint, as the HTTP API uses it."""
    return resource_key(endpoint_id)


def requested_at(record: RecreationRecord) -> datetime:
    """Return when the request was created, from its first history entry."""
    for state, at in record.history:
        if state == RecreationState.REQUESTED.value:
            return parse_iso_any(at)
    return utc_now()


def parse_iso_any(text: str) -> datetime:
    try:
        return parse_iso(text)
    except ValueError:
        return datetime.fromisoformat(text)


def record_view(record: RecreationRecord) -> dict[str, Any]:
    """Return the public JSON of a request: its id, state, decision and progress."""
    return {
        "id": request_id_of(record.endpoint_id),
        "endpoint_id": record.endpoint_id,
        "workspace_id": record.workspace_id,
        "state": record.state,
        "reason": record.reason,
        "requested_at": iso(requested_at(record)),
        "approved_by": record.approved_by,
        "decided_by": record.decided_by,
        "decision_reason": record.decision_reason,
        "decided_at": record.decided_at,
        "attempts": record.attempts,
        "error": record.error,
        "alert": record.alert,
        "snapshot_location": record.snapshot_location,
        "approval_card_sent_at": record.approval_card_sent_at,
        "history": record.history,
    }


class Recreations:
    """Recreation requests: create and queue them, run them, and record decisions.

    Every write to a request's record happens under its workspace lease, so the evaluator,
    the recreation queue function and the HTTP approvals never overwrite each other.
    """

    def __init__(
        self,
        recreator: Recreator,
        store: BlobRecreationStore,
        snapshots: SnapshotStore,
        queue: EvaluationQueue,
        audit: AuditLog,
        locks: WorkspaceLocks,
        *,
        cards: ApprovalCards | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.recreator = recreator
        self.store = store
        self.snapshots = snapshots
        self.queue = queue
        self.audit = audit
        self.locks = locks
        self.cards = cards
        self.clock = clock

    # Requests from the evaluator ---------------------------------------------------------

    def execute(self, action: PlannedAction) -> Outcome:
        """Create the recreation request of a planned `endpoint.stale-network` action and
        queue it; an endpoint that has a request already gets no second one.

        The message is sent before the record is saved, under the workspace lease that the
        evaluator holds and the recreation function takes before it reads the record. So a
        crash in between leaves a message without a record, which is dropped, and the next
        evaluation requests again; it never leaves a record that no message runs.
        """
        request_id = request_id_of(action.target_id)
        if self.store.load(action.target_id) is None:
            self.enqueue(action.target_id)
        outcome = self.recreator.execute(action)
        return dataclasses.replace(outcome, extra={**outcome.extra, "request_id": request_id})

    def enqueue(self, endpoint_id: str, *, delay: int = 0, lease_retries: int = 0) -> str:
        body = {"endpoint_id": endpoint_id, "lease_retries": lease_retries}
        return self.queue.enqueue(body, visibility_timeout=delay)

    # Reading -----------------------------------------------------------------------------

    def list(self) -> list[RecreationRecord]:
        """Return every request, newest first."""
        records = []
        for name in self.snapshots.names("recreation/"):
            if name.endswith("/state.json"):
                stored = self.snapshots.load(name)
                if stored is not None:
                    records.append(RecreationRecord.from_json(stored.document))
        return sorted(records, key=requested_at, reverse=True)

    def get(self, request_id: str) -> RecreationRecord | None:
        stored = self.snapshots.load(_state_blob(request_id))
        return RecreationRecord.from_json(stored.document) if stored else None

    # Decisions ---------------------------------------------------------------------------

    def decide(
        self, request_id: str, decision: Decision, *, by: str, reason: str
    ) -> RecreationRecord:
        """Approve or reject a request that nobody decided yet, and audit the decision.

        Raises RecreationNotFound, DecisionConflict when the request was decided or has run
        already, and LeaseUnavailable when its workspace stays leased. An approved request is
        queued, so the recreation function runs it.
        """
        record = self.get(request_id)
        if record is None:
            raise RecreationNotFound(request_id)
        _check_undecided(record)
        with self.locks.workspace_lease(
            record.workspace_id, wait_seconds=DECISION_LEASE_WAIT_SECONDS
        ):
            stored = self.snapshots.load(_state_blob(request_id))
            if stored is None:
                raise RecreationNotFound(request_id)
            record = RecreationRecord.from_json(stored.document)
            _check_undecided(record)
            _apply(record, decision, by, reason, self.clock())
            try:
                self.snapshots.replace(_state_blob(request_id), record.to_json(), stored.etag)
            except SnapshotConflict:
                current = self.get(request_id) or record
                raise DecisionConflict(
                    f"recreation request {request_id} changed while the decision was saved; "
                    "read it again",
                    current,
                ) from None
        self._audit_decision(record, decision, by, reason)
        if decision is Decision.APPROVE:
            self.enqueue(record.endpoint_id)
        logger.info(
            "Recreation of %s %s by %s",
            record.endpoint_id,
            "approved" if decision is Decision.APPROVE else "rejected",
            by,
            extra={"resource_id": record.endpoint_id, "workspace_id": record.workspace_id},
        )
        return record

    def _audit_decision(
        self, record: RecreationRecord, decision: Decision, by: str, reason: str
    ) -> None:
        self.audit.append(
            AuditRecord(
                kind="recreation-decision",
                workspace_id=record.workspace_id,
                what=f"{decision.value} recreation of {record.endpoint_id}",
                why=reason,
                result="approved" if decision is Decision.APPROVE else "rejected",
                resource_id=record.endpoint_id,
                rule="endpoint.stale-network",
                details={"request_id": request_id_of(record.endpoint_id), "by": by},
                recorded_at=self.clock(),
            )
        )

    # Running -----------------------------------------------------------------------------

    def handle_message(self, body: bytes | str, *, invocation_id: str | None = None) -> None:
        """Advance the request a recreation queue message names, as far as it can go.

        Errors of a step propagate after the attempt is saved, so the host retries the
        message and the run resumes from the saved state.
        """
        message = _parse_recreation_message(body)
        if message is None:
            logger.error(
                'Dropped recreation message %r: expected JSON {"endpoint_id": ...}',
                _text(body)[:200],
            )
            return
        endpoint_id, lease_retries = message
        workspace_id = workspace_of(endpoint_id)
        try:
            # NOTE: the Recreator does not call WorkspaceLease.check between its steps, so a
            # lease whose renewal failed mid-run is only noticed when the run ends.
            with self.locks.workspace_lease(workspace_id):
                self._run_leased(endpoint_id, invocation_id)
        except LeaseUnavailable:
            if lease_retries >= MAX_LEASE_RETRIES:
                raise
            self.enqueue(endpoint_id, delay=LEASE_RETRY_SECONDS, lease_retries=lease_retries + 1)

    def _run_leased(self, endpoint_id: str, invocation_id: str | None) -> None:
        record = self.store.load(endpoint_id)
        if record is None:
            logger.warning(
                "Dropped recreation message for %s: no request is stored",
                endpoint_id,
                extra={"resource_id": endpoint_id},
            )
            return
        if record.current not in TERMINAL_STATES:
            self._run(record, invocation_id)

    def _run(self, record: RecreationRecord, invocation_id: str | None) -> None:
        before = record.state
        try:
            result = self.recreator.run(record.endpoint_id)
        except Exception as error:
            after = self.store.load(record.endpoint_id) or record
            self._audit_run(after, before, invocation_id, error=f"{type(error).__name__}: {error}")
            raise
        current = result.record
        self._audit_run(current, before, invocation_id)
        if not result.waiting:
            return
        if current.approved_by is None:
            self._post_card_once(current)
        else:
            # Running jobs hold the request; look again later.
            self.enqueue(current.endpoint_id, delay=JOB_RETRY_SECONDS)

    def _post_card_once(self, record: RecreationRecord) -> None:
        if self.cards is None or record.approval_card_sent_at is not None:
            return
        if self.cards.post(record):
            record.approval_card_sent_at = iso(self.clock())
            self.store.save(record)

    def _audit_run(
        self,
        record: RecreationRecord,
        before: str,
        invocation_id: str | None,
        *,
        error: str | None = None,
    ) -> None:
        self.audit.append(
            AuditRecord(
                kind="action",
                workspace_id=record.workspace_id,
                what=f"{Action.QUEUE_RECREATION.value} run for {record.endpoint_id}",
                why=record.reason,
                result=OutcomeStatus.FAILED.value if error else record.state,
                resource_id=record.endpoint_id,
                rule="endpoint.stale-network",
                invocation_id=invocation_id,
                details={
                    "request_id": request_id_of(record.endpoint_id),
                    "from_state": before,
                    "state": record.state,
                    "attempts": record.attempts,
                    "error": error or record.error,
                    "alert": record.alert,
                },
                recorded_at=self.clock(),
            )
        )


def workspace_of(endpoint_id: str) -> str:
    """Return the workspace id of a batch endpoint id."""
    path = EndpointPath.parse(endpoint_id)
    return (
        f"/subscriptions/{path.subscription}/resourceGroups/{path.resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{path.workspace}"
    )


def _state_blob(request_id: str) -> str:
    return f"recreation/{request_id}/state.json"


def _check_undecided(record: RecreationRecord) -> None:
    request_id = request_id_of(record.endpoint_id)
    if record.decided_by is not None or record.approved_by is not None:
        who = record.decided_by or record.approved_by
        raise DecisionConflict(
            f"recreation request {request_id} was already decided by {who} and is {record.state}",
            record,
        )
    if record.current not in UNDECIDED_STATES:
        raise DecisionConflict(
            f"recreation request {request_id} is {record.state}; only a request that is "
            "requested or awaiting approval can be approved or rejected",
            record,
        )


def _apply(
    record: RecreationRecord, decision: Decision, by: str, reason: str, at: datetime
) -> None:
    record.decided_by = by
    record.decision_reason = reason
    record.decided_at = iso(at)
    if decision is Decision.APPROVE:
        record.approved_by = by
        record.alert = None
        return
    record.state = RecreationState.REJECTED.value
    record.history.append([record.state, at.isoformat()])
    record.alert = None


def _parse_recreation_message(body: bytes | str) -> tuple[str, int] | None:
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    endpoint_id = data.get("endpoint_id")
    retries = data.get("lease_retries", 0)
    if not isinstance(endpoint_id, str) or not isinstance(retries, int):
        return None
    try:
        EndpointPath.parse(endpoint_id)
    except ValueError:
        return None
    return endpoint_id, retries


def _text(body: bytes | str) -> str:
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


# Factory -----------------------------------------------------------------------------------


def build_recreations(
    settings: Settings,
    clients: AzureClients,
    state: StateStores,
    *,
    cards: ApprovalCards | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utc_now,
) -> Recreations:
    """Build the recreation requests over the state's blob store and recreation queue."""
    if state.snapshots is None or state.recreation_queue is None:
        raise ValueError(
            "the state stores have no snapshot container or recreation queue; open them with "
            "StateStores.from_clients"
        )
    store = BlobRecreationStore(state.snapshots, container=state.snapshot_container)
    recreator = Recreator(
        clients,
        store,
        approval=settings.recreation_approval,
        # The queue function waits for running jobs by requeueing, never inside one run.
        job_wait_seconds=0,
        dry_run=settings.dry_run,
        sleep=sleep,
        clock=clock,
    )
    return Recreations(
        recreator,
        store,
        state.snapshots,
        state.recreation_queue,
        state.audit,
        state.locks,
        cards=cards,
        clock=clock,
    )


def build_remediation(
    settings: Settings,
    clients: AzureClients,
    recreations: Recreations,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utc_now,
) -> Remediation:
    """Build the remediation hook with every executor: private endpoints, DNS zone groups,
    managed outbound rules and recreation requests."""
    cache: dict[bool, Mapping[Action, Executor]] = {}

    def executors(dry_run: bool) -> Mapping[Action, Executor]:
        if dry_run not in cache:
            cache[dry_run] = _executors(settings, clients, recreations, dry_run, sleep)
        return cache[dry_run]

    return Remediation(settings, executors, clock=clock)


def _executors(
    settings: Settings,
    clients: AzureClients,
    recreations: Recreations,
    dry_run: bool,
    sleep: Callable[[float], None],
) -> dict[Action, Executor]:
    options = EndpointOptions.from_settings(settings, dry_run=dry_run)
    zone_groups = ZoneGroupRepair(clients, options.dns_options(), sleep=sleep)
    endpoints = PrivateEndpointCreator(clients, options, sleep=sleep, zone_groups=zone_groups)
    outbound = ManagedOutboundRuleCreator(clients, dry_run=dry_run, sleep=sleep)
    return {
        Action.CREATE_PRIVATE_ENDPOINT: endpoints.execute,
        Action.REPAIR_DNS_ZONE_GROUP: zone_groups.execute,
        Action.CREATE_MANAGED_OUTBOUND_RULE: outbound.execute,
        Action.QUEUE_RECREATION: _recreation_executor(recreations, dry_run),
    }


def _recreation_executor(recreations: Recreations, dry_run: bool) -> Executor:
    def execute(action: PlannedAction) -> Outcome:
        if dry_run:
            existing = recreations.store.load(action.target_id)
            state = existing.state if existing else "none"
            return Outcome(
                OutcomeStatus.WOULD_CHANGE,
                f"dry run: would queue recreation of {action.target_id} (current request: {state})",
                action.target_id,
                extra={"request_id": request_id_of(action.target_id)},
            )
        return recreations.execute(action)

    return execute
