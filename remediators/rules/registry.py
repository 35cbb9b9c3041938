"""Checks on the workspace's container registry."""

from __future__ import annotations

from collections.abc import Iterator

from remediators.estate.estate import WorkspaceContext
from remediators.estate.models import Registry
from remediators.findings import Finding, Severity, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.common import (
    approved_groups,
    batch_endpoint_ids,
    endpoints_text,
    is_disabled,
    is_enabled,
)


@check("registry.sku")
def sku(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    registry = context.registry
    if registry is None or registry.is_premium:
        return
    if registry.sku is None:
        yield from _unknown_sku(context, registry)
        return
    yield make_finding(
        "registry.sku",
        registry.id,
        context.workspace.id,
        f"Registry {registry.name} has SKU {registry.sku}; only Premium "
        "registries can have private endpoints, so creating one would fail "
        "(DisablingPublicNetworkAccessNotSupported). Fix: the owner upgrades it with az acr "
        f"update --name {registry.name} --sku Premium; this product never upgrades a SKU "
        "automatically because it changes the bill.",
        sku=registry.sku,
        batch_endpoints=batch_endpoint_ids(context),
    )


def _unknown_sku(context: WorkspaceContext, registry: Registry) -> Iterator[Finding]:
    """Judge a registry whose estate entry has no `sku`, as old Resource Graph tables lack it.

    An Approved private endpoint for group 'registry' proves the registry is Premium, because
    no other SKU can have one. Without that evidence the SKU is reported as unknown, at warning
    severity, rather than assumed to be Premium: a missing value is never taken as compliant.
    """
    provided = approved_groups(context, registry.id, registry.private_endpoint_connections)
    if "registry" in provided.groups:
        return
    yield make_finding(
        "registry.sku",
        registry.id,
        context.workspace.id,
        f"The SKU of registry {registry.name} is unknown because the estate does not contain "
        "it, and the registry has no Approved private endpoint for group 'registry'. Only "
        "Premium registries can have private endpoints, so this product creates none until "
        f"the SKU is known. Check it with az acr show --name {registry.name} --query sku.name: "
        "if it is Premium, create the private endpoint; otherwise the owner upgrades it with "
        f"az acr update --name {registry.name} --sku Premium. Export the estate again with "
        "`remediate export` to record the SKU.",
        severity=Severity.WARNING,
        sku=None,
        batch_endpoints=batch_endpoint_ids(context),
    )


@check("registry.private-endpoint")
def private_endpoint(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    registry = context.registry
    # A non-Premium registry, or one of unknown SKU, is reported by registry.sku: creating a
    # private endpoint for it would fail unless it is Premium.
    if registry is None or not registry.is_premium:
        return
    provided = approved_groups(context, registry.id, registry.private_endpoint_connections)
    if "registry" in provided.groups:
        return
    yield make_finding(
        "registry.private-endpoint",
        registry.id,
        context.workspace.id,
        f"Premium registry {registry.name} has no Approved private endpoint for group "
        "'registry', so clusters in the virtual network cannot pull environment images. Fix: "
        "az network private-endpoint create --group-id registry --private-connection-resource-id "
        f"{registry.id} ... with a DNS zone group for privatelink.azurecr.io. Batch endpoints "
        f"affected: {endpoints_text(context)}.",
        group_id="registry",
        private_endpoints_not_found=provided.endpoints_not_found,
        batch_endpoints=batch_endpoint_ids(context),
    )


@check("registry.public-network-access")
def public_network_access(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    registry = context.registry
    if registry is None:
        return
    default_action = registry.network_rule_set_default_action or "Allow"
    if is_disabled(registry.public_network_access) or default_action.lower() != "allow":
        return
    yield make_finding(
        "registry.public-network-access",
        registry.id,
        context.workspace.id,
        f"Registry {registry.name} allows public network access from any network "
        f"(publicNetworkAccess {registry.public_network_access or 'not set'}, "
        f"networkRuleSet.defaultAction {default_action}). Fix: az acr update --name "
        f"{registry.name} --public-network-enabled false, after its private endpoint and "
        "image build compute are in place.",
        public_network_access=registry.public_network_access,
        network_rule_set_default_action=registry.network_rule_set_default_action,
    )


@check("registry.quarantine")
def quarantine(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    registry = context.registry
    if registry is None or not is_enabled(registry.quarantine_status):
        return
    yield make_finding(
        "registry.quarantine",
        registry.id,
        context.workspace.id,
        f"Registry {registry.name} has quarantine enabled, which batch endpoints do not "
        "support: jobs and deployments time out waiting for the environment image. "
        "Quarantine is a security control, so this product only reports it. Fix: the registry "
        "owner decides whether to use a registry without quarantine for this workspace. "
        f"Batch endpoints affected: {endpoints_text(context)}.",
        quarantine_status=registry.quarantine_status,
        batch_endpoints=batch_endpoint_ids(context),
    )
