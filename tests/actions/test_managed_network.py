"""Managed outbound rules for the storage groups of a managed-network workspace."""

from __future__ import annotations

from typing import Any

from fake_arm import FakeArm
from remediators.actions.arm_errors import RetryPolicy
from remediators.actions.managed_network import ManagedOutboundRuleCreator, rule_body
from remediators.actions.plan import OutcomeStatus, execute, plan_actions
from remediators.config import Settings
from remediators.estate.estate import Estate, build_context
from remediators.findings import Action, Finding
from remediators.rules import run_checks
from remediators.state.audit import AuditRecord
from tests.actions.fake_estate import STORAGE, WORKSPACE, clients_for, estate, writes

RULES = f"{WORKSPACE}/outboundRules"


def embedded_rule(group: str) -> dict[str, Any]:
    return {
        "type": "PrivateEndpoint",
        "category": "UserDefined",
        "status": "Active",
        "destination": {"serviceResourceId": STORAGE, "subresourceTarget": group},
    }


def managed_arm(groups: tuple[str, ...] = ("blob", "file")) -> FakeArm:
    resources = estate(storage_groups=(), managed_network=True)
    workspace = next(r for r in resources if r["id"] == WORKSPACE)
    workspace["properties"]["managedNetwork"]["outboundRules"] = {
        f"__SYS_PE_sa_{group}": embedded_rule(group) for group in groups
    }
    return FakeArm(resources)


def creator_for(arm: FakeArm, **options: Any) -> ManagedOutboundRuleCreator:
    return ManagedOutboundRuleCreator(
        clients_for(arm), retry=RetryPolicy(attempts=2, base_delay=0), **options
    )


def storage_findings(arm: FakeArm) -> list[Finding]:
    context = build_context(Estate(arm.resources()), WORKSPACE)
    return [f for f in run_checks(context) if f.rule == "storage.private-endpoint"]


def remediate(
    arm: FakeArm, creator: ManagedOutboundRuleCreator, dry_run: bool = False
) -> list[AuditRecord]:
    settings = Settings(mode="remediate", dry_run=dry_run)
    planned = plan_actions(storage_findings(arm), settings)
    return execute(planned, {Action.CREATE_MANAGED_OUTBOUND_RULE: creator.execute})


def test_findings_ask_for_outbound_rules() -> None:
    findings = storage_findings(managed_arm())
    assert [f.details["group_id"] for f in findings] == ["queue", "table"]
    assert {f.action for f in findings} == {Action.CREATE_MANAGED_OUTBOUND_RULE}


def test_missing_groups_become_outbound_rules() -> None:
    arm = managed_arm()
    records = remediate(arm, creator_for(arm))
    assert [r.result for r in records] == ["created", "created"]
    rule = (arm.get(f"{RULES}/pe-sa-queue") or {})["properties"]
    assert rule["type"] == "PrivateEndpoint"
    assert rule["destination"] == rule_body(STORAGE, "queue")["properties"]["destination"]


def test_outbound_rules_create_no_private_endpoint() -> None:
    arm = managed_arm()
    remediate(arm, creator_for(arm))
    assert sorted(writes(arm)) == [
        f"PUT {RULES[1:]}/pe-sa-queue",
        f"PUT {RULES[1:]}/pe-sa-table",
    ]


def test_outbound_rules_rerun_reads_only() -> None:
    arm = managed_arm()
    creator = creator_for(arm)
    remediate(arm, creator)
    arm.clear_log()
    outcomes = [creator.ensure(WORKSPACE, STORAGE, g) for g in ("queue", "table")]
    assert {o.status for o in outcomes} == {OutcomeStatus.ALREADY_DONE}
    assert writes(arm) == []


def test_embedded_rule_under_any_name_counts() -> None:
    arm = managed_arm()
    outcome = creator_for(arm).ensure(WORKSPACE, STORAGE, "blob")
    assert outcome.status is OutcomeStatus.ALREADY_DONE
    assert writes(arm) == []


def test_name_taken_by_other_rule_not_modified() -> None:
    arm = managed_arm()
    other = {"properties": {"type": "FQDN", "destination": "example.org"}}
    arm.add({"id": f"{RULES}/pe-sa-queue", "name": "pe-sa-queue", **other})
    outcome = creator_for(arm).ensure(WORKSPACE, STORAGE, "queue")
    assert outcome.status is OutcomeStatus.FAILED
    assert writes(arm) == []


def test_outbound_rule_dry_run_reads_only() -> None:
    arm = managed_arm()
    records = remediate(arm, creator_for(arm, dry_run=True), dry_run=True)
    assert [r.result for r in records] == ["would-change", "would-change"]
    assert writes(arm) == []
