"""Private DNS zone names that each private endpoint group needs, per Azure cloud.

This table is the one place zone names live: checks and the DNS zone group repair both read it.
"""

from __future__ import annotations

AZURE_CLOUD = "AzureCloud"
AZURE_US_GOVERNMENT = "AzureUSGovernment"
AZURE_CHINA_CLOUD = "AzureChinaCloud"

# Storage groups whose zone follows privatelink.<group>.<storage suffix>.
STORAGE_GROUPS = ("blob", "file", "queue", "table", "dfs", "web")

_CLOUD_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    AZURE_CLOUD: {
        "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
        "registry": ("privatelink.azurecr.io",),
        "vault": ("privatelink.vaultcore.azure.net",),
        **{g: (f"privatelink.{g}.core.windows.net",) for g in STORAGE_GROUPS},
    },
    AZURE_US_GOVERNMENT: {
        "amlworkspace": (
            "privatelink.api.ml.azure.us",
            "privatelink.notebooks.usgovcloudapi.net",
        ),
        "registry": ("privatelink.azurecr.us",),
        "vault": ("privatelink.vaultcore.usgovcloudapi.net",),
        **{g: (f"privatelink.{g}.core.usgovcloudapi.net",) for g in STORAGE_GROUPS},
    },
    AZURE_CHINA_CLOUD: {
        "amlworkspace": (
            "privatelink.api.ml.azure.cn",
            "privatelink.notebooks.chinacloudapi.cn",
        ),
        "registry": ("privatelink.azurecr.cn",),
        "vault": ("privatelink.vaultcore.azure.cn",),
        **{g: (f"privatelink.{g}.core.chinacloudapi.cn",) for g in STORAGE_GROUPS},
    },
}

CLOUDS = tuple(_CLOUD_ZONES)


def required_zones(group_id: str, cloud: str = AZURE_CLOUD) -> tuple[str, ...]:
    """Return the zone names a private endpoint for `group_id` needs in `cloud`.

    For a group without a known zone it returns an empty tuple.
    ValueError names an unknown cloud.
    """
    zones = _cloud_table(cloud)
    return zones.get(group_id.lower(), ())


def _cloud_table(cloud: str) -> dict[str, tuple[str, ...]]:
    for name, table in _CLOUD_ZONES.items():
        if name.lower() == cloud.lower():
            return table
    raise ValueError(f"unknown Azure cloud {cloud!r}; use one of {', '.join(CLOUDS)}")
