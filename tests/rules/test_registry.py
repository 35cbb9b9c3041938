"""registry.* and keyvault.private-endpoint rules."""

from __future__ import annotations

import pytest

from remediators.findings import Severity
from tests.rules.builders import (
    ENDPOINT_ID,
    REGISTRY_ID,
    VAULT_ID,
    findings_of,
    healthy,
    key_vault,
    only,
    rule_ids,
)


@pytest.mark.parametrize("sku", ["Basic", "Standard"])
def test_non_premium_skips_endpoint_finding(sku):
    resources = healthy()
    resources["registry"]["sku"] = {"name": sku, "tier": sku}
    resources["registry"]["properties"]["privateEndpointConnections"] = []
    findings = findings_of(resources)
    assert only(findings, "registry.sku")[0].details["sku"] == sku
    assert "registry.private-endpoint" not in rule_ids(findings)
    assert "never upgrades" in only(findings, "registry.sku")[0].message


def test_unknown_sku_with_endpoint_is_premium():
    resources = healthy()
    del resources["registry"]["sku"]
    findings = findings_of(resources)
    assert only(findings, "registry.sku") == []
    assert only(findings, "registry.private-endpoint") == []


def test_unknown_sku_without_endpoint():
    resources = healthy()
    del resources["registry"]["sku"]
    resources["registry"]["properties"]["privateEndpointConnections"] = []
    findings = findings_of(resources)
    reported = only(findings, "registry.sku")
    assert len(reported) == 1
    assert reported[0].severity is Severity.WARNING
    assert "SKU of registry testregistry is unknown" in reported[0].message
    assert "az acr show --name testregistry --query sku.name" in reported[0].message
    assert "would fail" not in reported[0].message
    assert "registry.private-endpoint" not in rule_ids(findings)


def test_sample_registry_is_standard_and_public():
    from tests.rules.builders import sample

    resources = healthy()
    registry = sample("acr_registry_get_2025-04-01.json")
    registry["id"] = REGISTRY_ID
    resources["registry"] = registry
    findings = findings_of(resources)
    assert len(only(findings, "registry.sku")) == 1
    assert len(only(findings, "registry.public-network-access")) == 1
    assert "registry.private-endpoint" not in rule_ids(findings)


def test_premium_registry_without_private_endpoint():
    resources = healthy()
    resources["registry"]["properties"]["privateEndpointConnections"] = []
    findings = only(findings_of(resources), "registry.private-endpoint")
    assert [f.resource_id for f in findings] == [REGISTRY_ID]
    assert findings[0].details["group_id"] == "registry"


def test_premium_registry_with_private_endpoint_is_compliant():
    findings = findings_of(healthy())
    assert only(findings, "registry.private-endpoint") == []
    assert only(findings, "registry.sku") == []


@pytest.mark.parametrize("status", ["enabled", "Enabled", "ENABLED"])
def test_quarantine_enabled(status):
    resources = healthy()
    resources["registry"]["properties"]["policies"]["quarantinePolicy"]["status"] = status
    findings = only(findings_of(resources), "registry.quarantine")
    assert len(findings) == 1
    assert findings[0].details["batch_endpoints"] == [ENDPOINT_ID]
    assert "only reports it" in findings[0].message


def test_quarantine_disabled():
    assert only(findings_of(healthy()), "registry.quarantine") == []


@pytest.mark.parametrize(
    ("public_access", "default_action", "expected"),
    [("Enabled", "Allow", 1), (None, None, 1), ("Disabled", "Allow", 0), ("Enabled", "Deny", 0)],
)
def test_registry_public_network_access(public_access, default_action, expected):
    resources = healthy()
    props = resources["registry"]["properties"]
    props.pop("publicNetworkAccess")
    props["networkRuleSet"].pop("defaultAction")
    if public_access is not None:
        props["publicNetworkAccess"] = public_access
    if default_action is not None:
        props["networkRuleSet"]["defaultAction"] = default_action
    assert len(only(findings_of(resources), "registry.public-network-access")) == expected


def test_workspace_without_registry_skips_registry_rules():
    resources = healthy()
    resources["workspace"]["properties"]["containerRegistry"] = None
    del resources["registry"]
    findings = findings_of(resources)
    assert not [r for r in rule_ids(findings) if r.startswith("registry.")]


# ---------------------------------------------------------------- key vault


def test_vault_deny_bypass_none_without_endpoint():
    resources = healthy()
    resources["vault"] = key_vault(with_endpoint=False)
    findings = only(findings_of(resources), "keyvault.private-endpoint")
    assert [f.resource_id for f in findings] == [VAULT_ID]
    assert "bypass AzureServices" in findings[0].message
    assert "never changes" in findings[0].message
    assert findings[0].details["network_acls_bypass"] == "None"


def test_vault_with_private_endpoint_is_compliant():
    assert only(findings_of(healthy()), "keyvault.private-endpoint") == []


def test_vault_endpoint_for_another_group_does_not_count():
    resources = healthy()
    link = resources["pe-vault#0"]["properties"]["privateLinkServiceConnections"][0]
    link["properties"]["groupIds"] = ["vaultsecondary"]
    assert len(only(findings_of(resources), "keyvault.private-endpoint")) == 1
