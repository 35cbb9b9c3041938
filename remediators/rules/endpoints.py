"""Checks on batch endpoints: network age, spec keys and how to invoke them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from remediators.estate.estate import WorkspaceContext
from remediators.estate.models import BatchEndpoint
from remediators.findings import Finding, make_finding
from remediators.rules import RuleOptions, check
from remediators.rules.common import workspace_is_private

# Keys online endpoints accept and batch endpoints do not, in CLI YAML and ARM spelling.
NETWORK_KEYS = (
    "public_network_access",
    "egress_public_network_access",
    "publicNetworkAccess",
    "egressPublicNetworkAccess",
)


def network_keys_in(spec: Mapping[str, Any]) -> list[str]:
    """Return the network keys a batch endpoint spec sets, at top level or under properties.

    Each entry is the key as spelled in the spec, prefixed with `properties.` when it sits
    there.
    """
    found: list[str] = []
    scopes: list[tuple[str, Mapping[str, Any]]] = [("", spec)]
    properties = spec.get("properties")
    if isinstance(properties, Mapping):
        scopes.append(("properties.", properties))
    wanted = {key.lower() for key in NETWORK_KEYS}
    for prefix, scope in scopes:
        for key in scope:
            if isinstance(key, str) and key.lower() in wanted:
                found.append(f"{prefix}{key}")
    return found


def _recreate_hint(endpoint: BatchEndpoint) -> str:
    return (
        f"az ml batch-endpoint delete --name {endpoint.name} and az ml batch-endpoint create "
        "with the same name, auth mode and deployments"
    )


def utc_text(moment: datetime) -> str:
    """Format a time for messages as ISO 8601 UTC to the second, such as 2026-09-01T08:30:00Z.

    The details keep `isoformat()` with full precision; messages use one readable format.
    """
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@check("endpoint.stale-network")
def stale_network(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    became_private = context.history.became_private_at
    if became_private is None or not workspace_is_private(context.workspace):
        return
    for endpoint in context.endpoints:
        created = endpoint.created_at
        if created is None or created >= became_private:
            continue
        yield make_finding(
            "endpoint.stale-network",
            endpoint.id,
            context.workspace.id,
            f"Batch endpoint {endpoint.name} was created at {utc_text(created)}, before "
            f"workspace {context.workspace.name} became private-link enabled at "
            f"{utc_text(became_private)}. A batch endpoint keeps the network setting it was "
            f"created with, so it still uses the public configuration. Fix: recreate it "
            f"({_recreate_hint(endpoint)}).",
            created_at=created.isoformat(),
            became_private_at=became_private.isoformat(),
            history_source=context.history.source,
        )


@check("endpoint.network-age-unknown")
def network_age_unknown(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    history = context.history
    if not workspace_is_private(context.workspace):
        return
    evidence = history.earliest_private_evidence
    for endpoint in context.endpoints:
        created = endpoint.created_at
        if history.became_private_at is not None:
            # The switch time is known, so only an endpoint without systemData.createdAt
            # cannot be placed before or after it.
            if created is not None:
                continue
        elif created is not None and evidence is not None and created >= evidence:
            continue
        created_text = utc_text(created) if created else "an unknown time"
        evidence_text = (
            f"the earliest evidence that it was private is {utc_text(evidence)}"
            if evidence
            else "there is no record of when it became private"
        )
        yield make_finding(
            "endpoint.network-age-unknown",
            endpoint.id,
            context.workspace.id,
            f"Batch endpoint {endpoint.name} was created at {created_text}; workspace "
            f"{context.workspace.name} is private-link enabled but {evidence_text}, so the "
            "endpoint may predate the switch and keep a public configuration. This product "
            "does not recreate endpoints on a guess. Fix: check when the workspace became "
            f"private; if the endpoint is older, recreate it ({_recreate_hint(endpoint)}).",
            created_at=created.isoformat() if created else None,
            earliest_private_evidence=evidence.isoformat() if evidence else None,
            history_source=history.source,
        )


@check("endpoint.spec.network-keys")
def spec_network_keys(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    for endpoint in context.endpoints:
        keys = network_keys_in(endpoint.raw)
        if not keys:
            continue
        yield make_finding(
            "endpoint.spec.network-keys",
            endpoint.id,
            context.workspace.id,
            f"Batch endpoint {endpoint.name} sets {', '.join(keys)}, which only online "
            "endpoints support; a batch endpoint takes its network setting from the workspace "
            "and a public batch endpoint cannot exist in a private-link workspace. Fix: remove "
            "the keys from the endpoint definition.",
            keys=keys,
        )


@check("endpoint.studio-invoke")
def studio_invoke(context: WorkspaceContext, options: RuleOptions) -> Iterator[Finding]:
    if not workspace_is_private(context.workspace):
        return
    for endpoint in context.endpoints:
        yield make_finding(
            "endpoint.studio-invoke",
            endpoint.id,
            context.workspace.id,
            f"Batch endpoint {endpoint.name} is in a private-link workspace: studio can create "
            "and manage it but cannot invoke it. Invoke it with the CLI (az ml batch-endpoint "
            "invoke), the Python SDK or the REST API from inside the network. Nothing is "
            "broken, and opening public access is not the fix.",
        )
