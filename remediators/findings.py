"""Findings, their severities and actions, and the catalogue of rule ids.

Rule ids and the JSON form of a finding are a public contract: other tools parse the
`remediate` CLI output and the HTTP API. Add rules, never rename one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.Enum):
    """Impact of a finding on batch endpoints, ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Action(enum.Enum):
    """Remediate-mode response to a finding. In alert mode every finding only alerts."""

    NONE = "none"
    ALERT = "alert"
    CREATE_PRIVATE_ENDPOINT = "create-private-endpoint"
    CREATE_MANAGED_OUTBOUND_RULE = "create-managed-outbound-rule"
    REPAIR_DNS_ZONE_GROUP = "repair-dns-zone-group"
    QUEUE_RECREATION = "queue-recreation"
    LINT_ERROR = "lint-error"


@dataclass(frozen=True)
class Rule:
    """Catalogue entry of one rule: its id, what it judges and what remediate mode does."""

    id: str
    resource: str
    severity: Severity
    action: Action
    summary: str
    docs: str


@dataclass(frozen=True)
class Finding:
    """One broken requirement on one resource, in the contract's JSON shape."""

    rule: str
    severity: Severity
    resource_id: str
    workspace_id: str
    message: str
    action: Action
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identify the finding across evaluations: same rule, resource and subject."""
        subject = self.details.get("group_id") or self.details.get("subject") or ""
        return f"{self.rule}|{self.resource_id.lower()}|{str(subject).lower()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "resource_id": self.resource_id,
            "workspace_id": self.workspace_id,
            "message": self.message,
            "action": self.action.value,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule=data["rule"],
            severity=Severity(data["severity"]),
            resource_id=data["resource_id"],
            workspace_id=data["workspace_id"],
            message=data["message"],
            action=Action(data["action"]),
            details=dict(data.get("details") or {}),
        )


_DOCS = "https://learn.microsoft.com/azure/machine-learning"
BATCH_ISOLATION_DOCS = f"{_DOCS}/how-to-secure-batch-endpoint"

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in [
        Rule(
            "workspace.private-link",
            "workspace",
            Severity.ERROR,
            Action.ALERT,
            "The workspace has no Approved private endpoint connection.",
            f"{_DOCS}/how-to-configure-private-link",
        ),
        Rule(
            "workspace.public-network-access",
            "workspace",
            Severity.WARNING,
            Action.ALERT,
            "The workspace has a private endpoint but is still reachable publicly.",
            f"{_DOCS}/how-to-configure-private-link",
        ),
        Rule(
            "workspace.image-build-compute",
            "workspace",
            Severity.ERROR,
            Action.ALERT,
            "The registry is private and the workspace has no valid image build compute.",
            f"{_DOCS}/how-to-secure-workspace-vnet#enable-azure-container-registry-acr",
        ),
        Rule(
            "workspace.customer-managed-key",
            "workspace",
            Severity.ERROR,
            Action.ALERT,
            "Batch deployments are not supported in workspaces with customer-managed keys.",
            BATCH_ISOLATION_DOCS,
        ),
        Rule(
            "registry.sku",
            "container registry",
            Severity.ERROR,
            Action.ALERT,
            "The registry is not Premium, so it cannot have private endpoints.",
            f"{_DOCS}/how-to-secure-workspace-vnet#prerequisites",
        ),
        Rule(
            "registry.private-endpoint",
            "container registry",
            Severity.ERROR,
            Action.CREATE_PRIVATE_ENDPOINT,
            "The Premium registry has no Approved private endpoint for group 'registry'.",
            f"{_DOCS}/how-to-secure-workspace-vnet#enable-azure-container-registry-acr",
        ),
        Rule(
            "registry.public-network-access",
            "container registry",
            Severity.WARNING,
            Action.ALERT,
            "The registry allows public network access from any network.",
            f"{_DOCS}/how-to-secure-workspace-vnet#enable-azure-container-registry-acr",
        ),
        Rule(
            "registry.quarantine",
            "container registry",
            Severity.ERROR,
            Action.ALERT,
            "Quarantine is enabled on the registry, which batch endpoints do not support.",
            BATCH_ISOLATION_DOCS,
        ),
        Rule(
            "storage.private-endpoint",
            "storage account",
            Severity.ERROR,
            Action.CREATE_PRIVATE_ENDPOINT,
            "The storage account lacks an Approved private endpoint for blob, file, queue "
            "or table.",
            f"{_DOCS}/how-to-secure-workspace-vnet#secure-azure-storage-accounts",
        ),
        Rule(
            "storage.public-network-access",
            "storage account",
            Severity.WARNING,
            Action.ALERT,
            "The storage account allows public network access from any network.",
            f"{_DOCS}/how-to-secure-workspace-vnet#secure-azure-storage-accounts",
        ),
        Rule(
            "keyvault.private-endpoint",
            "key vault",
            Severity.ERROR,
            Action.CREATE_PRIVATE_ENDPOINT,
            "The key vault has no Approved private endpoint for group 'vault'.",
            f"{_DOCS}/how-to-secure-workspace-vnet#secure-azure-key-vault",
        ),
        Rule(
            "private-endpoint.connection-state",
            "private endpoint connection",
            Severity.ERROR,
            Action.ALERT,
            "A private endpoint connection is Pending, Rejected or Disconnected.",
            "https://learn.microsoft.com/azure/private-link/manage-private-endpoint",
        ),
        Rule(
            "private-endpoint.dns",
            "private endpoint",
            Severity.WARNING,
            Action.REPAIR_DNS_ZONE_GROUP,
            "A private endpoint has no DNS zone group, or its zone group lacks a required zone.",
            "https://learn.microsoft.com/azure/private-link/private-endpoint-dns",
        ),
        Rule(
            "compute.virtual-network",
            "compute cluster",
            Severity.ERROR,
            Action.ALERT,
            "A cluster used by a batch deployment is not in a virtual network.",
            f"{_DOCS}/how-to-secure-training-vnet",
        ),
        Rule(
            "compute.inbound-rules",
            "compute cluster",
            Severity.ERROR,
            Action.ALERT,
            "The cluster subnet's NSG does not admit TCP 29876-29877 from BatchNodeManagement.",
            f"{_DOCS}/how-to-secure-training-vnet#compute-instancecluster-with-public-ip",
        ),
        Rule(
            "compute.outbound-path",
            "compute cluster",
            Severity.WARNING,
            Action.ALERT,
            "A cluster without public IP has no NAT gateway and no default route to an appliance.",
            f"{_DOCS}/how-to-secure-training-vnet#compute-instancecluster-with-no-public-ip",
        ),
        Rule(
            "compute.firewall-routes",
            "compute cluster",
            Severity.ERROR,
            Action.ALERT,
            "A public-IP cluster routes 0.0.0.0/0 to an appliance without Internet routes "
            "for BatchNodeManagement and AzureMachineLearning.",
            f"{_DOCS}/how-to-access-azureml-behind-firewall",
        ),
        Rule(
            "compute.outbound-rules",
            "compute cluster",
            Severity.WARNING,
            Action.ALERT,
            "The cluster subnet's NSG blocks outbound traffic to a required service tag.",
            f"{_DOCS}/how-to-access-azureml-behind-firewall",
        ),
        Rule(
            "endpoint.stale-network",
            "batch endpoint",
            Severity.ERROR,
            Action.QUEUE_RECREATION,
            "The batch endpoint was created before the workspace became private.",
            BATCH_ISOLATION_DOCS,
        ),
        Rule(
            "endpoint.network-age-unknown",
            "batch endpoint",
            Severity.WARNING,
            Action.ALERT,
            "It is unknown whether the batch endpoint predates the workspace becoming private.",
            BATCH_ISOLATION_DOCS,
        ),
        Rule(
            "endpoint.spec.network-keys",
            "batch endpoint",
            Severity.ERROR,
            Action.LINT_ERROR,
            "A batch endpoint spec sets public_network_access or egress_public_network_access.",
            BATCH_ISOLATION_DOCS,
        ),
        Rule(
            "endpoint.studio-invoke",
            "batch endpoint",
            Severity.INFO,
            Action.NONE,
            "Invoke batch endpoints of a private-link workspace with the CLI or SDK.",
            BATCH_ISOLATION_DOCS,
        ),
    ]
}


def rule(rule_id: str) -> Rule:
    """Return the catalogue entry of `rule_id`, or raise KeyError listing the known ids."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule id {rule_id!r}; known ids: {', '.join(RULES)}") from None


def make_finding(
    rule_id: str,
    resource_id: str,
    workspace_id: str,
    message: str,
    *,
    severity: Severity | None = None,
    action: Action | None = None,
    **details: Any,
) -> Finding:
    """Build a finding with the catalogue's severity and action unless overridden."""
    entry = rule(rule_id)
    return Finding(
        rule=rule_id,
        severity=severity or entry.severity,
        resource_id=resource_id,
        workspace_id=workspace_id,
        message=message,
        action=action or entry.action,
        details={"docs": entry.docs, **details},
    )
