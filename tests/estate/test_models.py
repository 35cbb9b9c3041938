"""Typed views over the real ARM payloads."""

from __future__ import annotations

from remediators.estate.models import (
    BatchDeployment,
    Compute,
    NetworkSecurityGroup,
    PrivateDnsZoneGroup,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Registry,
    StorageAccount,
    Subnet,
    Workspace,
    as_bool,
)
from tests.rules.builders import sample


def test_workspace_sample():
    workspace = Workspace.from_arm(sample("ml_workspace_get_2025-09-01.json"))
    assert workspace.public_network_access == "Disabled"
    assert workspace.allow_public_access_when_behind_vnet is False
    assert workspace.image_build_compute == "testcompute"
    assert workspace.encryption_status == "Enabled"
    assert workspace.private_endpoint_connections[0].status == "Approved"
    assert workspace.has_managed_network is False


def test_empty_image_build_compute_reads_as_unset():
    payload = sample("ml_workspace_get_2025-09-01.json")
    payload["properties"]["imageBuildCompute"] = ""
    assert Workspace.from_arm(payload).image_build_compute is None


def test_storage_sample_has_no_public_network_access():
    storage = StorageAccount.from_arm(sample("storage_account_getProperties_2025-06-01.json"))
    assert storage.public_network_access is None
    assert storage.network_acls_default_action == "Allow"
    assert storage.private_endpoint_connections == ()


def test_storage_connection_reads_action_required():
    payload = sample("storage_privateEndpointConnections_list_2025-06-01.json")["value"][0]
    connection = PrivateEndpointConnection.from_arm(payload)
    assert connection.actions_required == "None"
    assert connection.group_ids == ()
    assert connection.private_endpoint_id is not None


def test_registry_sample():
    registry = Registry.from_arm(sample("acr_registry_get_2025-04-01.json"))
    assert registry.sku == "Standard"
    assert registry.is_premium is False
    assert registry.quarantine_status == "disabled"


def test_compute_sample():
    cluster = Compute.from_arm(sample("ml_compute_get_AmlCompute_2024-10-01.json"))
    assert cluster.is_aml_compute
    assert cluster.subnet_id == "test-subnet-resource-id"
    assert cluster.enable_node_public_ip is True


def test_compute_without_public_ip_setting_defaults_to_public():
    payload = sample("ml_compute_get_AmlCompute_2024-10-01.json")
    del payload["properties"]["properties"]["enableNodePublicIp"]
    assert Compute.from_arm(payload).enable_node_public_ip is True


def test_private_endpoint_sample_targets_case_insensitively():
    endpoint = PrivateEndpoint.from_arm(sample("network_privateEndpoint_get_2025-07-01.json"))
    target = endpoint.connections[0].private_link_service_id or ""
    assert endpoint.targets(target.upper(), "GroupIdFromResource")
    assert not endpoint.targets(target, "blob")


def test_zone_group_sample_zone_names():
    group = PrivateDnsZoneGroup.from_arm(sample("network_privateDnsZoneGroup_get_2025-03-01.json"))
    assert group.zone_names == ("zone1.com", "zone2.com")


def test_nsg_sample_reads_custom_and_default_rules():
    rules = NetworkSecurityGroup.from_arm(sample("network_nsg_get_2025-07-01.json")).security_rules
    assert [r.name for r in rules if not r.is_default] == ["rule1"]
    assert len([r for r in rules if r.is_default]) == 6
    assert rules[0].destination_port_ranges == ("80",)
    assert rules[0].source_port_ranges == ("*",)


def test_subnet_sample_without_nsg_or_routes():
    subnet = Subnet.from_arm(sample("network_subnet_get_2025-03-01.json"))
    assert subnet.network_security_group_id is None
    assert subnet.route_table_id is None
    assert subnet.address_prefixes == ("10.0.0.0/16",)


def test_deployment_compute_name_forms():
    payload = sample("ml_batchDeployment_get_2025-09-01.json")
    for reference, name in [
        ("azureml:batch-cluster", "batch-cluster"),
        ("batch-cluster", "batch-cluster"),
        ("/subscriptions/s/resourceGroups/g/providers/X/workspaces/w/computes/c1", "c1"),
    ]:
        payload["properties"]["compute"] = reference
        assert BatchDeployment.from_arm(payload).compute_name == name


def test_booleans_from_resource_notifications():
    assert as_bool(1) is True
    assert as_bool(0) is False
    assert as_bool("True") is True
    assert as_bool(None) is None
    assert as_bool("maybe") is None


def test_norm_id_non_string_is_empty():
    from remediators.estate.models import norm_id

    assert norm_id({"id": "x"}) == ""  # type: ignore[arg-type]
    assert norm_id(None) == ""
