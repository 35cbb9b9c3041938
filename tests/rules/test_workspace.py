"""workspace.* rules."""

from __future__ import annotations

import pytest

from remediators.rules import RuleOptions
from tests.rules.builders import (
    WORKSPACE_ID,
    compute,
    connection_on,
    findings_of,
    healthy,
    only,
)


def _private_registry(image_build_compute) -> dict:
    resources = healthy()
    resources["workspace"]["properties"]["imageBuildCompute"] = image_build_compute
    return resources


@pytest.mark.parametrize("value", [None, ""])
def test_private_registry_without_image_build_compute(value):
    findings = only(findings_of(_private_registry(value)), "workspace.image-build-compute")
    assert len(findings) == 1
    assert "serverless compute (the default)" in findings[0].message
    assert "image builds will fail" in findings[0].message
    assert findings[0].resource_id == WORKSPACE_ID


def test_null_and_empty_give_the_same_finding():
    null = only(findings_of(_private_registry(None)), "workspace.image-build-compute")[0]
    empty = only(findings_of(_private_registry("")), "workspace.image-build-compute")[0]
    assert null.message == empty.message


def test_registry_deny_rule_set_counts_as_private():
    resources = _private_registry(None)
    resources["registry"]["properties"]["publicNetworkAccess"] = "Enabled"
    assert len(only(findings_of(resources), "workspace.image-build-compute")) == 1


def test_public_registry_needs_no_image_build_compute():
    resources = _private_registry(None)
    props = resources["registry"]["properties"]
    props["publicNetworkAccess"] = "Enabled"
    props["networkRuleSet"]["defaultAction"] = "Allow"
    assert only(findings_of(resources), "workspace.image-build-compute") == []


def test_image_build_compute_that_does_not_exist():
    findings = only(findings_of(_private_registry("gone")), "workspace.image-build-compute")
    assert "does not exist" in findings[0].message


def test_image_build_compute_that_is_not_aml_compute():
    resources = _private_registry("notebook")
    instance = compute("notebook")
    instance["properties"]["computeType"] = "ComputeInstance"
    resources["instance"] = instance
    findings = only(findings_of(resources), "workspace.image-build-compute")
    assert "not an AmlCompute cluster" in findings[0].message


def test_image_build_compute_without_subnet():
    resources = _private_registry("cpu-cluster")
    del resources["compute"]["properties"]["properties"]["subnet"]
    findings = only(findings_of(resources), "workspace.image-build-compute")
    assert "not in a virtual network" in findings[0].message


def test_image_build_cluster_in_virtual_network_is_compliant():
    assert (
        only(findings_of(_private_registry("CPU-Cluster")), "workspace.image-build-compute") == []
    )


def _serverless_subnet(resources: dict) -> dict:
    resources["workspace"]["properties"]["serverlessComputeSettings"] = {
        "serverlessComputeCustomSubnet": resources["compute-subnet"]["id"],
        "serverlessComputeNoPublicIP": True,
    }
    return resources


def test_serverless_in_customer_subnet_is_accepted():
    resources = _serverless_subnet(_private_registry(None))
    assert only(findings_of(resources), "workspace.image-build-compute") == []


def test_serverless_subnet_rejected_when_option_is_off():
    resources = _serverless_subnet(_private_registry(None))
    options = RuleOptions(accept_serverless_subnet=False)
    assert len(only(findings_of(resources, options), "workspace.image-build-compute")) == 1


# ---------------------------------------------------------------- private link


def test_workspace_without_connections():
    resources = healthy()
    resources["workspace"]["properties"]["privateEndpointConnections"] = []
    assert len(only(findings_of(resources), "workspace.private-link")) == 1


def test_workspace_with_only_pending_connection():
    resources = healthy()
    resources["workspace"]["properties"]["privateEndpointConnections"] = [
        connection_on(WORKSPACE_ID, "pe-workspace", status="Pending")
    ]
    findings = only(findings_of(resources), "workspace.private-link")
    assert findings[0].details["connection_statuses"] == ["Pending"]


def test_approved_connection_is_private():
    assert only(findings_of(healthy()), "workspace.private-link") == []


def test_connection_stored_as_child_resource_counts():
    resources = healthy()
    connection = resources["workspace"]["properties"].pop("privateEndpointConnections")[0]
    resources["workspace-connection"] = connection
    assert only(findings_of(resources), "workspace.private-link") == []


# ---------------------------------------------------------------- public network access


@pytest.mark.parametrize(
    ("value", "behind_vnet", "expected"),
    [
        ("Enabled", False, 1),
        ("enabled", None, 1),
        (None, True, 1),
        (None, 1, 1),
        (None, "true", 1),
        (None, False, 0),
        (None, 0, 0),
        (None, None, 0),
        ("Disabled", True, 0),
    ],
)
def test_public_network_access(value, behind_vnet, expected):
    resources = healthy()
    props = resources["workspace"]["properties"]
    props.pop("publicNetworkAccess")
    props.pop("allowPublicAccessWhenBehindVnet")
    if value is not None:
        props["publicNetworkAccess"] = value
    if behind_vnet is not None:
        props["allowPublicAccessWhenBehindVnet"] = behind_vnet
    assert len(only(findings_of(resources), "workspace.public-network-access")) == expected


def test_public_access_without_private_endpoint():
    resources = healthy()
    props = resources["workspace"]["properties"]
    props["publicNetworkAccess"] = "Enabled"
    props["privateEndpointConnections"] = []
    assert only(findings_of(resources), "workspace.public-network-access") == []


# ---------------------------------------------------------------- customer-managed key


def test_sample_customer_managed_key_is_reported():
    resources = healthy()
    # The real workspace sample has encryption.status Enabled with a key vault key.
    from tests.rules.builders import sample

    encryption = sample("ml_workspace_get_2025-09-01.json")["properties"]["encryption"]
    resources["workspace"]["properties"]["encryption"] = encryption
    findings = only(findings_of(resources), "workspace.customer-managed-key")
    assert len(findings) == 1
    assert "not supported" in findings[0].message


@pytest.mark.parametrize("status", ["Disabled", None])
def test_without_customer_managed_key(status):
    resources = healthy()
    if status is not None:
        resources["workspace"]["properties"]["encryption"] = {"status": status}
    assert only(findings_of(resources), "workspace.customer-managed-key") == []
