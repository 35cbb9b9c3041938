"""private-endpoint.connection-state and private-endpoint.dns."""

from __future__ import annotations

import pytest

from remediators.findings import Action, Severity
from remediators.rules import RuleOptions
from remediators.rules.dns_zones import required_zones
from tests.rules.builders import (
    REGISTRY_ID,
    STORAGE_ID,
    VAULT_ID,
    WORKSPACE_ID,
    connection_on,
    findings_of,
    healthy,
    only,
    private_endpoint,
    private_endpoint_id,
    zone_group,
)

# ---------------------------------------------------------------- connection state


def _state_findings(target: str, status: str) -> list:
    resources = healthy()
    role = {WORKSPACE_ID: "workspace", STORAGE_ID: "storage", REGISTRY_ID: "registry"}.get(
        target, "vault"
    )
    connections = resources[role]["properties"]["privateEndpointConnections"]
    connections.append(connection_on(target, "pe-extra", status=status))
    return only(findings_of(resources), "private-endpoint.connection-state")


@pytest.mark.parametrize("target", [WORKSPACE_ID, STORAGE_ID, REGISTRY_ID, VAULT_ID])
def test_pending_is_warning_on_every_dependency(target):
    findings = _state_findings(target, "Pending")
    assert len(findings) == 1
    assert findings[0].severity is Severity.WARNING
    assert findings[0].details["target_id"] == target


def test_pending_message_names_who_approves():
    finding = _state_findings(STORAGE_ID, "Pending")[0]
    assert f"approval is needed by the owner of {STORAGE_ID}" in finding.message


@pytest.mark.parametrize("status", ["Rejected", "Disconnected", "rejected"])
def test_rejected_and_disconnected_are_errors(status):
    findings = _state_findings(VAULT_ID, status)
    assert len(findings) == 1
    assert findings[0].severity is Severity.ERROR


def test_approved_connections_give_no_state_finding():
    assert only(findings_of(healthy()), "private-endpoint.connection-state") == []


def test_pending_request_seen_only_on_private_endpoint():
    resources = healthy()
    endpoint = private_endpoint("pe-manual", REGISTRY_ID, "registry")[0]
    props = endpoint["properties"]
    link = props.pop("privateLinkServiceConnections")
    link[0]["properties"]["privateLinkServiceConnectionState"]["status"] = "Pending"
    props["manualPrivateLinkServiceConnections"] = link
    props["privateLinkServiceConnections"] = []
    resources["pe-manual#0"] = endpoint
    findings = only(findings_of(resources), "private-endpoint.connection-state")
    assert [f.resource_id for f in findings] == [private_endpoint_id("pe-manual")]


# ---------------------------------------------------------------- DNS


def _with_zones(endpoint: str, zones: tuple[str, ...] | None) -> dict:
    resources = healthy()
    if zones is None:
        del resources[f"{endpoint}#1"]
    else:
        resources[f"{endpoint}#1"] = zone_group(endpoint, zones)
    return resources


def test_workspace_zone_group_with_only_api_zone():
    resources = _with_zones("pe-workspace", ("privatelink.api.azureml.ms",))
    findings = only(findings_of(resources), "private-endpoint.dns")
    assert len(findings) == 1
    assert findings[0].details["missing_zones"] == ["privatelink.notebooks.azure.net"]
    assert findings[0].details["zone_group"] == "default"
    assert findings[0].action is Action.REPAIR_DNS_ZONE_GROUP
    assert findings[0].resource_id == private_endpoint_id("pe-workspace")


def test_both_workspace_zones_are_compliant():
    assert only(findings_of(healthy()), "private-endpoint.dns") == []


def test_endpoint_without_zone_group():
    findings = only(findings_of(_with_zones("pe-queue", None)), "private-endpoint.dns")
    assert len(findings) == 1
    assert findings[0].details["missing_zones"] == ["privatelink.queue.core.windows.net"]
    assert findings[0].details["zone_group"] is None
    assert "no DNS zone group" in findings[0].message


@pytest.mark.parametrize(
    ("endpoint", "zone"),
    [
        ("pe-registry", "privatelink.azurecr.io"),
        ("pe-vault", "privatelink.vaultcore.azure.net"),
        ("pe-table", "privatelink.table.core.windows.net"),
    ],
)
def test_wrong_zone_is_reported(endpoint, zone):
    resources = _with_zones(endpoint, ("privatelink.example.com",))
    findings = only(findings_of(resources), "private-endpoint.dns")
    assert findings[0].details["missing_zones"] == [zone]


def test_zone_names_compare_case_insensitively():
    resources = _with_zones("pe-vault", ("PrivateLink.VaultCore.Azure.NET",))
    assert only(findings_of(resources), "private-endpoint.dns") == []


def test_custom_dns_only_alerts():
    resources = _with_zones("pe-blob", None)
    findings = only(findings_of(resources, RuleOptions(custom_dns=True)), "private-endpoint.dns")
    assert findings[0].action is Action.ALERT


def test_government_cloud_needs_its_own_zones():
    findings = only(
        findings_of(healthy(), RuleOptions(cloud="AzureUSGovernment")), "private-endpoint.dns"
    )
    missing = {zone for f in findings for zone in f.details["missing_zones"]}
    assert "privatelink.api.ml.azure.us" in missing
    assert "privatelink.notebooks.usgovcloudapi.net" in missing
    assert "privatelink.queue.core.usgovcloudapi.net" in missing
    assert "privatelink.azurecr.us" in missing
    assert "privatelink.vaultcore.usgovcloudapi.net" in missing
    assert len(findings) == 7


@pytest.mark.parametrize(
    ("group", "zones"),
    [
        ("amlworkspace", ("privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn")),
        ("blob", ("privatelink.blob.core.chinacloudapi.cn",)),
        ("registry", ("privatelink.azurecr.cn",)),
        ("vault", ("privatelink.vaultcore.azure.cn",)),
    ],
)
def test_china_cloud_zone_table(group, zones):
    assert required_zones(group, "AzureChinaCloud") == zones


def test_unknown_cloud_is_rejected():
    with pytest.raises(ValueError, match="AzureGermanCloud"):
        required_zones("blob", "AzureGermanCloud")
