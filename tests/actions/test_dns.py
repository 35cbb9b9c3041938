"""DNS zone group repair: merging zone configs, and the repair against the fake ARM."""

from __future__ import annotations

from remediators.actions.dns import (
    ZoneGroupState,
    merged_configs,
    missing_zone_names,
    required_zones,
    zone_group_body,
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
