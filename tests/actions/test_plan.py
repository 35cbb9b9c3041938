"""Planning: modes, per-rule overrides, custom DNS, dry run and audit records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from remediators.actions.arm_errors import ArmError, ArmOperationError, ErrorKind
from remediators.actions.plan import (
    Outcome,
    OutcomeStatus,
    PlannedAction,
    execute,
    plan_actions,
)
from remediators.findings import Action, Finding, make_finding

WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
    "/providers/Microsoft.MachineLearningServices/workspaces/ws"
)
STORAGE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
    "/providers/Microsoft.Storage/storageAccounts/sa"
)


@dataclass
class Settings:
    mode: str = "remediate"
    rule_modes: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    custom_dns: bool = False


def storage_finding(*groups: str) -> Finding:
    return make_finding(
        "storage.private-endpoint",
        STORAGE,
        WORKSPACE,
        "missing private endpoints",
        missing_groups=list(groups),
    )


def dns_finding() -> Finding:
    return make_finding(
        "private-endpoint.dns", STORAGE + "-pe", WORKSPACE, "zone missing", group_id="blob"
    )


def test_remediate_mode_plans_one_action_per_group() -> None:
    planned = plan_actions([storage_finding("queue", "table")], Settings())
    assert [p.group_id for p in planned] == ["queue", "table"]


def test_remediate_mode_keeps_catalogue_action() -> None:
    planned = plan_actions([storage_finding("queue")], Settings())
    assert planned[0].action is Action.CREATE_PRIVATE_ENDPOINT


def test_alert_mode_turns_action_into_alert() -> None:
    planned = plan_actions([storage_finding("queue")], Settings(mode="alert"))
    assert planned[0].action is Action.ALERT


def test_rule_override_enables_remediation() -> None:
    settings = Settings(mode="alert", rule_modes={"storage.private-endpoint": "remediate"})
    planned = plan_actions([storage_finding("queue"), dns_finding()], settings)
    assert [p.action for p in planned] == [Action.CREATE_PRIVATE_ENDPOINT, Action.ALERT]


def test_rule_override_disables_remediation() -> None:
    settings = Settings(rule_modes={"storage.private-endpoint": "alert"})
    planned = plan_actions([storage_finding("queue")], settings)
    assert planned[0].action is Action.ALERT


def test_custom_dns_alerts_instead_of_repair() -> None:
    planned = plan_actions([dns_finding()], Settings(custom_dns=True))
    assert planned[0].action is Action.ALERT


def test_none_action_plans_nothing() -> None:
    finding = make_finding("endpoint.studio-invoke", WORKSPACE + "/batchEndpoints/e", WORKSPACE, "")
    assert plan_actions([finding], Settings()) == []


def test_duplicate_findings_planned_once() -> None:
    finding = make_finding(
        "endpoint.stale-network", WORKSPACE + "/batchEndpoints/e", WORKSPACE, "stale"
    )
    assert len(plan_actions([finding, finding], Settings())) == 1


def test_duplicate_groups_planned_once() -> None:
    planned = plan_actions([storage_finding("queue"), storage_finding("queue")], Settings())
    assert len(planned) == 1


def test_alert_note_in_audit_detail() -> None:
    planned = plan_actions([storage_finding("queue")], Settings(mode="alert"))
    record = execute(planned, {Action.ALERT: lambda a: Outcome(OutcomeStatus.ALERTED, "sent")})[0]
    assert record.details["detail"] == "sent (storage.private-endpoint is in alert mode)"


def test_dry_run_marks_actions() -> None:
    planned = plan_actions([storage_finding("queue")], Settings(dry_run=True))
    assert planned[0].dry_run is True


def test_finding_without_group_rejected() -> None:
    finding = make_finding("storage.private-endpoint", STORAGE, WORKSPACE, "missing")
    with pytest.raises(ValueError, match="names no group id"):
        plan_actions([finding], Settings())


FIXED_TIME = datetime(2026, 1, 2, tzinfo=UTC)


def test_execute_audits_outcome() -> None:
    planned = plan_actions([storage_finding("queue")], Settings())

    def create(action: PlannedAction) -> Outcome:
        return Outcome(OutcomeStatus.CREATED, "created", "/pe/id", correlation_id="corr-7")

    records = execute(planned, {Action.CREATE_PRIVATE_ENDPOINT: create}, now=lambda: FIXED_TIME)
    assert records[0].result == "created"
    assert records[0].arm_correlation_id == "corr-7"
    assert records[0].why == "missing private endpoints"
    assert records[0].resource_id == "/pe/id"
    assert records[0].recorded_at == FIXED_TIME


def test_execute_records_arm_failure_and_continues() -> None:
    planned = plan_actions([storage_finding("queue", "table")], Settings())
    error = ArmError(ErrorKind.PERMANENT, "AuthorizationFailed", 403, "no", correlation_id="c")

    def create(action: PlannedAction) -> Outcome:
        if action.group_id == "queue":
            raise ArmOperationError("create", error, 1)
        return Outcome(OutcomeStatus.CREATED, "created")

    records = execute(planned, {Action.CREATE_PRIVATE_ENDPOINT: create})
    assert [r.result for r in records] == ["failed", "created"]
    assert records[0].arm_correlation_id == "c"


def test_execute_without_executor_skips() -> None:
    planned = plan_actions([storage_finding("queue")], Settings())
    assert execute(planned, {})[0].result == "skipped"
