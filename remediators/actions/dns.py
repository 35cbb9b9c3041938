"""Private DNS zone groups: which zones a private endpoint needs, and repairing its group.

A private endpoint resolves through the private DNS zones linked in its zone group. The repair
adds the missing zone configs to the endpoint's existing zone group (one PUT with every
config, old and new), or creates a group when there is none. It never creates a second group,
because ARM allows one zone group per private endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from remediators.estate.models import as_dict, as_list, as_text, last_segment, norm_id

logger = logging.getLogger(__name__)

DEFAULT_ZONE_GROUP_NAME = "default"

# Private DNS zones per private link group id and Azure cloud.
_PUBLIC = {
    "blob": ("privatelink.blob.core.windows.net",),
    "file": ("privatelink.file.core.windows.net",),
    "queue": ("privatelink.queue.core.windows.net",),
    "table": ("privatelink.table.core.windows.net",),
    "dfs": ("privatelink.dfs.core.windows.net",),
    "registry": ("privatelink.azurecr.io",),
    "vault": ("privatelink.vaultcore.azure.net",),
    "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
}
_US_GOVERNMENT = {
    "blob": ("privatelink.blob.core.usgovcloudapi.net",),
    "file": ("privatelink.file.core.usgovcloudapi.net",),
    "queue": ("privatelink.queue.core.usgovcloudapi.net",),
    "table": ("privatelink.table.core.usgovcloudapi.net",),
    "dfs": ("privatelink.dfs.core.usgovcloudapi.net",),
    "registry": ("privatelink.azurecr.us",),
    "vault": ("privatelink.vaultcore.usgovcloudapi.net",),
    "amlworkspace": ("privatelink.api.ml.azure.us", "privatelink.notebooks.usgovcloudapi.net"),
}
_CHINA = {
    "blob": ("privatelink.blob.core.chinacloudapi.cn",),
    "file": ("privatelink.file.core.chinacloudapi.cn",),
    "queue": ("privatelink.queue.core.chinacloudapi.cn",),
    "table": ("privatelink.table.core.chinacloudapi.cn",),
    "dfs": ("privatelink.dfs.core.chinacloudapi.cn",),
    "registry": ("privatelink.azurecr.cn",),
    "vault": ("privatelink.vaultcore.azure.cn",),
    "amlworkspace": ("privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn"),
}
ZONES_BY_CLOUD: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "azurecloud": _PUBLIC,
    "azureusgovernment": _US_GOVERNMENT,
    "azurechinacloud": _CHINA,
}


def required_zones(group_id: str, cloud: str = "AzureCloud") -> tuple[str, ...]:
    """Return the private DNS zone names a private endpoint of `group_id` needs in `cloud`."""
    zones = ZONES_BY_CLOUD.get(cloud.lower())
    if zones is None:
        raise ValueError(
            f"unknown Azure cloud {cloud!r}; use one of AzureCloud, AzureUSGovernment, "
            "AzureChinaCloud"
        )
    try:
        return zones[group_id.lower()]
    except KeyError:
        raise ValueError(
            f"no private DNS zone is known for group id {group_id!r}; known: {', '.join(zones)}"
        ) from None


def zone_config_name(zone_name: str) -> str:
    """Name a zone config as the portal does: the zone name with dots as hyphens."""
    return zone_name.replace(".", "-")


@dataclass(frozen=True)
class ZoneGroupState:
    """A private endpoint's zone group as ARM returns it: name and zone ids by config name."""

    name: str
    configs: dict[str, str] = field(default_factory=dict)

    @property
    def zone_names(self) -> set[str]:
        return {last_segment(zone_id).lower() for zone_id in self.configs.values()}

    @classmethod
    def from_arm(cls, payload: Mapping[str, Any]) -> ZoneGroupState:
        props = as_dict(payload.get("properties"))
        configs: dict[str, str] = {}
        for config in as_list(props.get("privateDnsZoneConfigs")):
            config = as_dict(config)
            zone_id = as_text(as_dict(config.get("properties")).get("privateDnsZoneId"))
            if zone_id:
                configs[as_text(config.get("name")) or zone_config_name(last_segment(zone_id))] = (
                    zone_id
                )
        return cls(name=as_text(payload.get("name")) or DEFAULT_ZONE_GROUP_NAME, configs=configs)


def zone_group_body(configs: Mapping[str, str]) -> dict[str, Any]:
    """Build the PUT body of a zone group from zone ids keyed by config name."""
    return {
        "properties": {
            "privateDnsZoneConfigs": [
                {"name": name, "properties": {"privateDnsZoneId": zone_id}}
                for name, zone_id in configs.items()
            ]
        }
    }


def merged_configs(existing: ZoneGroupState | None, zone_ids: Iterable[str]) -> dict[str, str]:
    """Return the existing configs plus a config for each zone id the group lacks."""
    configs = dict(existing.configs) if existing else {}
    present = {norm_id(zone_id) for zone_id in configs.values()}
    for zone_id in zone_ids:
        if norm_id(zone_id) in present:
            continue
        name = zone_config_name(last_segment(zone_id))
        while name in configs:
            name = f"{name}-1"
        configs[name] = zone_id
        present.add(norm_id(zone_id))
    return configs


def missing_zone_names(existing: ZoneGroupState | None, required: Sequence[str]) -> list[str]:
    have = existing.zone_names if existing else set()
    return [zone for zone in required if zone.lower() not in have]
