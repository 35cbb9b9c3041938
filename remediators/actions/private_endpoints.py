"""Create the private endpoints a workspace's storage account, registry and key vault lack.

Guarantees:
- An existing private endpoint for the same target and group, under any name and with an
  automatic or manual connection, counts as done. Existing endpoints are never modified,
  because ARM rejects a subnet change on an existing private endpoint.
- Names are deterministic, so a rerun or a second instance finds the endpoint it would create.
- One write at a time per target resource in this process (storage accepts one exclusive
  operation at a time); an optional cross-instance lock (the workspace blob lease) wraps it.
- Transient ARM error codes are retried within a bound; permanent ones are reported with the fix.
- When the identity cannot approve the connection, a manual connection request is created once
  and reported as Pending, with an alert for the target's owner.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from remediators.actions.arm_errors import (
    PERMANENT_FIXES,
    ArmError,
    ArmOperationError,
    Correlation,
    ErrorKind,
    RetryPolicy,
    call_with_retry,
    classify,
    resource_lock,
)
from remediators.actions.dns import DnsOptions, ZoneGroupRepair, split_id
from remediators.actions.plan import Outcome, OutcomeStatus, PlannedAction
from remediators.clients import AzureClients
from remediators.config import Settings
from remediators.estate.models import (
    PrivateEndpoint,
    VirtualNetwork,
    last_segment,
    parent_id,
    same_id,
    subscription_of,
)

logger = logging.getLogger(__name__)

STORAGE_GROUPS = ("blob", "file", "queue", "table")
REGISTRY_GROUP = "registry"
VAULT_GROUP = "vault"

# Below ARM's 80-character limit for network resource names, with room to spare.
# NOTE: the exact limit for private endpoint names was not verified; 64 is a cautious choice.
MAX_NAME_LENGTH = 64
_HASH_LENGTH = 8
_INVALID_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")

MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "batch-endpoint-remediator"
REQUEST_MESSAGE = (
    "Requested by the batch endpoint network remediator for Azure Machine Learning workspace "
    "{workspace}: batch jobs need a private endpoint for group '{group}'."
)


def endpoint_name(target_name: str, group_id: str, prefix: str = "pe") -> str:
    """Return the deterministic private endpoint name `pe-<target>-<group>`.

    A name over the limit keeps its head and gets an 8-character hash of the full name, so two
    long targets never share a name.
    """
    full = _INVALID_NAME_CHARACTERS.sub("-", f"{prefix}-{target_name}-{group_id}".lower())
    if len(full) <= MAX_NAME_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    head = full[: MAX_NAME_LENGTH - _HASH_LENGTH - 1].rstrip("-.")
    return f"{head}-{digest}"


def connection_name(endpoint: str) -> str:
    return f"{endpoint}-connection"


def endpoint_body(
    *,
    location: str,
    subnet_id: str,
    target_id: str,
    group_id: str,
    name: str,
    manual: bool,
    request_message: str | None = None,
) -> dict[str, Any]:
    """Build the PUT body of a private endpoint with one connection to `target_id`."""
    connection: dict[str, Any] = {
        "name": connection_name(name),
        "properties": {"privateLinkServiceId": target_id, "groupIds": [group_id]},
    }
    if manual:
        connection["properties"]["requestMessage"] = request_message or ""
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    return {
        "location": location,
        "tags": {MANAGED_BY_TAG: MANAGED_BY_VALUE},
        "properties": {"subnet": {"id": subnet_id}, key: [connection]},
    }


# ---------------------------------------------------------------- live creation


@dataclass(frozen=True)
class EndpointOptions:
    """The settings private endpoint creation reads."""

    # Subnet for new private endpoints; None: the subnet of the workspace's own endpoint.
    subnet_id: str | None = None
    dns_zone_scope: str | None = None
    custom_dns: bool = False
    cloud: str = "AzureCloud"
    dry_run: bool = False
    # Subscriptions (lowercased) whose resources the identity cannot approve connections to,
    # such as those of another tenant: their endpoints are created as manual requests.
    manual_approval_subscriptions: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EndpointOptions:
        values: dict[str, Any] = {
            "subnet_id": settings.pe_subnet_id,
            "dns_zone_scope": settings.dns_zone_scope,
            "custom_dns": settings.custom_dns,
            "cloud": settings.cloud,
            "dry_run": settings.dry_run,
        }
        return cls(**{**values, **overrides})

    def dns_options(self) -> DnsOptions:
        return DnsOptions(self.dns_zone_scope, self.cloud, self.dry_run)


@dataclass(frozen=True)
class EndpointRequest:
    """One private endpoint to ensure: target resource, group id and the workspace it serves."""

    target_id: str
    group_id: str
    workspace_id: str


@dataclass(frozen=True)
class _Subnet:
    id: str
    location: str
    network_policies: str | None


class PrivateEndpointCreator:
    """Ensure a private endpoint exists for a target and group, creating it when none does."""

    def __init__(
        self,
        clients: AzureClients,
        options: EndpointOptions,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        lease: Callable[[str], AbstractContextManager[Any]] | None = None,
        zone_groups: ZoneGroupRepair | None = None,
    ) -> None:
        self.clients = clients
        self.options = options
        self.retry = retry
        self.sleep = sleep
        # Cross-instance lock on the workspace, e.g. WorkspaceLocks.workspace_lease.
        self.lease = lease
        self.zone_groups = zone_groups or ZoneGroupRepair(
            clients, options.dns_options(), retry=retry, sleep=sleep
        )

    def execute(self, action: PlannedAction) -> Outcome:
        """Run a planned `storage/registry/keyvault.private-endpoint` action."""
        if action.group_id is None:
            raise ValueError(f"planned private endpoint for {action.target_id} has no group id")
        request = EndpointRequest(action.target_id, action.group_id, action.finding.workspace_id)
        return self.ensure(request)

    def ensure(self, request: EndpointRequest) -> Outcome:
        """Find or create the private endpoint of `request`; writes only what is missing."""
        with resource_lock(request.target_id):
            lease = self.lease(request.workspace_id) if self.lease else nullcontext()
            with lease:
                return self._ensure(request)

    def _ensure(self, request: EndpointRequest) -> Outcome:
        endpoints = self._endpoints(request)
        target_name = last_segment(request.target_id)
        name = endpoint_name(target_name, request.group_id)
        found = _existing(endpoints, request, name)
        if found is not None and found.name.lower() != name:
            return _foreign_outcome(found, request)
        if found is not None and _provisioning_state(found) != "failed":
            return self._existing_outcome(found, request)
        subnet = self._subnet(request, endpoints)
        manual = (subscription_of(request.target_id) or "") in {
            s.lower() for s in self.options.manual_approval_subscriptions
        }
        if self.options.dry_run:
            kind = "a manual connection request" if manual else "an auto-approved connection"
            return Outcome(
                OutcomeStatus.WOULD_CHANGE,
                f"dry run: would create private endpoint {name} in subnet {subnet.id} with "
                f"{kind} to {request.target_id} for group {request.group_id}",
            )
        return self._create(request, name, subnet, manual)

    # Reads -------------------------------------------------------------------------------

    def _endpoints(self, request: EndpointRequest) -> list[PrivateEndpoint]:
        """List the private endpoints of every subscription involved, each once."""
        subscriptions = [
            subscription_of(resource_id)
            for resource_id in (self.options.subnet_id, request.workspace_id, request.target_id)
            if resource_id
        ]
        endpoints: list[PrivateEndpoint] = []
        for subscription in dict.fromkeys(s for s in subscriptions if s):
            network = self.clients.network(subscription)
            for item in network.private_endpoints.list_by_subscription():
                endpoints.append(PrivateEndpoint.from_arm(item.as_dict()))
        return endpoints

    def _subnet(self, request: EndpointRequest, endpoints: list[PrivateEndpoint]) -> _Subnet:
        subnet_id = self.options.subnet_id
        if subnet_id is None:
            workspace_endpoints = [e for e in endpoints if e.targets(request.workspace_id)]
            subnet_id = next((e.subnet_id for e in workspace_endpoints if e.subnet_id), None)
        if subnet_id is None:
            raise ArmOperationError(
                f"choose a subnet for the private endpoint of {request.target_id}",
                ArmError(
                    ErrorKind.PERMANENT,
                    "SubnetNotConfigured",
                    None,
                    f"no private endpoint subnet is configured and workspace "
                    f"{request.workspace_id} has no private endpoint to take the subnet from.",
                    fix="set REMEDIATOR_PE_SUBNET_ID to the resource id of a subnet",
                ),
                attempts=0,
            )
        return self._read_subnet(subnet_id)

    def _read_subnet(self, subnet_id: str) -> _Subnet:
        """Read the subnet and its virtual network's location before creating anything."""
        subscription, resource_group, _ = split_id(subnet_id)
        network_name = last_segment(parent_id(subnet_id))
        network = self.clients.network(subscription)
        try:
            virtual_network = VirtualNetwork.from_arm(
                network.virtual_networks.get(resource_group, network_name).as_dict()
            )
        except ResourceNotFoundError as missing:
            raise ArmOperationError(
                f"read subnet {subnet_id}", _subnet_missing(missing), 1
            ) from None
        subnet = next((s for s in virtual_network.subnets if same_id(s.id, subnet_id)), None)
        if subnet is None or virtual_network.location is None:
            raise ArmOperationError(
                f"read subnet {subnet_id}",
                ArmError(
                    ErrorKind.PERMANENT,
                    "SubnetNotFound",
                    None,
                    f"subnet {subnet_id} was not found in its virtual network.",
                    fix=PERMANENT_FIXES["subnetnotfound"],
                ),
                attempts=1,
            )
        policies = subnet.private_endpoint_network_policies
        if (policies or "").lower() == "enabled":
            # Newer API versions accept private endpoints in such subnets, so ARM's response
            # decides. The subnet is never changed.
            logger.warning(
                "Subnet %s has privateEndpointNetworkPolicies Enabled; ARM may reject the "
                "private endpoint",
                subnet_id,
                extra={"resource_id": subnet_id},
            )
        return _Subnet(subnet.id, virtual_network.location, policies)

    # Writes ------------------------------------------------------------------------------

    def _create(
        self, request: EndpointRequest, name: str, subnet: _Subnet, manual: bool
    ) -> Outcome:
        subscription, resource_group, _ = split_id(subnet.id)
        network = self.clients.network(subscription)
        correlation = Correlation()
        try:
            created = self._put(network, resource_group, request, name, subnet, manual, correlation)
        except ArmOperationError as failed:
            if manual or not failed.error.is_authorization:
                raise
            # The identity may create the endpoint but not approve the connection on the
            # target: ask the target's owner instead, once.
            logger.warning(
                "Auto-approved private endpoint %s was rejected with %s; requesting manual "
                "approval from the owner of %s",
                name,
                failed.error.code,
                request.target_id,
                extra={"resource_id": request.target_id},
            )
            manual = True
            created = self._put(network, resource_group, request, name, subnet, True, correlation)
        endpoint = PrivateEndpoint.from_arm(created)
        logger.info(
            "Created private endpoint %s for %s group %s",
            endpoint.id,
            request.target_id,
            request.group_id,
            extra={"resource_id": endpoint.id, "correlation_id": correlation.id},
        )
        dns = self._zone_group(endpoint.id, request.group_id, correlation)
        return self._created_outcome(request, endpoint, manual, correlation, dns)

    def _put(
        self,
        network: Any,
        resource_group: str,
        request: EndpointRequest,
        name: str,
        subnet: _Subnet,
        manual: bool,
        correlation: Correlation,
    ) -> dict[str, Any]:
        body = endpoint_body(
            location=subnet.location,
            subnet_id=subnet.id,
            target_id=request.target_id,
            group_id=request.group_id,
            name=name,
            manual=manual,
            request_message=REQUEST_MESSAGE.format(
                workspace=last_segment(request.workspace_id), group=request.group_id
            ),
        )

        def put() -> dict[str, Any]:
            poller = network.private_endpoints.begin_create_or_update(
                resource_group, name, body, **correlation.options()
            )
            return dict(poller.result().as_dict())

        def read() -> dict[str, Any]:
            return dict(network.private_endpoints.get(resource_group, name).as_dict())

        return call_with_retry(
            f"create private endpoint {name}",
            put,
            policy=self.retry,
            sleep=self.sleep,
            on_outcome_unknown=read,
        )

    def _zone_group(
        self, endpoint_id: str, group_id: str, correlation: Correlation
    ) -> Outcome | None:
        if self.options.custom_dns:
            return None
        return self.zone_groups.ensure(endpoint_id, [group_id], correlation)

    # Outcomes ----------------------------------------------------------------------------

    def _existing_outcome(self, endpoint: PrivateEndpoint, request: EndpointRequest) -> Outcome:
        status = _connection_status(endpoint, request)
        dns = None
        if endpoint.name.lower() == endpoint_name(
            last_segment(request.target_id), request.group_id
        ):
            # An endpoint this remediator created may have lost its zone group to a crash
            # between the two writes. Completing it costs only a read when nothing is missing.
            dns = self._zone_group(endpoint.id, request.group_id, Correlation())
        if status == "Pending":
            outcome = _pending_outcome(request, endpoint, None)
        else:
            outcome = Outcome(
                OutcomeStatus.ALREADY_DONE,
                f"private endpoint {endpoint.name} already connects {request.target_id} group "
                f"{request.group_id} (connection {status or 'state unknown'})",
                endpoint.id,
            )
        return _with_dns(outcome, dns)

    def _created_outcome(
        self,
        request: EndpointRequest,
        endpoint: PrivateEndpoint,
        manual: bool,
        correlation: Correlation,
        dns: Outcome | None,
    ) -> Outcome:
        if manual:
            outcome = _pending_outcome(request, endpoint, correlation.id)
        else:
            outcome = Outcome(
                OutcomeStatus.CREATED,
                f"created private endpoint {endpoint.name} for {request.target_id} group "
                f"{request.group_id}",
                endpoint.id,
                correlation_id=correlation.id,
            )
        return _with_dns(outcome, dns)


def _existing(
    endpoints: list[PrivateEndpoint], request: EndpointRequest, name: str
) -> PrivateEndpoint | None:
    """Return the endpoint for the target and group: a working one first, ours if failed."""
    matching = [e for e in endpoints if e.targets(request.target_id, request.group_id)]
    working = [e for e in matching if _provisioning_state(e) != "failed"]
    if working:
        return next((e for e in working if e.name.lower() == name), working[0])
    return next((e for e in matching if e.name.lower() == name), matching[0] if matching else None)


def _provisioning_state(endpoint: PrivateEndpoint) -> str:
    return str(endpoint.properties.get("provisioningState") or "").lower()


def _connection_status(endpoint: PrivateEndpoint, request: EndpointRequest) -> str | None:
    for connection in endpoint.connections:
        if same_id(connection.private_link_service_id, request.target_id):
            return connection.status
    return None


def _foreign_outcome(endpoint: PrivateEndpoint, request: EndpointRequest) -> Outcome:
    if _provisioning_state(endpoint) == "failed":
        message = (
            f"private endpoint {endpoint.id} for {request.target_id} group {request.group_id} "
            "is in provisioning state Failed; the remediator never modifies an existing "
            "endpoint: delete it or repair it, then the next evaluation creates one"
        )
        return Outcome(OutcomeStatus.FAILED, message, endpoint.id, alert=message)
    status = _connection_status(endpoint, request)
    if status == "Pending":
        return _pending_outcome(request, endpoint, None)
    return Outcome(
        OutcomeStatus.ALREADY_DONE,
        f"private endpoint {endpoint.name} already connects {request.target_id} group "
        f"{request.group_id} (connection {status or 'state unknown'})",
        endpoint.id,
    )


def _pending_outcome(
    request: EndpointRequest, endpoint: PrivateEndpoint, correlation_id: str | None
) -> Outcome:
    alert = (
        f"approval needed by the owner of {request.target_id}: approve the private endpoint "
        f"connection from {endpoint.id} (group {request.group_id})"
    )
    return Outcome(
        OutcomeStatus.PENDING_APPROVAL,
        f"private endpoint {endpoint.name} requests a manual connection to {request.target_id} "
        f"group {request.group_id}; the connection is Pending",
        endpoint.id,
        correlation_id=correlation_id,
        alert=alert,
        extra={"connection_status": "Pending"},
    )


def _with_dns(outcome: Outcome, dns: Outcome | None) -> Outcome:
    """Fold the zone group outcome into the endpoint outcome: its detail and any alert."""
    if dns is None or dns.status is OutcomeStatus.ALREADY_DONE:
        return outcome
    alerts = [a for a in (outcome.alert, dns.alert) if a]
    return replace(
        outcome,
        detail=f"{outcome.detail}; {dns.detail}",
        correlation_id=outcome.correlation_id or dns.correlation_id,
        alert="; ".join(alerts) or None,
        extra={**outcome.extra, "dns": dns.status.value},
    )


def _subnet_missing(error: ResourceNotFoundError) -> ArmError:
    found = classify(error)
    return replace(found, kind=ErrorKind.PERMANENT, fix=PERMANENT_FIXES["subnetnotfound"])
