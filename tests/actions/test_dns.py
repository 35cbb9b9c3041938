"""DNS zone group repair: merging zone configs, and the repair against the fake ARM."""

from __future__ import annotations

from typing import Any

from fake_arm import FakeArm
from remediators.actions.arm_errors import RetryPolicy
from remediators.actions.dns import (
    DnsOptions,
    ZoneGroupRepair,
    ZoneGroupState,
    merged_configs,
    missing_zone_names,
    required_zones,
    zone_group_body,
)
from remediators.actions.plan import OutcomeStatus, execute, plan_actions
from remediators.config import Settings as PlanSettings
from remediators.estate.estate import Estate, build_context
from remediators.findings import Action, Finding
from remediators.rules import run_checks
from tests.actions.fake_estate import (
    DNS_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    clients_for,
    endpoint_id,
    estate,
    fake_arm,
    writes,
    zone_group,
)

ZONES = "/subscriptions/s/resourceGroups/dns/providers/Microsoft.Network/privateDnsZones"


def api_only_group() -> ZoneGroupState:
    return ZoneGroupState.from_arm(
        {
            "name": "default",
            "properties": {
                "privateDnsZoneConfigs": [
                    {
                        "name": "api",
                        "properties": {"privateDnsZoneId": f"{ZONES}/privatelink.api.azureml.ms"},
                    }
                ]
            },
        }
    )


def test_missing_zone_names_lists_notebooks() -> None:
    required = required_zones("amlworkspace")
    assert missing_zone_names(api_only_group(), required) == ["privatelink.notebooks.azure.net"]


def test_merge_keeps_existing_config_name() -> None:
    merged = merged_configs(api_only_group(), [f"{ZONES}/privatelink.notebooks.azure.net"])
    assert list(merged) == ["api", "privatelink-notebooks-azure-net"]


def test_merge_skips_present_zone_case_insensitively() -> None:
    merged = merged_configs(api_only_group(), [f"{ZONES.upper()}/PRIVATELINK.API.AZUREML.MS"])
    assert len(merged) == 1


def test_zone_group_body_lists_every_config() -> None:
    body = zone_group_body({"a": "/zone/a", "b": "/zone/b"})
    assert len(body["properties"]["privateDnsZoneConfigs"]) == 2


# ---------------------------------------------------------------- against the fake ARM


def repair_for(arm: FakeArm, **options: Any) -> ZoneGroupRepair:
    defaults: dict[str, Any] = {"dns_zone_scope": DNS_GROUP}
    return ZoneGroupRepair(
        clients_for(arm),
        DnsOptions(**{**defaults, **options}),
        retry=RetryPolicy(attempts=3, base_delay=0),
        sleep=lambda seconds: None,
    )


def api_only_arm() -> FakeArm:
    """The workspace endpoint's zone group links only the api zone."""
    resources = [r for r in estate() if not r["id"].endswith("pe-ws/privateDnsZoneGroups/default")]
    resources.append(zone_group("pe-ws", ["privatelink.api.azureml.ms"]))
    return FakeArm(resources)


def dns_findings(arm: FakeArm) -> list[Finding]:
    context = build_context(Estate(arm.resources()), WORKSPACE)
    return [f for f in run_checks(context) if f.rule == "private-endpoint.dns"]


def zone_groups_of(arm: FakeArm, endpoint: str) -> list[dict[str, Any]]:
    prefix = f"{endpoint_id(endpoint)}/privateDnsZoneGroups/".lower()
    return [r for r in arm.resources() if r["id"].lower().startswith(prefix)]


def linked_zones(group: dict[str, Any]) -> list[str]:
    configs = group["properties"]["privateDnsZoneConfigs"]
    return [c["properties"]["privateDnsZoneId"].rsplit("/", 1)[-1] for c in configs]


def test_api_only_group_gets_notebooks_zone() -> None:
    arm = api_only_arm()
    planned = plan_actions(dns_findings(arm), PlanSettings(mode="remediate"))
    records = execute(planned, {Action.REPAIR_DNS_ZONE_GROUP: repair_for(arm).execute})
    groups = zone_groups_of(arm, "pe-ws")
    assert [r.result for r in records] == ["updated"]
    assert len(groups) == 1
    assert linked_zones(groups[0]) == [
        "privatelink.api.azureml.ms",
        "privatelink.notebooks.azure.net",
    ]


def test_repair_puts_the_existing_group() -> None:
    arm = api_only_arm()
    repair_for(arm).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    assert writes(arm) == [f"PUT {endpoint_id('pe-ws')[1:]}/privateDnsZoneGroups/default"]


def test_repair_keeps_group_name() -> None:
    resources = [r for r in estate() if not r["id"].endswith("pe-ws/privateDnsZoneGroups/default")]
    resources.append(zone_group("pe-ws", ["privatelink.api.azureml.ms"], name="custom"))
    arm = FakeArm(resources)
    repair_for(arm).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    groups = zone_groups_of(arm, "pe-ws")
    assert [g["name"] for g in groups] == ["custom"]
    assert len(linked_zones(groups[0])) == 2


def test_endpoint_without_group_gets_one() -> None:
    resources = [
        r for r in estate() if not r["id"].endswith("pe-sa-blob/privateDnsZoneGroups/default")
    ]
    arm = FakeArm(resources)
    outcome = repair_for(arm).ensure(endpoint_id("pe-sa-blob"), ["blob"])
    groups = zone_groups_of(arm, "pe-sa-blob")
    assert outcome.status is OutcomeStatus.CREATED
    assert [linked_zones(g) for g in groups] == [["privatelink.blob.core.windows.net"]]


def test_complete_group_needs_no_write() -> None:
    arm = fake_arm()
    outcome = repair_for(arm).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    assert outcome.status is OutcomeStatus.ALREADY_DONE
    assert writes(arm) == []


def test_repair_twice_writes_once() -> None:
    arm = api_only_arm()
    repair_for(arm).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    repair_for(arm).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    assert len(writes(arm)) == 1


def test_zone_missing_from_scope_fails_with_alert() -> None:
    arm = FakeArm([r for r in api_only_arm().resources() if "notebooks" not in r["id"]])
    outcome = repair_for(arm).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    assert outcome.status is OutcomeStatus.FAILED
    assert "privatelink.notebooks.azure.net not found" in (outcome.alert or "")
    assert writes(arm) == []


def test_zones_found_in_subscription_scope() -> None:
    arm = api_only_arm()
    outcome = repair_for(arm, dns_zone_scope=f"/subscriptions/{SUBSCRIPTION}").ensure(
        endpoint_id("pe-ws"), ["amlworkspace"]
    )
    assert outcome.status is OutcomeStatus.UPDATED


def test_custom_dns_plans_alert_only() -> None:
    arm = api_only_arm()
    planned = plan_actions(dns_findings(arm), PlanSettings(mode="remediate", custom_dns=True))
    assert [p.action for p in planned] == [Action.ALERT]


def test_dns_dry_run_reads_only() -> None:
    arm = api_only_arm()
    outcome = repair_for(arm, dry_run=True).ensure(endpoint_id("pe-ws"), ["amlworkspace"])
    assert outcome.status is OutcomeStatus.WOULD_CHANGE
    assert writes(arm) == []
