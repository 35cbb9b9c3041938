"""Checks on the workspace's key vault."""

from __future__ import annotations

from collections.abc import Iterator

from remediators.estate.estate import WorkspaceContext
from remediators.findings import Finding, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.common import approved_groups, batch_endpoint_ids, endpoints_text


@check("keyvault.private-endpoint")
def private_endpoint(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    vault = context.key_vault
    if vault is None:
        return
    provided = approved_groups(context, vault.id, vault.private_endpoint_connections)
    if "vault" in provided.groups:
        return
    bypass = vault.network_acls_bypass
    yield make_finding(
        "keyvault.private-endpoint",
        vault.id,
        context.workspace.id,
        f"Key vault {vault.name} has no Approved private endpoint for group 'vault'. Batch "
        "jobs read datastore credentials from it; a vault with defaultAction Deny, bypass None "
        "and no private endpoint breaks datastore access. The documented alternative is "
        "networkAcls.bypass AzureServices, which remediation never changes. Fix: az network "
        f"private-endpoint create --group-id vault --private-connection-resource-id {vault.id} "
        "... with a DNS zone group for privatelink.vaultcore.azure.net. Batch endpoints "
        f"affected: {endpoints_text(context)}.",
        group_id="vault",
        network_acls_default_action=vault.network_acls_default_action,
        network_acls_bypass=bypass,
        private_endpoints_not_found=provided.endpoints_not_found,
        batch_endpoints=batch_endpoint_ids(context),
    )
