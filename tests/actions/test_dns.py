"""Private DNS zone names per group and cloud, and zone group merging."""

from __future__ import annotations

import pytest

from remediators.actions.dns import (
    ZoneGroupState,
    merged_configs,
    missing_zone_names,
    required_zones,
    zone_group_body,
)

ZONES = "/subscriptions/s/resourceGroups/dns/providers/Microsoft.Network/privateDnsZones"


def test_workspace_needs_api_and_notebooks_zones() -> None:
    assert required_zones("amlworkspace") == (
        "privatelink.api.azureml.ms",
        "privatelink.notebooks.azure.net",
    )


def test_storage_zone_per_group() -> None:
    assert required_zones("queue") == ("privatelink.queue.core.windows.net",)


def test_government_cloud_suffix() -> None:
    assert required_zones("vault", "AzureUSGovernment") == (
        "privatelink.vaultcore.usgovcloudapi.net",
    )


def test_china_cloud_suffix() -> None:
    assert required_zones("registry", "AzureChinaCloud") == ("privatelink.azurecr.cn",)


def test_unknown_cloud_rejected() -> None:
    with pytest.raises(ValueError, match="unknown Azure cloud"):
        required_zones("blob", "Moon")


def test_unknown_group_rejected() -> None:
    with pytest.raises(ValueError, match="no private DNS zone"):
        required_zones("sqlServer")


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
