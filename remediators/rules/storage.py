"""Checks on the workspace's default storage account."""

from __future__ import annotations

from collections.abc import Iterator

from remediators.estate.estate import WorkspaceContext
from remediators.estate.models import StorageAccount, same_id
from remediators.findings import Action, Finding, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.common import (
    approved_groups,
    batch_endpoint_ids,
    endpoints_text,
    is_disabled,
)

# Batch deployments need all four: the batch job driver keeps its job queue and table in the
# workspace storage account, besides reading data (blob) and code snapshots (file).
BATCH_STORAGE_GROUPS = ("blob", "file", "queue", "table")


def _managed_rule_groups(context: WorkspaceContext, storage: StorageAccount) -> set[str]:
    groups = set()
    for rule in context.workspace.managed_outbound_rules:
        if (rule.type or "").lower() != "privateendpoint":
            continue
        if same_id(rule.service_resource_id, storage.id) and rule.subresource_target:
            groups.add(rule.subresource_target.lower())
    return groups


@check("storage.private-endpoint")
def private_endpoint(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    storage = context.storage_account
    if storage is None:
        return
    managed = context.workspace.has_managed_network
    if managed:
        present = _managed_rule_groups(context, storage)
        endpoints_not_found: list[str] = []
    else:
        provided = approved_groups(context, storage.id, storage.private_endpoint_connections)
        present, endpoints_not_found = provided.groups, provided.endpoints_not_found
    missing = [g for g in BATCH_STORAGE_GROUPS if g not in present]
    for group in missing:
        yield _missing_group_finding(
            context, storage, group, missing, sorted(present), endpoints_not_found, managed
        )


def _missing_group_finding(
    context: WorkspaceContext,
    storage: StorageAccount,
    group: str,
    missing: list[str],
    present: list[str],
    endpoints_not_found: list[str],
    managed: bool,
) -> Finding:
    workspace = context.workspace
    if managed:
        kind = "managed outbound rule of type PrivateEndpoint"
        fix = (
            f"az ml workspace outbound-rule set --workspace-name {workspace.name} --rule "
            f"storage-{group} --type private_endpoint --service-resource-id {storage.id} "
            f"--subresource-target {group}"
        )
        action = Action.CREATE_MANAGED_OUTBOUND_RULE
    else:
        kind = "Approved private endpoint"
        fix = (
            f"az network private-endpoint create --group-id {group} "
            f"--private-connection-resource-id {storage.id} ... with a DNS zone group for "
            f"privatelink.{group}.core.windows.net"
        )
        action = Action.CREATE_PRIVATE_ENDPOINT
    note = ""
    if endpoints_not_found:
        note = (
            f" {len(endpoints_not_found)} Approved connection(s) name a private endpoint that "
            "is not in the estate, so they count for no group."
        )
    return make_finding(
        "storage.private-endpoint",
        storage.id,
        workspace.id,
        f"Storage account {storage.name} has no {kind} for group '{group}' (missing groups: "
        f"{', '.join(missing)}). Batch deployments need blob, file, queue and table: without "
        "queue and table the batch job cannot create its job queue and table and fails at "
        f"start.{note} Fix: {fix}. Batch endpoints affected: {endpoints_text(context)}.",
        action=action,
        group_id=group,
        missing_groups=missing,
        present_groups=present,
        managed_network=managed,
        private_endpoints_not_found=endpoints_not_found,
        batch_endpoints=batch_endpoint_ids(context),
    )


@check("storage.public-network-access")
def public_network_access(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    storage = context.storage_account
    if storage is None:
        return
    # Absent defaultAction is Azure's default, Allow; absent publicNetworkAccess is not Disabled.
    default_action = storage.network_acls_default_action or "Allow"
    if is_disabled(storage.public_network_access) or default_action.lower() != "allow":
        return
    yield make_finding(
        "storage.public-network-access",
        storage.id,
        context.workspace.id,
        f"Storage account {storage.name} allows public network access from any network "
        f"(publicNetworkAccess {storage.public_network_access or 'not set'}, "
        f"networkAcls.defaultAction {default_action}). Fix: az storage account update --name "
        f"{storage.name} --public-network-access Disabled, or --default-action Deny.",
        public_network_access=storage.public_network_access,
        network_acls_default_action=storage.network_acls_default_action,
    )
