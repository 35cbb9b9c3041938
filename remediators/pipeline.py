"""The seam between triggers and work: evaluation requests and the dispatchers that run them.

Triggers turn their input into `EvaluationRequest` values and hand them to a `Dispatcher`.
`InlineDispatcher` evaluates each request at once. A queue dispatcher, which coalesces the
requests for one workspace over a short window, implements the same protocol.

`remediators.dispatch.QueueDispatcher` is the production dispatcher, and the runtime's
`ordering`, when set, drops events older than the last one processed for their resource.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from remediators.estate.estate import build_context
from remediators.estate.source import EstateSource
from remediators.evaluation import Evaluation, evaluate_workspace
from remediators.events import Ignored, Rejected, ResourceChange, normalise
from remediators.findings import Finding, Severity
from remediators.routing import DependencyIndex, Router
from remediators.rules import RuleOptions

if TYPE_CHECKING:
    from remediators.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationRequest:
    """A request to evaluate one workspace, with the reason and the events behind it."""

    workspace_id: str
    reason: str
    event_ids: tuple[str, ...] = ()
    dry_run: bool = False
    requested_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "reason": self.reason,
            "event_ids": list(self.event_ids),
            "dry_run": self.dry_run,
            "requested_at": self.requested_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvaluationRequest:
        return cls(
            workspace_id=str(data["workspace_id"]),
            reason=str(data.get("reason") or ""),
            event_ids=tuple(str(e) for e in data.get("event_ids") or ()),
            dry_run=bool(data.get("dry_run", False)),
            requested_at=datetime.fromisoformat(str(data["requested_at"])),
        )


class Dispatcher(Protocol):
    """Runs or schedules evaluation requests; errors propagate so the trigger is retried."""

    def dispatch(self, requests: Sequence[EvaluationRequest]) -> None: ...


class InlineDispatcher:
    """Evaluate each request now, in the calling function, and log every finding.

    After each evaluation the dependency index, when given, is updated with what the
    workspace uses now. A workspace that no longer exists is logged and skipped.
    """

    def __init__(
        self,
        source: EstateSource,
        options: RuleOptions | None = None,
        index: DependencyIndex | None = None,
    ) -> None:
        self.source = source
        self.options = options or RuleOptions()
        self.index = index

    def dispatch(self, requests: Sequence[EvaluationRequest]) -> None:
        for request in requests:
            self.evaluate(request)

    def evaluate(self, request: EvaluationRequest) -> Evaluation | None:
        """Evaluate one request; None when the workspace no longer exists."""
        evaluation_id = str(uuid.uuid4())
        ids = {"workspace_id": request.workspace_id, "evaluation_id": evaluation_id}
        try:
            estate = self.source.workspace_estate(request.workspace_id)
        except KeyError:
            logger.warning(
                "Skipping evaluation of %s: the workspace was not found",
                request.workspace_id,
                extra=ids,
            )
            if self.index is not None:
                self.index.remove(request.workspace_id)
            return None
        evaluation = evaluate_workspace(estate, request.workspace_id, self.options)
        if self.index is not None:
            self.index.update(build_context(estate, request.workspace_id))
        log_evaluation(evaluation, request, evaluation_id)
        return evaluation


def log_evaluation(evaluation: Evaluation, request: EvaluationRequest, evaluation_id: str) -> None:
    """Log the evaluation summary and one line per finding, with ids as structured fields."""
    event_id = request.event_ids[0] if request.event_ids else None
    logger.info(
        "Evaluated %s (%s): %d findings%s",
        evaluation.workspace_id,
        request.reason,
        len(evaluation.findings),
        f", exempt by {evaluation.exempt_reason}" if evaluation.exempt else "",
        extra={
            "workspace_id": evaluation.workspace_id,
            "evaluation_id": evaluation_id,
            "event_id": event_id,
            "event_ids": list(request.event_ids),
            "finding_count": len(evaluation.findings),
        },
    )
    for finding in evaluation.findings:
        _log_finding(finding, event_id, evaluation_id)


def _log_finding(finding: Finding, event_id: str | None, evaluation_id: str) -> None:
    level = logging.INFO if finding.severity is Severity.INFO else logging.WARNING
    logger.log(
        level,
        "%s %s on %s: %s",
        finding.severity.value,
        finding.rule,
        finding.resource_id,
        finding.message,
        extra={
            "workspace_id": finding.workspace_id,
            "rule": finding.rule,
            "severity": finding.severity.value,
            "action": finding.action.value,
            "resource_id": finding.resource_id,
            "event_id": event_id,
            "evaluation_id": evaluation_id,
        },
    )


@dataclass
class DeliveryResult:
    """The outcome of one Event Grid delivery: counts, requests and the reason for every skip."""

    events: int = 0
    changes: int = 0
    requests: list[EvaluationRequest] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def workspace_ids(self) -> list[str]:
        return [r.workspace_id for r in self.requests]

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "changes": self.changes,
            "workspaces": self.workspace_ids,
            "ignored": [{"event_id": i.event_id, "reason": i.reason} for i in self.ignored],
            "rejected": [{"event_id": r.event_id, "reason": r.reason} for r in self.rejected],
        }


def handle_delivery(payload: object, runtime: Runtime) -> DeliveryResult:
    """Normalise a delivery, route it to workspaces and dispatch one request per workspace.

    Bad input never raises: it is logged and counted. Errors of the work itself (Azure
    Resource Manager unavailable) propagate, so Functions and Event Grid retry the delivery.
    """
    items = normalise(payload)
    if runtime.ordering is not None:
        items = runtime.ordering.admit(items)
    router = Router(runtime.dependency_index(), scope=runtime.settings.scope_subscriptions or None)
    routing = router.route(items)
    result = DeliveryResult(
        events=len(items),
        changes=len(items) - sum(isinstance(i, (Ignored, Rejected)) for i in items),
        ignored=routing.ignored,
        rejected=routing.rejected,
    )
    for skipped in routing.skipped:
        _log_skip(skipped)

    now = datetime.now(UTC)
    result.requests = [
        EvaluationRequest(
            workspace_id=route.workspace_id,
            reason="; ".join(route.reasons),
            event_ids=route.event_ids,
            dry_run=runtime.settings.dry_run,
            requested_at=now,
        )
        for route in routing.routes
    ]
    if result.requests:
        runtime.dispatcher.dispatch(result.requests)
    if runtime.ordering is not None:
        routed = {event_id for route in routing.routes for event_id in route.event_ids}
        runtime.ordering.commit(
            [i for i in items if isinstance(i, ResourceChange) and i.event_id in routed]
        )
    return result


def _log_skip(skipped: Ignored | Rejected) -> None:
    extra = {"event_id": skipped.event_id, "resource_id": skipped.resource_id}
    if isinstance(skipped, Rejected):
        logger.warning("Rejected event %s: %s", skipped.event_id, skipped.reason, extra=extra)
    else:
        logger.debug("Ignored event %s: %s", skipped.event_id, skipped.reason, extra=extra)
