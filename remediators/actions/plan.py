"""Turn findings into planned actions, run them, and return one audit record per action.

Planning honours the global mode (`alert` or `remediate`) with per-rule overrides, and the
custom-DNS declaration. In dry-run the plan is built and every executor runs its reads, but
executors write nothing and report what they would have done.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.exceptions import AzureError

from remediators.actions.arm_errors import ArmOperationError, classify
from remediators.findings import Action, Finding
from remediators.state.audit import AuditRecord

logger = logging.getLogger(__name__)

ALERT_MODE = "alert"
REMEDIATE_MODE = "remediate"


class PlanSettings(Protocol):
    """The settings planning reads; `remediators.config.Settings` provides them."""

    @property
    def mode(self) -> str: ...

    @property
    def rule_modes(self) -> Mapping[str, str]: ...

    @property
    def dry_run(self) -> bool: ...

    @property
    def custom_dns(self) -> bool: ...


@dataclass(frozen=True)
class PlannedAction:
    """One action to take about one finding; `group_id` is set for private endpoint work."""

    action: Action
    finding: Finding
    target_id: str
    group_id: str | None = None
    dry_run: bool = False
    # Why the action differs from the rule's catalogue action, e.g. "alert mode".
    note: str | None = None

    @property
    def key(self) -> str:
        return f"{self.action.value}|{self.target_id.lower()}|{(self.group_id or '').lower()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "rule": self.finding.rule,
            "target_id": self.target_id,
            "group_id": self.group_id,
            "workspace_id": self.finding.workspace_id,
            "dry_run": self.dry_run,
            "note": self.note,
        }


class OutcomeStatus(enum.Enum):
    """The result of one executed action."""

    CREATED = "created"
    UPDATED = "updated"
    ALREADY_DONE = "already-done"
    PENDING_APPROVAL = "pending-approval"
    QUEUED = "queued"
    WOULD_CHANGE = "would-change"
    ALERTED = "alerted"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    """The result of one executor run: status, a sentence for people, and ARM's correlation id."""

    status: OutcomeStatus
    detail: str
    resource_id: str | None = None
    correlation_id: str | None = None
    # A message for the owner of the target when a person has to act, e.g. approve a request.
    alert: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Executor = Callable[[PlannedAction], Outcome]


def mode_for(rule_id: str, settings: PlanSettings) -> str:
    """Return the mode of one rule: its override, else the global mode."""
    overrides = {key.lower(): value for key, value in settings.rule_modes.items()}
    return (overrides.get(rule_id.lower()) or settings.mode).lower()


def plan_actions(findings: Iterable[Finding], settings: PlanSettings) -> list[PlannedAction]:
    """Return the actions for `findings`, one per target and group, in finding order."""
    planned: dict[str, PlannedAction] = {}
    for finding in findings:
        for action in _actions_for(finding, settings):
            planned.setdefault(action.key, action)
    return list(planned.values())


def _actions_for(finding: Finding, settings: PlanSettings) -> list[PlannedAction]:
    action = finding.action
    if action is Action.NONE:
        return []
    note = None
    if action is not Action.ALERT and mode_for(finding.rule, settings) != REMEDIATE_MODE:
        action, note = Action.ALERT, f"{finding.rule} is in alert mode"
    if action is Action.REPAIR_DNS_ZONE_GROUP and settings.custom_dns:
        action, note = Action.ALERT, "the organisation declares custom DNS"
    if action is Action.LINT_ERROR:
        action = Action.ALERT

    def planned(group: str | None = None) -> PlannedAction:
        return PlannedAction(
            action, finding, finding.resource_id, group, dry_run=settings.dry_run, note=note
        )

    if action in (Action.CREATE_PRIVATE_ENDPOINT, Action.CREATE_MANAGED_OUTBOUND_RULE):
        return [planned(group) for group in groups_of(finding)]
    if action is Action.REPAIR_DNS_ZONE_GROUP:
        # The finding is on the private endpoint; its group id picks the zones.
        group = finding.details.get("group_id")
        return [planned(group if isinstance(group, str) else None)]
    return [planned()]


def groups_of(finding: Finding) -> list[str]:
    """Return the private link group ids a finding names: `group_id`, else `missing_groups`."""
    single = finding.details.get("group_id")
    if isinstance(single, str) and single:
        return [single.lower()]
    groups: list[str] = []
    many = finding.details.get("missing_groups") or []
    for group in many if isinstance(many, list) else []:
        if isinstance(group, str) and group.lower() not in groups:
            groups.append(group.lower())
    if not groups:
        raise ValueError(
            f"finding {finding.rule} on {finding.resource_id} names no group id; "
            "set details.group_id or details.missing_groups"
        )
    return groups


def execute(
    planned: Iterable[PlannedAction],
    executors: Mapping[Action, Executor],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[AuditRecord]:
    """Run each planned action with the executor for its kind and audit the outcome.

    An ARM failure of one action is recorded as failed and the others still run.
    """
    records = []
    for action in planned:
        executor = executors.get(action.action)
        if executor is None:
            outcome = Outcome(OutcomeStatus.SKIPPED, f"no executor for {action.action.value}")
        else:
            outcome = _run(executor, action)
        records.append(audit(action, outcome, now()))
    return records


def _run(executor: Executor, action: PlannedAction) -> Outcome:
    try:
        return executor(action)
    except ArmOperationError as failed:
        logger.error(
            "%s on %s failed: %s",
            action.action.value,
            action.target_id,
            failed,
            extra={"resource_id": action.target_id, "correlation_id": failed.error.correlation_id},
        )
        return Outcome(
            OutcomeStatus.FAILED,
            failed.error.describe(),
            correlation_id=failed.error.correlation_id,
            extra={"code": failed.error.code, "attempts": failed.attempts},
        )
    except AzureError as raised:
        error = classify(raised)
        logger.exception("%s on %s failed", action.action.value, action.target_id)
        return Outcome(OutcomeStatus.FAILED, error.describe(), correlation_id=error.correlation_id)


def audit(action: PlannedAction, outcome: Outcome, at: datetime) -> AuditRecord:
    """Build the audit record of one executed (or dry-run) action."""
    what = f"{action.action.value} for {action.target_id}"
    if action.group_id:
        what += f" (group {action.group_id})"
    detail = outcome.detail if action.note is None else f"{outcome.detail} ({action.note})"
    details: dict[str, Any] = {
        "target_id": action.target_id,
        "group_id": action.group_id,
        "detail": detail,
        "dry_run": action.dry_run,
        **outcome.extra,
    }
    if outcome.alert:
        details["alert"] = outcome.alert
    return AuditRecord(
        kind="action",
        workspace_id=action.finding.workspace_id,
        what=what,
        why=action.finding.message,
        result=outcome.status.value,
        resource_id=outcome.resource_id or action.target_id,
        rule=action.finding.rule,
        finding_key=action.finding.key,
        arm_correlation_id=outcome.correlation_id,
        details=details,
        recorded_at=at,
    )
