"""compute.* rules on the clusters that batch deployments use."""

from __future__ import annotations

import pytest

from tests.rules.builders import (
    CLUSTER_NAME,
    COMPUTE_ID,
    COMPUTE_SUBNET_ID,
    NSG_ID,
    ROUTE_TABLE_ID,
    batch_deployment,
    compute,
    context_of,
    findings_of,
    healthy,
    nsg,
    only,
    route_table,
    rule_ids,
    security_rule,
)

COMPUTE_RULES = (
    "compute.virtual-network",
    "compute.inbound-rules",
    "compute.outbound-path",
    "compute.firewall-routes",
    "compute.outbound-rules",
)


def _compute_findings(resources: dict) -> list:
    return [f for f in findings_of(resources) if f.rule in COMPUTE_RULES]


def _deny_all_outbound_except(*allowed: str) -> dict:
    rules = [
        security_rule(f"Allow{i}", 100 + i, "Outbound", "Allow", destination=tag, ports="443")
        for i, tag in enumerate(allowed)
    ]
    rules.append(security_rule("DenyAllOutbound", 4096, "Outbound", "Deny", protocol="*"))
    return nsg(rules)


def _subnet_props(resources: dict) -> dict:
    return resources["compute-subnet"]["properties"]


# ---------------------------------------------------------------- outbound rules


def test_outbound_deny_names_missing_tags():
    resources = healthy()
    resources["nsg"] = _deny_all_outbound_except("AzureMachineLearning", "Storage.westeurope")
    findings = only(findings_of(resources), "compute.outbound-rules")
    assert len(findings) == 1
    blocked = findings[0].details["blocked"]
    assert blocked == [
        "BatchNodeManagement:443",
        "AzureResourceManager:443",
        "AzureActiveDirectory:443",
        "MicrosoftContainerRegistry:443",
        "AzureFrontDoor.FirstParty:443",
        "AzureMonitor:443",
    ]
    assert "BatchNodeManagement:443" in findings[0].message
    assert findings[0].details["tag_list_version"]


def test_all_required_tags_allowed_is_compliant():
    resources = healthy()
    resources["nsg"] = _deny_all_outbound_except(
        "AzureMachineLearning",
        "BatchNodeManagement.westeurope",
        "Storage",
        "AzureResourceManager",
        "AzureActiveDirectory",
        "MicrosoftContainerRegistry.westeurope",
        "AzureFrontDoor.FirstParty",
        "AzureMonitor",
    )
    assert only(findings_of(resources), "compute.outbound-rules") == []


def test_no_egress_no_frontdoor_two_findings():
    resources = healthy()
    del _subnet_props(resources)["natGateway"]
    resources["nsg"] = _deny_all_outbound_except(
        "AzureMachineLearning",
        "BatchNodeManagement",
        "Storage",
        "AzureResourceManager",
        "AzureActiveDirectory",
        "MicrosoftContainerRegistry",
        "AzureMonitor",
    )
    findings = _compute_findings(resources)
    assert rule_ids(findings) == ["compute.outbound-path", "compute.outbound-rules"]
    assert findings[1].details["blocked"] == ["AzureFrontDoor.FirstParty:443"]


# ---------------------------------------------------------------- outbound path


def test_nat_gateway_gives_egress():
    assert only(findings_of(healthy()), "compute.outbound-path") == []


def test_default_route_to_appliance_gives_egress():
    resources = healthy()
    del _subnet_props(resources)["natGateway"]
    _subnet_props(resources)["routeTable"] = {"id": ROUTE_TABLE_ID}
    resources["routes"] = route_table([("0.0.0.0/0", "VirtualAppliance")])
    assert only(findings_of(resources), "compute.outbound-path") == []


def test_default_route_to_internet_gives_no_egress():
    resources = healthy()
    del _subnet_props(resources)["natGateway"]
    _subnet_props(resources)["routeTable"] = {"id": ROUTE_TABLE_ID}
    resources["routes"] = route_table([("0.0.0.0/0", "Internet")])
    assert len(only(findings_of(resources), "compute.outbound-path")) == 1


def test_public_ip_cluster_needs_no_egress_path():
    resources = healthy()
    del _subnet_props(resources)["natGateway"]
    resources["compute"] = compute(public_ip=True)
    assert only(findings_of(resources), "compute.outbound-path") == []


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (1, 0), ("false", 1), ("True", 0)])
def test_resource_notification_booleans(value, expected):
    resources = healthy()
    del _subnet_props(resources)["natGateway"]
    resources["compute"] = compute(public_ip=value)
    assert len(only(findings_of(resources), "compute.outbound-path")) == expected


# ---------------------------------------------------------------- inbound rules


def _public_cluster(*rules: dict) -> dict:
    resources = healthy()
    resources["compute"] = compute(public_ip=True)
    resources["nsg"] = nsg(list(rules))
    return resources


def test_default_rules_block_batch_node_management():
    findings = only(findings_of(_public_cluster()), "compute.inbound-rules")
    assert len(findings) == 1
    assert findings[0].details["ports_not_admitted"] == "29876-29877"
    assert findings[0].details["nsg_id"] == NSG_ID


def test_allow_batch_node_management_is_compliant():
    rule = security_rule(
        "Bnm", 100, "Inbound", "Allow", source="BatchNodeManagement", ports="29876-29877"
    )
    assert only(findings_of(_public_cluster(rule)), "compute.inbound-rules") == []


def test_allow_one_port_reports_the_other():
    rule = security_rule(
        "Bnm", 100, "Inbound", "Allow", source="BatchNodeManagement", ports="29876"
    )
    findings = only(findings_of(_public_cluster(rule)), "compute.inbound-rules")
    assert findings[0].details["ports_not_admitted"] == "29877"


def test_earlier_deny_beats_allow():
    deny = security_rule("DenyInternet", 100, "Inbound", "Deny", source="Internet", protocol="*")
    allow = security_rule(
        "Bnm", 200, "Inbound", "Allow", source="BatchNodeManagement", ports="29876-29877"
    )
    findings = only(findings_of(_public_cluster(deny, allow)), "compute.inbound-rules")
    assert findings[0].details["deciding_rules"] == {
        "29876": "DenyInternet",
        "29877": "DenyInternet",
    }


def test_subnet_without_nsg_admits_everything():
    resources = _public_cluster()
    del _subnet_props(resources)["networkSecurityGroup"]
    assert only(findings_of(resources), "compute.inbound-rules") == []


def test_no_public_ip_needs_no_inbound_rule():
    resources = healthy()
    resources["nsg"] = nsg([])
    assert only(findings_of(resources), "compute.inbound-rules") == []


# ---------------------------------------------------------------- firewall routes


def _firewalled(*routes: tuple[str, str]) -> dict:
    resources = healthy()
    resources["compute"] = compute(public_ip=True)
    resources["nsg"] = nsg(
        [security_rule("Bnm", 100, "Inbound", "Allow", source="BatchNodeManagement")]
    )
    _subnet_props(resources)["routeTable"] = {"id": ROUTE_TABLE_ID}
    resources["routes"] = route_table([("0.0.0.0/0", "VirtualAppliance"), *routes])
    return resources


def test_appliance_route_without_tag_routes():
    findings = only(findings_of(_firewalled()), "compute.firewall-routes")
    assert findings[0].details["missing_routes"] == ["BatchNodeManagement", "AzureMachineLearning"]


def test_regional_tag_routes_are_compliant():
    resources = _firewalled(
        ("BatchNodeManagement.westeurope", "Internet"), ("AzureMachineLearning", "Internet")
    )
    assert only(findings_of(resources), "compute.firewall-routes") == []


def test_tag_route_to_appliance_does_not_count():
    resources = _firewalled(
        ("BatchNodeManagement", "VirtualAppliance"), ("AzureMachineLearning", "Internet")
    )
    findings = only(findings_of(resources), "compute.firewall-routes")
    assert findings[0].details["missing_routes"] == ["BatchNodeManagement"]


def test_other_region_route_does_not_count():
    resources = _firewalled(
        ("BatchNodeManagement.eastus", "Internet"), ("AzureMachineLearning", "Internet")
    )
    findings = only(findings_of(resources), "compute.firewall-routes")
    assert findings[0].details["missing_routes"] == ["BatchNodeManagement"]


def test_no_appliance_route_needs_no_tag_routes():
    resources = _firewalled()
    resources["routes"] = route_table([("10.0.3.0/24", "VirtualNetworkGateway")])
    assert only(findings_of(resources), "compute.firewall-routes") == []


# ---------------------------------------------------------------- virtual network


def test_cluster_without_subnet():
    resources = healthy()
    del resources["compute"]["properties"]["properties"]["subnet"]
    findings = only(findings_of(resources), "compute.virtual-network")
    assert [f.resource_id for f in findings] == [COMPUTE_ID]
    assert findings[0].details["batch_endpoints"] == [resources["endpoint"]["id"]]


def test_cluster_without_subnet_in_managed_network():
    resources = healthy()
    del resources["compute"]["properties"]["properties"]["subnet"]
    resources["workspace"]["properties"]["managedNetwork"] = {
        "isolationMode": "AllowInternetOutbound"
    }
    assert only(findings_of(resources), "compute.virtual-network") == []


def test_cluster_not_used_by_a_deployment_is_ignored():
    resources = healthy()
    del resources["compute"]["properties"]["properties"]["subnet"]
    resources["deployment"] = batch_deployment(compute_ref="azureml:other-cluster")
    assert _compute_findings(resources) == []


@pytest.mark.parametrize(
    "reference",
    [
        f"azureml:{CLUSTER_NAME}",
        CLUSTER_NAME,
        COMPUTE_ID,
        COMPUTE_ID.upper(),
        "azureml:CPU-Cluster",
    ],
)
def test_deployment_compute_reference_forms(reference):
    resources = healthy()
    del resources["compute"]["properties"]["properties"]["subnet"]
    resources["deployment"] = batch_deployment(compute_ref=reference)
    assert len(only(findings_of(resources), "compute.virtual-network")) == 1


def test_pipeline_deployment_default_compute():
    resources = healthy()
    del resources["compute"]["properties"]["properties"]["subnet"]
    props = resources["deployment"]["properties"]
    del props["compute"]
    props["settings"] = {"default_compute": CLUSTER_NAME}
    assert len(only(findings_of(resources), "compute.virtual-network")) == 1


def test_unknown_subnet_is_missing():
    resources = healthy()
    # The AmlCompute sample names its subnet "test-subnet-resource-id", which is no ARM id.
    resources["compute"]["properties"]["properties"]["subnet"] = {"id": "test-subnet-resource-id"}
    assert _compute_findings(resources) == []
    assert "test-subnet-resource-id" in context_of(resources).missing


def test_unread_nsg_is_listed_as_missing():
    resources = healthy()
    del resources["nsg"]
    context = context_of(resources)
    assert NSG_ID in context.missing
    assert COMPUTE_SUBNET_ID not in context.missing
