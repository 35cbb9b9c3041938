"""Service tags and ports that compute cluster subnets must reach, as versioned data.

Microsoft changes these lists without notice, so each list carries the date it was taken and
the page it was taken from. Add a new dated list instead of editing an old one, and point
`CURRENT_OUTBOUND` at it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequiredTag:
    """A service tag that traffic must reach on `ports` over `protocol`."""

    tag: str
    ports: tuple[int, int]
    protocol: str = "tcp"

    @property
    def label(self) -> str:
        low, high = self.ports
        port_text = str(low) if low == high else f"{low}-{high}"
        return f"{self.tag}:{port_text}"


@dataclass(frozen=True)
class OutboundRequirements:
    version: str
    source: str
    tags: tuple[RequiredTag, ...]


_HTTPS = (443, 443)

OUTBOUND_2026_01 = OutboundRequirements(
    version="2026-01",
    source=(
        "https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall"
    ),
    tags=(
        RequiredTag("AzureMachineLearning", _HTTPS),
        RequiredTag("BatchNodeManagement", _HTTPS),
        RequiredTag("Storage", _HTTPS),
        RequiredTag("AzureResourceManager", _HTTPS),
        RequiredTag("AzureActiveDirectory", _HTTPS),
        RequiredTag("MicrosoftContainerRegistry", _HTTPS),
        RequiredTag("AzureFrontDoor.FirstParty", _HTTPS),
        RequiredTag("AzureMonitor", _HTTPS),
    ),
)

CURRENT_OUTBOUND = OUTBOUND_2026_01

# Inbound traffic that clusters with public IPs must admit: Azure Batch node management.
# TCP 44224 from AzureMachineLearning is needed by compute instances only, which batch
# deployments do not use.
INBOUND_BATCH_NODE_MANAGEMENT = RequiredTag("BatchNodeManagement", (29876, 29877))

# Route-table entries a public-IP cluster needs when 0.0.0.0/0 goes to a virtual appliance.
FIREWALL_INTERNET_ROUTE_TAGS = ("BatchNodeManagement", "AzureMachineLearning")
