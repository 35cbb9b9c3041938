"""Checks on the workspace itself: private link, public access, image builds, encryption."""

from __future__ import annotations

from collections.abc import Iterator

from remediators.estate.estate import WorkspaceContext
from remediators.findings import Finding, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.common import (
    batch_endpoint_ids,
    endpoints_text,
    has_approved_connection,
    is_disabled,
    is_enabled,
)


@check("workspace.private-link")
def private_link(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    workspace = context.workspace
    if has_approved_connection(workspace):
        return
    statuses = sorted({c.status or "unknown" for c in workspace.private_endpoint_connections})
    yield make_finding(
        "workspace.private-link",
        workspace.id,
        workspace.id,
        f"Workspace {workspace.name} has no Approved private endpoint connection, so its batch "
        "endpoints are not network-isolated. Fix: create a private endpoint for group "
        f"'amlworkspace' (az network private-endpoint create --group-id amlworkspace "
        f"--private-connection-resource-id {workspace.id} ...), then recreate existing batch "
        "endpoints, which keep the network setting they were created with.",
        connection_statuses=statuses,
        batch_endpoints=batch_endpoint_ids(context),
    )


@check("workspace.public-network-access")
def public_network_access(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    workspace = context.workspace
    if not has_approved_connection(workspace):
        return
    value = workspace.public_network_access
    behind_vnet = workspace.allow_public_access_when_behind_vnet
    if is_enabled(value):
        reason = "publicNetworkAccess is Enabled"
    elif value is None and behind_vnet is True:
        reason = "publicNetworkAccess is not set and allowPublicAccessWhenBehindVnet is true"
    else:
        return
    yield make_finding(
        "workspace.public-network-access",
        workspace.id,
        workspace.id,
        f"Workspace {workspace.name} has a private endpoint but is still reachable publicly: "
        f"{reason}. Fix: az ml workspace update --name {workspace.name} "
        "--public-network-access Disabled.",
        public_network_access=value,
        allow_public_access_when_behind_vnet=behind_vnet,
    )


def _registry_is_private(context: WorkspaceContext) -> bool:
    registry = context.registry
    if registry is None:
        return False
    default_action = (registry.network_rule_set_default_action or "").lower()
    return is_disabled(registry.public_network_access) or default_action == "deny"


def _image_build_problem(context: WorkspaceContext, options: RuleOptions) -> str | None:
    workspace = context.workspace
    name = workspace.image_build_compute
    if name is None:
        if options.accept_serverless_subnet and workspace.serverless_compute_subnet:
            return None
        return (
            "imageBuildCompute is not set, so images are built on serverless compute (the "
            "default), which cannot reach a private registry"
        )
    compute = context.compute_by_name(name)
    if compute is None:
        return f"imageBuildCompute names compute {name!r}, which does not exist in the workspace"
    if not compute.is_aml_compute:
        return (
            f"imageBuildCompute names compute {name!r} of type {compute.compute_type}, "
            "which is not an AmlCompute cluster"
        )
    if compute.subnet_id is None and not workspace.has_managed_network:
        return f"imageBuildCompute names cluster {name!r}, which is not in a virtual network"
    return None


@check("workspace.image-build-compute")
def image_build_compute(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    if not _registry_is_private(context) or context.registry is None:
        return
    problem = _image_build_problem(context, options)
    if problem is None:
        return
    workspace = context.workspace
    yield make_finding(
        "workspace.image-build-compute",
        workspace.id,
        workspace.id,
        f"Registry {context.registry.name} is not publicly reachable and {problem}. Batch "
        "deployment creation and image builds will fail (ImageBuildComputeNotValid). Fix: "
        f"az ml workspace update --name {workspace.name} --image-build-compute <cluster in the "
        "virtual network>, or inject serverless compute into a subnet. Batch endpoints "
        f"affected: {endpoints_text(context)}.",
        registry_id=context.registry.id,
        image_build_compute=workspace.image_build_compute,
        serverless_compute_subnet=workspace.serverless_compute_subnet,
        batch_endpoints=batch_endpoint_ids(context),
    )


@check("workspace.customer-managed-key")
def customer_managed_key(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    workspace = context.workspace
    if not is_enabled(workspace.encryption_status):
        return
    yield make_finding(
        "workspace.customer-managed-key",
        workspace.id,
        workspace.id,
        f"Workspace {workspace.name} encrypts with a customer-managed key (encryption.status "
        "Enabled), and batch deployments are not supported in such workspaces. Fix: run batch "
        "endpoints in a workspace without customer-managed keys; encryption cannot be turned "
        f"off on an existing workspace. Batch endpoints affected: {endpoints_text(context)}.",
        encryption_status=workspace.encryption_status,
        batch_endpoints=batch_endpoint_ids(context),
    )
