"""Private endpoint naming, request bodies, and creation against the fake ARM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from fake_arm import FakeArm, FakeArmTransport
from remediators.actions.arm_errors import ArmOperationError, RetryPolicy
from remediators.actions.plan import OutcomeStatus, execute, plan_actions
from remediators.actions.private_endpoints import (
    MAX_NAME_LENGTH,
    EndpointOptions,
    EndpointRequest,
    PrivateEndpointCreator,
    endpoint_body,
    endpoint_name,
)
from remediators.clients import AzureClients
from remediators.config import Settings as PlanSettings
from remediators.estate.estate import Estate, build_context
from remediators.estate.models import PrivateEndpoint
from remediators.findings import Action, Finding
from remediators.rules import run_checks
from remediators.state import StorageClients
from remediators.state.audit import AuditRecord
from remediators.state.leases import WorkspaceLocks
from tests.actions.fake_estate import (
    DNS_GROUP,
    PE_SUBNET,
    POLICY_SUBNET,
    STORAGE,
    SUBSCRIPTION,
    VAULT,
    VNET,
    WORKSPACE,
    ZONES,
    FakeCredential,
    clients_for,
    endpoint_id,
    estate,
    fake_arm,
    private_endpoint,
    writes,
)
from tests.azurite import require_azurite


def test_name_is_prefix_target_group() -> None:
    assert endpoint_name("mystorage", "queue") == "pe-mystorage-queue"


def test_long_name_fits_limit() -> None:
    assert len(endpoint_name("a" * 90, "table")) == MAX_NAME_LENGTH


def test_long_names_differ_by_hash() -> None:
    first = endpoint_name("a" * 90 + "x", "table")
    second = endpoint_name("a" * 90 + "y", "table")
    assert first != second


def test_name_is_deterministic() -> None:
    assert endpoint_name("b" * 90, "blob") == endpoint_name("b" * 90, "blob")


def test_name_replaces_invalid_characters() -> None:
    assert endpoint_name("my vault", "vault") == "pe-my-vault-vault"


def test_automatic_body_uses_service_connections() -> None:
    body = endpoint_body(
        location="westeurope",
        subnet_id="/subnet",
        target_id="/sa",
        group_id="queue",
        name="pe-sa-queue",
        manual=False,
    )
    assert body["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == [
        "queue"
    ]


def test_manual_body_carries_request_message() -> None:
    body = endpoint_body(
        location="westeurope",
        subnet_id="/subnet",
        target_id="/sa",
        group_id="queue",
        name="pe-sa-queue",
        manual=True,
        request_message="please approve",
    )
    connection = body["properties"]["manualPrivateLinkServiceConnections"][0]
    assert connection["properties"]["requestMessage"] == "please approve"


# ---------------------------------------------------------------- against the fake ARM


def storage_findings(arm: FakeArm) -> list[Finding]:
    context = build_context(Estate(arm.resources()), WORKSPACE)
    return [f for f in run_checks(context) if f.rule == "storage.private-endpoint"]


def creator_for(arm: FakeArm, **options: Any) -> PrivateEndpointCreator:
    defaults: dict[str, Any] = {"subnet_id": PE_SUBNET, "dns_zone_scope": DNS_GROUP}
    return PrivateEndpointCreator(
        clients_for(arm),
        EndpointOptions(**{**defaults, **options}),
        retry=RetryPolicy(attempts=3, base_delay=0),
        sleep=lambda seconds: None,
    )


def remediate_storage(arm: FakeArm, creator: PrivateEndpointCreator) -> list[AuditRecord]:
    planned = plan_actions(storage_findings(arm), PlanSettings(mode="remediate"))
    return execute(planned, {Action.CREATE_PRIVATE_ENDPOINT: creator.execute})


def endpoints_for(arm: FakeArm, target: str, group: str) -> list[dict[str, Any]]:
    return [
        resource
        for resource in arm.resources()
        if resource["type"].lower() == "microsoft.network/privateendpoints"
        and PrivateEndpoint.from_arm(resource).targets(target, group)
    ]


def zone_ids(arm: FakeArm, endpoint: str) -> list[str]:
    group = arm.get(f"{endpoint_id(endpoint)}/privateDnsZoneGroups/default") or {}
    configs = group.get("properties", {}).get("privateDnsZoneConfigs", [])
    return [c["properties"]["privateDnsZoneId"] for c in configs]


def test_missing_storage_groups_created() -> None:
    arm = fake_arm()
    records = remediate_storage(arm, creator_for(arm))
    assert [(r.details["group_id"], r.result) for r in records] == [
        ("queue", "created"),
        ("table", "created"),
    ]
    assert len(endpoints_for(arm, STORAGE, "queue")) == 1
    assert len(endpoints_for(arm, STORAGE, "table")) == 1


def test_created_endpoints_get_zone_groups() -> None:
    arm = fake_arm()
    remediate_storage(arm, creator_for(arm))
    assert zone_ids(arm, "pe-sa-queue") == [f"{ZONES}/privatelink.queue.core.windows.net"]
    assert zone_ids(arm, "pe-sa-table") == [f"{ZONES}/privatelink.table.core.windows.net"]


def test_remediation_changes_nothing_else() -> None:
    arm = fake_arm()
    before = {r["id"]: r for r in arm.resources() if r["id"] != STORAGE}
    remediate_storage(arm, creator_for(arm))
    after = {r["id"]: r for r in arm.resources()}
    assert all(after[resource_id] == payload for resource_id, payload in before.items())
    assert sorted(writes(arm)) == sorted(
        [
            f"PUT {endpoint_id('pe-sa-queue')[1:]}",
            f"PUT {endpoint_id('pe-sa-queue')[1:]}/privateDnsZoneGroups/default",
            f"PUT {endpoint_id('pe-sa-table')[1:]}",
            f"PUT {endpoint_id('pe-sa-table')[1:]}/privateDnsZoneGroups/default",
        ]
    )


def test_audit_carries_correlation_id() -> None:
    arm = fake_arm()
    records = remediate_storage(arm, creator_for(arm))
    assert all(record.arm_correlation_id for record in records)


def test_rerun_makes_no_write() -> None:
    arm = fake_arm()
    remediate_storage(arm, creator_for(arm))
    arm.clear_log()
    requests = [
        EndpointRequest(STORAGE, group, WORKSPACE) for group in ("blob", "file", "queue", "table")
    ]
    outcomes = [creator_for(arm).ensure(request) for request in requests]
    assert writes(arm) == []
    assert {o.status for o in outcomes} == {OutcomeStatus.ALREADY_DONE}


def test_endpoint_under_other_name_counts() -> None:
    arm = fake_arm()
    arm.add(private_endpoint("someone-elses-queue", STORAGE, "queue"))
    outcome = creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert outcome.status is OutcomeStatus.ALREADY_DONE
    assert writes(arm) == []


def test_manual_connection_counts() -> None:
    arm = fake_arm()
    arm.add(private_endpoint("requested-queue", STORAGE, "queue", manual=True))
    outcome = creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert outcome.status is OutcomeStatus.PENDING_APPROVAL
    assert writes(arm) == []


def test_failed_foreign_endpoint_not_modified() -> None:
    arm = fake_arm()
    broken = private_endpoint("broken-queue", STORAGE, "queue")
    broken["properties"]["provisioningState"] = "Failed"
    arm.add(broken)
    outcome = creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.alert is not None
    assert writes(arm) == []


def test_subnet_taken_from_workspace_endpoint() -> None:
    arm = fake_arm()
    creator_for(arm, subnet_id=None).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    created = arm.get(endpoint_id("pe-sa-queue")) or {}
    assert created["properties"]["subnet"]["id"] == PE_SUBNET


def test_no_subnet_reported_with_fix() -> None:
    arm = FakeArm([r for r in estate() if "pe-ws" not in r["id"]])
    with pytest.raises(ArmOperationError) as raised:
        creator_for(arm, subnet_id=None).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert "REMEDIATOR_PE_SUBNET_ID" in str(raised.value)
    assert writes(arm) == []


def test_missing_subnet_reported_with_fix() -> None:
    arm = fake_arm()
    creator = creator_for(arm, subnet_id=f"{VNET}/subnets/absent")
    with pytest.raises(ArmOperationError) as raised:
        creator.ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert raised.value.error.code == "SubnetNotFound"
    assert writes(arm) == []


def test_vault_endpoint_gets_vault_zone() -> None:
    arm = fake_arm()
    outcome = creator_for(arm).ensure(EndpointRequest(VAULT, "vault", WORKSPACE))
    assert outcome.status is OutcomeStatus.CREATED
    assert zone_ids(arm, "pe-kv-vault") == [f"{ZONES}/privatelink.vaultcore.azure.net"]


def test_custom_dns_creates_no_zone_group() -> None:
    arm = fake_arm()
    creator_for(arm, custom_dns=True).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert not any("privateDnsZoneGroups" in write for write in writes(arm))


def test_missing_zone_alerts() -> None:
    arm = FakeArm([r for r in estate() if "privatelink.queue" not in r["id"]])
    outcome = creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert outcome.status is OutcomeStatus.CREATED
    assert "privatelink.queue.core.windows.net not found" in (outcome.alert or "")


def test_network_policies_error_not_retried() -> None:
    arm = fake_arm()
    arm.inject_fault(
        "PUT",
        r"/privateEndpoints/pe-sa-queue\?",
        status=400,
        code="PrivateEndpointCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled",
        times=None,
    )
    creator = creator_for(arm, subnet_id=POLICY_SUBNET)
    with pytest.raises(ArmOperationError) as raised:
        creator.ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert arm.count("PUT", "privateEndpoints/pe-sa-queue") == 1
    assert "privateEndpointNetworkPolicies" in (raised.value.error.fix or "")


def test_network_policies_subnet_never_modified() -> None:
    arm = fake_arm()
    arm.inject_fault(
        "PUT",
        r"/privateEndpoints/",
        status=400,
        code="PrivateEndpointCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled",
        times=None,
    )
    subnet_before = arm.get(POLICY_SUBNET)
    records = remediate_storage(arm, creator_for(arm, subnet_id=POLICY_SUBNET))
    assert [r.result for r in records] == ["failed", "failed"]
    assert "Fix:" in records[0].details["detail"]
    assert not any("virtualNetworks" in write for write in writes(arm))
    assert arm.get(POLICY_SUBNET) == subnet_before


def test_linked_authorization_becomes_manual_request() -> None:
    arm = fake_arm()
    arm.inject_fault(
        "PUT", r"/privateEndpoints/pe-sa-queue\?", status=403, code="LinkedAuthorizationFailed"
    )
    outcome = creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    created = arm.get(endpoint_id("pe-sa-queue")) or {}
    assert outcome.status is OutcomeStatus.PENDING_APPROVAL
    assert outcome.alert is not None
    assert outcome.alert.startswith(f"approval needed by the owner of {STORAGE}")
    assert created["properties"]["manualPrivateLinkServiceConnections"][0]["properties"][
        "requestMessage"
    ]
    assert arm.count("PUT", r"privateEndpoints/pe-sa-queue\?") == 2


def test_repeated_authorization_failure_stops() -> None:
    arm = fake_arm()
    arm.inject_fault(
        "PUT",
        r"/privateEndpoints/pe-sa-queue\?",
        status=403,
        code="AuthorizationFailed",
        times=None,
    )
    with pytest.raises(ArmOperationError):
        creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert arm.count("PUT", r"privateEndpoints/pe-sa-queue\?") == 2


def test_unapprovable_subscription_requests_manually() -> None:
    arm = fake_arm()
    creator = creator_for(arm, manual_approval_subscriptions=frozenset({SUBSCRIPTION}))
    outcome = creator.ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert outcome.status is OutcomeStatus.PENDING_APPROVAL
    assert arm.count("PUT", r"privateEndpoints/pe-sa-queue\?") == 1


def test_operation_in_progress_retried_once() -> None:
    arm = fake_arm()
    conflict = {"code": "StorageAccountOperationInProgress", "message": "busy"}
    arm.set_operation_outcome("PUT", r"privateEndpoints/pe-sa-table$", error=conflict)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        # The storage account finishes its other operation while the remediator waits.
        waits.append(seconds)
        arm.set_operation_outcome("PUT", r"privateEndpoints/pe-sa-table$")

    creator = PrivateEndpointCreator(
        clients_for(arm),
        EndpointOptions(subnet_id=PE_SUBNET, dns_zone_scope=DNS_GROUP),
        retry=RetryPolicy(attempts=3, base_delay=0),
        sleep=wait,
    )
    requests = [EndpointRequest(STORAGE, group, WORKSPACE) for group in ("queue", "table")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(creator.ensure, requests))
    assert [o.status for o in outcomes] == [OutcomeStatus.CREATED, OutcomeStatus.CREATED]
    assert len(waits) == 1
    assert len(endpoints_for(arm, STORAGE, "table")) == 1
    assert len(endpoints_for(arm, STORAGE, "queue")) == 1


def test_operation_in_progress_gives_up_at_bound() -> None:
    arm = fake_arm()
    conflict = {"code": "StorageAccountOperationInProgress", "message": "busy"}
    arm.set_operation_outcome("PUT", r"privateEndpoints/pe-sa-table$", error=conflict)
    with pytest.raises(ArmOperationError) as raised:
        creator_for(arm).ensure(EndpointRequest(STORAGE, "table", WORKSPACE))
    assert raised.value.attempts == 3
    assert arm.count("PUT", r"privateEndpoints/pe-sa-table\?") == 3


def test_eight_concurrent_remediations_create_one_each() -> None:
    arm = fake_arm()
    arm.latency = 0.002
    creator = creator_for(arm)
    requests = [
        EndpointRequest(STORAGE, group, WORKSPACE) for _ in range(8) for group in ("queue", "table")
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(creator.ensure, requests))
    assert len(endpoints_for(arm, STORAGE, "queue")) == 1
    assert len(endpoints_for(arm, STORAGE, "table")) == 1
    assert arm.count("PUT", r"privateEndpoints/pe-sa-queue\?") == 1


def test_poll_without_status_reads_endpoint() -> None:
    arm = fake_arm()
    no_status = arm.inject_fault("GET", "operationStatuses", status=200, code="Unused")
    outcome = creator_for(arm).ensure(EndpointRequest(STORAGE, "queue", WORKSPACE))
    assert no_status.hits == 1
    assert outcome.status is OutcomeStatus.CREATED
    assert arm.count("PUT", r"privateEndpoints/pe-sa-queue\?") == 1


def test_dry_run_reads_only() -> None:
    arm = fake_arm()
    creator = creator_for(arm, dry_run=True)
    planned = plan_actions(storage_findings(arm), PlanSettings(mode="remediate", dry_run=True))
    records = execute(planned, {Action.CREATE_PRIVATE_ENDPOINT: creator.execute})
    assert [r.result for r in records] == ["would-change", "would-change"]
    assert writes(arm) == []


@pytest.mark.azurite
def test_workspace_lease_held_during_creation() -> None:
    clients = StorageClients.from_connection_string(require_azurite())
    locks = WorkspaceLocks(clients.blobs, container=f"leases{uuid.uuid4().hex[:12]}")
    held: list[str] = []

    @contextmanager
    def lease(workspace_id: str) -> Iterator[None]:
        with locks.workspace_lease(workspace_id, wait_seconds=30):
            held.append(workspace_id)
            yield

    arm = fake_arm()
    creator = PrivateEndpointCreator(
        clients_for(arm),
        EndpointOptions(subnet_id=PE_SUBNET, dns_zone_scope=DNS_GROUP),
        lease=lease,
    )
    requests = [EndpointRequest(STORAGE, group, WORKSPACE) for group in ("queue", "table")] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(creator.ensure, requests))
    assert held == [WORKSPACE] * 4
    assert len(endpoints_for(arm, STORAGE, "queue")) == 1
    assert len(endpoints_for(arm, STORAGE, "table")) == 1


class HeaderSpy(FakeArmTransport):
    """Record the correlation id header of every PUT on its way to the fake ARM."""

    def __init__(self, arm: FakeArm) -> None:
        super().__init__(arm)
        self.correlation_ids: list[str | None] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        if request.method == "PUT":
            self.correlation_ids.append(request.headers.get("x-ms-correlation-request-id"))
        return super().send(request, **kwargs)


def test_writes_send_the_audited_correlation_id() -> None:
    arm = fake_arm()
    spy = HeaderSpy(arm)
    clients = AzureClients(FakeCredential(), transport=spy, polling_interval=0)
    options = EndpointOptions(subnet_id=PE_SUBNET, dns_zone_scope=DNS_GROUP)
    outcome = PrivateEndpointCreator(clients, options).ensure(
        EndpointRequest(STORAGE, "queue", WORKSPACE)
    )
    assert outcome.correlation_id is not None
    assert spy.correlation_ids == [outcome.correlation_id, outcome.correlation_id]
