"""Alert content shared by Teams cards and email: what is wrong, why it matters, the fix.

Cards and email render the same `AlertContent`, so both channels carry the same content, and both
report a send as a `DeliveryResult`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from remediators.findings import RULES, Action, Finding, Severity


@dataclass(frozen=True)
class Guidance:
    """Why a rule matters for batch endpoints and how to fix a finding of it by hand."""

    why: str
    fix: str


# The fix is an az CLI command or a portal path. Placeholders in angle brackets are filled
# from the finding's resource id where `fill_placeholders` can, and left for the reader otherwise.
# NOTE: the commands were not run against Azure here; the registry quarantine `--set` path
# in particular is unverified.
GUIDANCE: dict[str, Guidance] = {
    "workspace.private-link": Guidance(
        why="Batch endpoints keep the network setting their workspace had when they were "
        "created, so endpoints created now are public too.",
        fix="az network private-endpoint create --resource-group <resource-group> "
        "--name <name>-pe --vnet-name <vnet> --subnet <subnet> "
        "--private-connection-resource-id <resource-id> --group-id amlworkspace "
        "--connection-name <name>-pe",
    ),
    "workspace.public-network-access": Guidance(
        why="Batch endpoints of the workspace stay reachable from the internet through the "
        "workspace, although it has a private endpoint.",
        fix="az ml workspace update --resource-group <resource-group> --name <name> "
        "--public-network-access Disabled",
    ),
    "workspace.image-build-compute": Guidance(
        why="Serverless compute builds images by default and cannot reach a private registry, "
        "so creating a batch deployment fails with ImageBuildComputeNotValid.",
        fix="az ml workspace update --resource-group <resource-group> --name <name> "
        "--image-build-compute <cluster-in-the-virtual-network>",
    ),
    "workspace.customer-managed-key": Guidance(
        why="Batch deployments are not supported in workspaces encrypted with "
        "customer-managed keys.",
        fix="Encryption cannot be changed after a workspace is created: host batch endpoints "
        "in a workspace without customer-managed keys.",
    ),
    "registry.sku": Guidance(
        why="Only Premium registries support private endpoints, so batch deployments cannot "
        "pull their images privately. The product never changes the SKU.",
        fix="az acr show --name <name> --query sku.name, and unless it is Premium: "
        "az acr update --name <name> --sku Premium",
    ),
    "registry.private-endpoint": Guidance(
        why="Batch deployment nodes pull their images from the registry and cannot reach it "
        "from the private network without an Approved private endpoint.",
        fix="az network private-endpoint create --resource-group <resource-group> "
        "--name <name>-registry-pe --vnet-name <vnet> --subnet <subnet> "
        "--private-connection-resource-id <resource-id> --group-id registry "
        "--connection-name <name>-registry-pe",
    ),
    "registry.public-network-access": Guidance(
        why="The registry that stores batch deployment images accepts traffic from any network.",
        fix="az acr update --name <name> --public-network-enabled false --default-action Deny",
    ),
    "registry.quarantine": Guidance(
        why="Batch endpoints do not support registries with quarantine enabled, so jobs and "
        "deployments time out waiting for the environment image. The product never disables "
        "quarantine because it is a security control.",
        fix="After your security team agrees: az acr update --name <name> "
        "--set policies.quarantinePolicy.status=disabled",
    ),
    "storage.private-endpoint": Guidance(
        why="Batch scoring jobs create a table and a queue in the workspace storage account "
        "and read inputs from blob and file, so they fail at start without all four private "
        "endpoints.",
        fix="az network private-endpoint create --resource-group <resource-group> "
        "--name <name>-<group>-pe --vnet-name <vnet> --subnet <subnet> "
        "--private-connection-resource-id <resource-id> --group-id <group> "
        "--connection-name <name>-<group>-pe",
    ),
    "storage.public-network-access": Guidance(
        why="The storage account that holds batch inputs, outputs and job state accepts "
        "traffic from any network.",
        fix="az storage account update --resource-group <resource-group> --name <name> "
        "--public-network-access Disabled",
    ),
    "keyvault.private-endpoint": Guidance(
        why="The workspace reads secrets for datastores and deployments from the key vault and "
        "gets forbidden errors when the vault firewall blocks it.",
        fix="az network private-endpoint create --resource-group <resource-group> "
        "--name <name>-vault-pe --vnet-name <vnet> --subnet <subnet> "
        "--private-connection-resource-id <resource-id> --group-id vault "
        "--connection-name <name>-vault-pe",
    ),
    "private-endpoint.connection-state": Guidance(
        why="Only an Approved connection carries traffic, so batch jobs cannot reach the "
        "resource through a Pending, Rejected or Disconnected one.",
        fix="The owner of the target resource approves it: az network "
        "private-endpoint-connection approve --id <connection-id> "
        '--description "Approved for batch endpoints"',
    ),
    "private-endpoint.dns": Guidance(
        why="Without the private DNS zone the service name resolves to its public address, "
        "so nodes in the virtual network cannot reach it privately.",
        fix="az network private-endpoint dns-zone-group add --resource-group <resource-group> "
        "--endpoint-name <name> --name default --private-dns-zone <zone-id> "
        "--zone-name <zone>",
    ),
    "compute.virtual-network": Guidance(
        why="A cluster outside the virtual network cannot reach the private workspace, "
        "storage, registry or key vault, so batch jobs on it fail.",
        fix="az ml compute create --resource-group <resource-group> --workspace-name "
        "<workspace> --name <cluster> --type AmlCompute --vnet-name <vnet> --subnet <subnet>, "
        "then point the batch deployment at the new cluster.",
    ),
    "compute.inbound-rules": Guidance(
        why="The Batch service manages cluster nodes over TCP 29876-29877 from "
        "BatchNodeManagement, and nodes it cannot reach never start batch jobs.",
        fix="az network nsg rule create --resource-group <resource-group> --nsg-name <nsg> "
        "--name AllowBatchNodeManagement --priority <priority> --direction Inbound "
        "--access Allow --protocol Tcp --source-address-prefixes BatchNodeManagement "
        "--destination-port-ranges 29876-29877",
    ),
    "compute.outbound-path": Guidance(
        why="Nodes without a public IP need a NAT gateway or a route to a firewall for "
        "outbound traffic, or batch jobs cannot start.",
        fix="az network vnet subnet update --resource-group <resource-group> --vnet-name "
        "<vnet> --name <subnet> --nat-gateway <nat-gateway>",
    ),
    "compute.firewall-routes": Guidance(
        why="Management traffic of public-IP nodes must return directly to the internet; "
        "sent through a firewall it is dropped and the nodes become unusable.",
        fix="az network route-table route create --resource-group <resource-group> "
        "--route-table-name <route-table> --name BatchNodeManagement "
        "--address-prefix BatchNodeManagement --next-hop-type Internet (and the same for "
        "AzureMachineLearning)",
    ),
    "compute.outbound-rules": Guidance(
        why="Batch jobs need outbound HTTPS to Azure Machine Learning, Batch, Storage, "
        "Microsoft Entra ID and the container registries; a blocked tag fails jobs or image "
        "pulls.",
        fix="az network nsg rule create --resource-group <resource-group> --nsg-name <nsg> "
        "--name Allow<tag>Outbound --priority <priority> --direction Outbound --access Allow "
        "--protocol Tcp --destination-address-prefixes <tag> --destination-port-ranges 443",
    ),
    "endpoint.stale-network": Guidance(
        why="The endpoint kept the public network setting the workspace had when the endpoint "
        "was created, and only recreating it applies the private setting.",
        fix="Recreate the endpoint with the same name: az ml batch-endpoint delete, then "
        "az ml batch-endpoint create --file <endpoint.yml> and recreate its deployments.",
    ),
    "endpoint.network-age-unknown": Guidance(
        why="If the endpoint predates the workspace becoming private it is still public; the "
        "product does not recreate endpoints on a guess.",
        fix="Compare the endpoint's creation time with when the workspace became private "
        "(workspace activity log), and recreate the endpoint if it is older.",
    ),
    "endpoint.spec.network-keys": Guidance(
        why="Batch endpoints do not support public_network_access or "
        "egress_public_network_access; those keys apply to online endpoints only.",
        fix="Remove public_network_access and egress_public_network_access from the batch "
        "endpoint YAML.",
    ),
    "endpoint.studio-invoke": Guidance(
        why="Studio cannot invoke batch endpoints of a private-link workspace.",
        fix="Invoke from inside the network: az ml batch-endpoint invoke --resource-group "
        "<resource-group> --workspace-name <workspace> --name <name> --input <data-uri>",
    ),
}

_FALLBACK_GUIDANCE = Guidance(
    why="The rule protects the network isolation that batch endpoints depend on.",
    fix="See the documentation link.",
)


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of sending one message on one channel.

    `error` names the failure (an HTTP status or an exception class) and never contains a
    secret such as the webhook URL.
    """

    channel: str
    delivered: bool
    status_code: int | None = None
    error: str | None = None


class AlertKind(enum.Enum):
    """Kind of alert message."""

    NEW = "new"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    RECREATION_APPROVAL = "recreation-approval"


@dataclass(frozen=True)
class ActionContext:
    """How the product is configured to act, which decides the 'what happens next' line.

    `rule_modes` overrides `mode` ("alert" or "remediate") per rule id.
    """

    mode: str = "alert"
    rule_modes: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    approval_required: bool = True

    def mode_for(self, rule_id: str) -> str:
        return self.rule_modes.get(rule_id, self.mode)


_REMEDIATION_TEXT = {
    Action.CREATE_PRIVATE_ENDPOINT: "will create the missing private endpoint and its DNS "
    "zone group",
    Action.CREATE_MANAGED_OUTBOUND_RULE: "will add the missing managed outbound rule",
    Action.REPAIR_DNS_ZONE_GROUP: "will add the missing zones to the DNS zone group",
    Action.QUEUE_RECREATION: "will queue a recreation of the endpoint",
}


def planned_action(finding: Finding, context: ActionContext) -> str:
    """Describe what the product did or will do about `finding`."""
    if finding.action is Action.LINT_ERROR:
        return "Rejected before any ARM call: fix the spec."
    if finding.action is Action.NONE:
        return "Guidance only: nothing to change."
    remediation = _REMEDIATION_TEXT.get(finding.action)
    if remediation is None or context.mode_for(finding.rule) != "remediate":
        return "Alert only: the product changes nothing."
    if context.dry_run:
        return f"Dry run: nothing was changed. Remediate mode {remediation}."
    if finding.action is Action.QUEUE_RECREATION:
        if context.approval_required:
            return "Recreation queued, awaiting approval."
        return "Recreation queued; it runs without approval."
    return f"The product {remediation}."


@dataclass(frozen=True)
class FindingView:
    """One finding as both channels show it."""

    key: str
    severity: Severity
    workspace_id: str
    resource_id: str
    rule: str
    what: str
    why: str
    fix: str
    docs: str
    action: str


@dataclass(frozen=True)
class AlertContent:
    """Channel-neutral content of one alert: a title, summary facts and the findings."""

    kind: AlertKind
    workspace_id: str
    title: str
    summary: str
    facts: tuple[tuple[str, str], ...]
    findings: tuple[FindingView, ...]


def arm_id_parts(resource_id: str) -> dict[str, str]:
    """Split an ARM id into lowercased segment names and their values, plus 'name'."""
    segments = [s for s in resource_id.split("/") if s]
    parts: dict[str, str] = {}
    for index in range(0, len(segments) - 1, 2):
        parts[segments[index].lower()] = segments[index + 1]
    if segments:
        parts["name"] = segments[-1]
    return parts


def fill_placeholders(template: str, finding: Finding) -> str:
    """Fill the placeholders of a fix that the finding's ids determine."""
    resource = arm_id_parts(finding.resource_id)
    workspace = arm_id_parts(finding.workspace_id)
    values = {
        "<resource-id>": finding.resource_id,
        "<resource-group>": resource.get("resourcegroups", "<resource-group>"),
        "<name>": resource.get("name", "<name>"),
        "<workspace>": workspace.get("name", "<workspace>"),
    }
    group = finding.details.get("group_id")
    if group:
        values["<group>"] = str(group)
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def severity_order(finding: Finding) -> tuple[int, str, str]:
    """Sort key: most severe first, then by rule and resource for a stable order."""
    return (-finding.severity.rank, finding.rule, finding.resource_id.lower())


def view_finding(finding: Finding, context: ActionContext) -> FindingView:
    guidance = GUIDANCE.get(finding.rule, _FALLBACK_GUIDANCE)
    catalogue = RULES.get(finding.rule)
    docs = str(finding.details.get("docs") or (catalogue.docs if catalogue else ""))
    return FindingView(
        key=finding.key,
        severity=finding.severity,
        workspace_id=finding.workspace_id,
        resource_id=finding.resource_id,
        rule=finding.rule,
        what=finding.message or (catalogue.summary if catalogue else finding.rule),
        why=guidance.why,
        fix=fill_placeholders(guidance.fix, finding),
        docs=docs,
        action=planned_action(finding, context),
    )


def utc_text(moment: datetime) -> str:
    """Format a time as ISO 8601 UTC to the second, such as 2026-03-01T09:30:00Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def workspace_name(workspace_id: str) -> str:
    return arm_id_parts(workspace_id).get("name", workspace_id)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _severity_summary(findings: Iterable[Finding]) -> str:
    counts = {severity: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity] += 1
    parts = [f"{counts[s]} {s.value}" for s in sorted(Severity, reverse=True) if counts[s]]
    return ", ".join(parts) or "none"


def alert_content(
    kind: AlertKind,
    workspace_id: str,
    findings: Iterable[Finding],
    *,
    context: ActionContext,
    evaluated_at: datetime,
    last_notified_at: datetime | None = None,
) -> AlertContent:
    """Build the content of a new-findings digest, a reminder or a resolved message."""
    ordered = sorted(findings, key=severity_order)
    name = workspace_name(workspace_id)
    count = _count(len(ordered), "finding")
    if kind is AlertKind.NEW:
        title = f"{count} new in workspace {name}"
        summary = "New network isolation findings for batch endpoints."
    elif kind is AlertKind.REMINDER:
        title = f"Reminder: {count} still open in workspace {name}"
        summary = "These findings are still open since the last alert."
    elif kind is AlertKind.RESOLVED:
        title = f"{count} resolved in workspace {name}"
        summary = "These findings no longer appear in the latest evaluation."
    else:
        raise ValueError(f"alert_content builds finding alerts, not {kind.value!r}")
    facts = [
        ("Workspace", workspace_id),
        ("Evaluated", utc_text(evaluated_at)),
        ("Severity", _severity_summary(ordered)),
    ]
    if last_notified_at is not None:
        facts.append(("Last alerted", utc_text(last_notified_at)))
    if context.dry_run:
        facts.append(("Mode", f"{context.mode}, dry run"))
    else:
        facts.append(("Mode", context.mode))
    return AlertContent(
        kind=kind,
        workspace_id=workspace_id,
        title=title,
        summary=summary,
        facts=tuple(facts),
        findings=tuple(view_finding(f, context) for f in ordered),
    )
