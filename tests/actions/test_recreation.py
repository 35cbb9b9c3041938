"""Batch endpoint recreation: payloads, the resumable state machine, crashes and retries."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from fake_arm import FakeArm
from remediators.actions.arm_errors import RetryPolicy
from remediators.actions.plan import OutcomeStatus, execute, plan_actions
from remediators.actions.recreation import (
    BlobRecreationStore,
    InMemoryRecreationStore,
    PayloadError,
    RecreationRecord,
    RecreationState,
    Recreator,
    SnapshotMismatch,
    build_payloads,
    differences,
    put_body,
    validate_endpoint_body,
)
from remediators.config import Settings
from remediators.findings import Action, make_finding
from remediators.state import StorageClients
from remediators.state.blobs import SnapshotStore
from tests.actions.fake_estate import GROUP, WORKSPACE, clients_for, workspace, writes
from tests.azurite import require_azurite

ENDPOINT = f"{WORKSPACE}/batchEndpoints/score"
COMPUTE = f"{WORKSPACE}/computes/cpu-cluster"
OLD = "2023-01-10T08:00:00.0000000Z"


def endpoint_payload() -> dict[str, Any]:
    return {
        "id": ENDPOINT,
        "name": "score",
        "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints",
        "location": "westeurope",
        "kind": "",
        "tags": {"team": "risk", "empty": ""},
        "identity": {"type": "SystemAssigned", "principalId": "p-1", "tenantId": "t-1"},
        "systemData": {"createdAt": OLD, "createdBy": "someone"},
        "properties": {
            "authMode": "AADToken",
            "description": "Scores loan applications.",
            "defaults": {"deploymentName": "blue"},
            "properties": {"owner": "risk"},
            "publicNetworkAccess": "Enabled",
            "provisioningState": "Succeeded",
            "scoringUri": "https://score.westeurope.inference.ml.azure.com/jobs",
            "swaggerUri": "https://score.westeurope.inference.ml.azure.com/swagger.json",
        },
    }


def deployment_payload(name: str) -> dict[str, Any]:
    return {
        "id": f"{ENDPOINT}/deployments/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments",
        "location": "westeurope",
        "tags": {"colour": name},
        "systemData": {"createdAt": OLD},
        "properties": {
            "compute": COMPUTE,
            "model": {"referenceType": "Id", "assetId": f"azureml:loan-model:{len(name)}"},
            "miniBatchSize": 10,
            "outputAction": "AppendRow",
            "provisioningState": "Succeeded",
        },
    }


def job(name: str, status: str) -> dict[str, Any]:
    return {
        "id": f"{WORKSPACE}/jobs/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/jobs",
        "properties": {
            "jobType": "Pipeline",
            "status": status,
            "properties": {"azureml.endpoint_name": "score"},
        },
    }


def recreation_arm(*extra: dict[str, Any]) -> FakeArm:
    resources = [
        workspace(),
        endpoint_payload(),
        deployment_payload("blue"),
        deployment_payload("green"),
        *extra,
    ]
    return FakeArm(resources, resource_groups=[GROUP])


def recreator_for(arm: FakeArm, store: Any = None, **options: Any) -> Recreator:
    defaults: dict[str, Any] = {
        "retry": RetryPolicy(attempts=1, base_delay=0),
        "sleep": lambda seconds: None,
        "job_wait_seconds": 0,
    }
    return Recreator(
        clients_for(arm), store or InMemoryRecreationStore(), **{**defaults, **options}
    )


def snapshot_of(arm: FakeArm) -> dict[str, Any]:
    return {
        "endpoint": arm.get(ENDPOINT),
        "deployments": [arm.get(f"{ENDPOINT}/deployments/{n}") for n in ("blue", "green")],
    }


def approved_run(recreator: Recreator) -> RecreationRecord:
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    recreator.approve(ENDPOINT, "owner@example.com")
    return recreator.run(ENDPOINT).record


# ---------------------------------------------------------------- payloads


def test_body_drops_server_set_fields() -> None:
    body = put_body(endpoint_payload())
    assert set(body) == {"location", "tags", "identity", "kind", "properties"}
    assert "provisioningState" not in body["properties"]
    assert "scoringUri" not in body["properties"]
    assert "swaggerUri" not in body["properties"]


def test_body_drops_empty_tags() -> None:
    assert put_body(endpoint_payload())["tags"] == {"team": "risk"}


def test_body_drops_network_keys() -> None:
    payload = endpoint_payload()
    payload["public_network_access"] = "disabled"
    payload["properties"]["egress_public_network_access"] = "disabled"
    body = put_body(payload)
    assert "public_network_access" not in body
    assert "egress_public_network_access" not in body["properties"]
    assert "publicNetworkAccess" not in body["properties"]


def test_body_drops_identity_principal() -> None:
    assert put_body(endpoint_payload())["identity"] == {"type": "SystemAssigned"}


def test_create_body_has_no_defaults() -> None:
    assert "defaults" not in put_body(endpoint_payload(), keep_defaults=False)["properties"]


def test_endpoint_without_auth_mode_rejected() -> None:
    body = put_body(endpoint_payload())
    del body["properties"]["authMode"]
    with pytest.raises(PayloadError, match="authMode"):
        validate_endpoint_body(body, ENDPOINT)


def test_network_key_rejected_by_validation() -> None:
    body = put_body(endpoint_payload())
    body["properties"]["public_network_access"] = "disabled"
    with pytest.raises(PayloadError, match="public_network_access"):
        validate_endpoint_body(body, ENDPOINT)


def test_missing_default_deployment_rejected() -> None:
    snapshot = {"endpoint": endpoint_payload(), "deployments": [deployment_payload("green")]}
    with pytest.raises(PayloadError, match="default deployment 'blue'"):
        build_payloads(snapshot)


def test_payloads_cover_every_deployment() -> None:
    snapshot = {
        "endpoint": endpoint_payload(),
        "deployments": [deployment_payload("blue"), deployment_payload("green")],
    }
    assert sorted(build_payloads(snapshot)["deployments"]) == ["blue", "green"]


def test_server_fields_make_no_difference() -> None:
    live = copy.deepcopy(endpoint_payload())
    live["etag"] = 'W/"new"'
    live["systemData"] = {"createdAt": "2026-12-04T00:00:00Z"}
    live["identity"]["principalId"] = "p-2"
    snapshot = {"endpoint": endpoint_payload(), "deployments": []}
    assert differences(snapshot, {"endpoint": live, "deployments": []}) == []


def test_changed_tag_is_a_difference() -> None:
    live = endpoint_payload()
    live["tags"]["team"] = "other"
    snapshot = {"endpoint": endpoint_payload(), "deployments": []}
    assert differences(snapshot, {"endpoint": live, "deployments": []}) == ["endpoint"]


# ---------------------------------------------------------------- requests and approval


def test_request_deduplicated_by_endpoint_id() -> None:
    recreator = recreator_for(recreation_arm())
    _, first = recreator.request(ENDPOINT, WORKSPACE, "stale")
    _, second = recreator.request(ENDPOINT.upper().replace("SUBSCRIPTIONS", "subscriptions"),
                                  WORKSPACE, "stale again")  # fmt: skip
    assert first is True
    assert second is False


def test_required_approval_waits() -> None:
    arm = recreation_arm()
    recreator = recreator_for(arm)
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    result = recreator.run(ENDPOINT)
    assert result.waiting is True
    assert result.record.state == "awaiting_approval"
    assert (result.alert or "").startswith("approval needed to recreate batch endpoint")
    assert arm.requests == []


def test_approved_recreation_matches_snapshot() -> None:
    arm = recreation_arm()
    before = snapshot_of(arm)
    record = approved_run(recreator_for(arm))
    after = snapshot_of(arm)
    assert record.state == "done"
    assert differences(before, after) == []
    assert after["endpoint"]["systemData"]["createdAt"] != OLD


def test_recreation_restores_default_deployment() -> None:
    arm = recreation_arm()
    approved_run(recreator_for(arm))
    endpoint = arm.get(ENDPOINT) or {}
    assert endpoint["properties"]["defaults"] == {"deploymentName": "blue"}


def test_recreation_keeps_auth_mode_and_tags() -> None:
    arm = recreation_arm()
    approved_run(recreator_for(arm))
    endpoint = arm.get(ENDPOINT) or {}
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["tags"] == {"team": "risk"}
    assert "publicNetworkAccess" not in endpoint["properties"]


def test_auto_approval_runs_to_done() -> None:
    recreator = recreator_for(recreation_arm(), approval="auto")
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    assert recreator.run(ENDPOINT).record.state == "done"


def test_snapshot_saved_before_any_delete() -> None:
    arm = recreation_arm()
    store = InMemoryRecreationStore()
    record = approved_run(recreator_for(arm, store))
    snapshot = store.load_snapshot(ENDPOINT) or {}
    assert record.snapshot_location == f"memory://recreation/{ENDPOINT.lower()}"
    assert snapshot["endpoint"]["systemData"]["createdAt"] == OLD
    assert [d["name"] for d in snapshot["deployments"]] == ["blue", "green"]


def test_running_job_delays_deletes() -> None:
    arm = recreation_arm(job("job-1", "Running"))
    recreator = recreator_for(arm)
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    recreator.approve(ENDPOINT, "owner")
    result = recreator.run(ENDPOINT)
    assert result.waiting is True
    assert result.record.state == "payloads_validated"
    assert "job-1" in (result.alert or "")
    assert not any(w.startswith("DELETE") for w in writes(arm))


def test_finished_job_lets_recreation_continue() -> None:
    arm = recreation_arm(job("job-1", "Running"))
    recreator = recreator_for(arm)
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    recreator.approve(ENDPOINT, "owner")
    recreator.run(ENDPOINT)
    arm.add(job("job-1", "Completed"))
    assert recreator.run(ENDPOINT).record.state == "done"


def test_other_endpoint_jobs_do_not_block() -> None:
    other = job("job-2", "Running")
    other["properties"]["properties"] = {"azureml.endpoint_name": "another"}
    recreator = recreator_for(recreation_arm(other), approval="auto")
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    assert recreator.run(ENDPOINT).record.state == "done"


def test_unreadable_snapshot_deletes_nothing() -> None:
    class CorruptingStore(InMemoryRecreationStore):
        def load_snapshot(self, endpoint_id: str) -> dict[str, Any] | None:
            loaded = super().load_snapshot(endpoint_id)
            return {**loaded, "deployments": []} if loaded else None

    arm = recreation_arm()
    recreator = recreator_for(arm, CorruptingStore(), max_attempts=1)
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    recreator.approve(ENDPOINT, "owner")
    result = recreator.run(ENDPOINT)
    assert result.record.state == "failed"
    assert SnapshotMismatch.__name__ in (result.record.error or "")
    assert writes(arm) == []


def test_gives_up_with_snapshot_location() -> None:
    arm = recreation_arm()
    arm.inject_fault("PUT", r"/batchEndpoints/score\?", status=500, times=None)
    recreator = recreator_for(arm, max_attempts=3)
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    recreator.approve(ENDPOINT, "owner")
    for _ in range(2):
        with pytest.raises(Exception, match="InternalServerError"):
            recreator.run(ENDPOINT)
    result = recreator.run(ENDPOINT)
    assert result.record.state == "failed"
    assert result.record.attempts == 3
    assert f"memory://recreation/{ENDPOINT.lower()}" in (result.alert or "")


def test_failed_request_stays_failed() -> None:
    arm = recreation_arm()
    arm.inject_fault("PUT", r"/batchEndpoints/score\?", status=500, times=None)
    recreator = recreator_for(arm, max_attempts=1)
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    recreator.approve(ENDPOINT, "owner")
    recreator.run(ENDPOINT)
    arm.clear_log()
    assert recreator.run(ENDPOINT).record.state == "failed"
    assert arm.requests == []


# ---------------------------------------------------------------- crashes and reruns


class Crash(RuntimeError):
    """The process died."""


class CrashingStore(InMemoryRecreationStore):
    """Crash once on the save that enters `state`, before or after it is persisted."""

    def __init__(self, state: str, after_save: bool) -> None:
        super().__init__()
        self.state = state
        self.after_save = after_save
        self.crashed = False

    def save(self, record: RecreationRecord) -> None:
        crash = not self.crashed and record.state == self.state
        if crash and not self.after_save:
            self.crashed = True
            raise Crash(f"crash before saving {record.state}")
        super().save(record)
        if crash:
            self.crashed = True
            raise Crash(f"crash after saving {record.state}")


STEPS = [
    s.value for s in RecreationState if s not in (RecreationState.FAILED, RecreationState.REJECTED)
]


@pytest.mark.parametrize("after_save", [False, True], ids=["before-save", "after-save"])
@pytest.mark.parametrize("state", STEPS)
def test_crash_then_rerun_ends_done(state: str, after_save: bool) -> None:
    arm = recreation_arm()
    before = snapshot_of(arm)
    store = CrashingStore(state, after_save)
    recreator = recreator_for(arm, store, approval="auto")
    with pytest.raises(Crash):
        recreator.request(ENDPOINT, WORKSPACE, "stale")
        recreator.run(ENDPOINT)
    if store.load(ENDPOINT) is None:
        recreator.request(ENDPOINT, WORKSPACE, "stale")
    rerun = recreator_for(arm, store, approval="auto").run(ENDPOINT)
    after = snapshot_of(arm)
    assert store.crashed is True
    assert rerun.record.state == "done"
    assert differences(before, after) == []
    assert after["endpoint"]["properties"]["defaults"] == {"deploymentName": "blue"}


def test_rejected_request_is_not_run() -> None:
    arm = recreation_arm()
    store = InMemoryRecreationStore()
    recreator = recreator_for(arm, store, approval="auto")
    record, _ = recreator.request(ENDPOINT, WORKSPACE, "stale")
    record.state = RecreationState.REJECTED.value
    store.save(record)
    arm.clear_log()

    result = recreator.run(ENDPOINT)

    assert result.record.state == "rejected"
    assert arm.count() == 0


# ---------------------------------------------------------------- planning


def stale_finding() -> Any:
    return make_finding("endpoint.stale-network", ENDPOINT, WORKSPACE, "created before private")


def test_planned_recreation_is_queued_with_alert() -> None:
    recreator = recreator_for(recreation_arm())
    planned = plan_actions([stale_finding()], Settings(mode="remediate"))
    records = execute(planned, {Action.QUEUE_RECREATION: recreator.execute})
    assert records[0].result == OutcomeStatus.QUEUED.value
    assert "approval needed" in records[0].details["alert"]


def test_planned_recreation_twice_queues_once() -> None:
    store = InMemoryRecreationStore()
    recreator = recreator_for(recreation_arm(), store)
    planned = plan_actions([stale_finding()], Settings(mode="remediate"))
    execute(planned, {Action.QUEUE_RECREATION: recreator.execute})
    records = execute(planned, {Action.QUEUE_RECREATION: recreator.execute})
    assert records[0].result == OutcomeStatus.ALREADY_DONE.value
    assert len(store.records) == 1


def test_dry_run_queues_nothing() -> None:
    arm = recreation_arm()
    store = InMemoryRecreationStore()
    recreator = recreator_for(arm, store, dry_run=True)
    planned = plan_actions([stale_finding()], Settings(mode="remediate", dry_run=True))
    records = execute(planned, {Action.QUEUE_RECREATION: recreator.execute})
    assert records[0].result == "would-change"
    assert store.records == {}
    assert writes(arm) == []


# ---------------------------------------------------------------- blob snapshot store


@pytest.fixture
def blob_store() -> BlobRecreationStore:
    clients = StorageClients.from_connection_string(require_azurite())
    container = f"recreation{uuid.uuid4().hex[:12]}"
    return BlobRecreationStore(
        SnapshotStore(clients.blobs, container=container), container=container
    )


@pytest.mark.azurite
def test_blob_store_runs_to_done(blob_store: BlobRecreationStore) -> None:
    arm = recreation_arm()
    before = snapshot_of(arm)
    record = approved_run(recreator_for(arm, blob_store))
    assert record.state == "done"
    assert differences(before, snapshot_of(arm)) == []


@pytest.mark.azurite
def test_blob_store_keeps_snapshot(blob_store: BlobRecreationStore) -> None:
    arm = recreation_arm()
    record = approved_run(recreator_for(arm, blob_store))
    snapshot = blob_store.load_snapshot(ENDPOINT) or {}
    assert (record.snapshot_location or "").startswith(f"{blob_store.container}/recreation/")
    assert snapshot["endpoint"]["systemData"]["createdAt"] == OLD


@pytest.mark.azurite
def test_blob_store_resumes_after_crash(blob_store: BlobRecreationStore) -> None:
    class CrashOnce:
        """Crash the first save that enters endpoint_deleted, then save normally."""

        def __init__(self, inner: BlobRecreationStore) -> None:
            self.inner = inner
            self.crashed = False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def save(self, record: RecreationRecord) -> None:
            if not self.crashed and record.state == "endpoint_deleted":
                self.crashed = True
                raise Crash("crash before saving endpoint_deleted")
            self.inner.save(record)

    arm = recreation_arm()
    before = snapshot_of(arm)
    crashing = CrashOnce(blob_store)
    recreator = recreator_for(arm, crashing, approval="auto")
    recreator.request(ENDPOINT, WORKSPACE, "stale")
    with pytest.raises(Crash):
        recreator.run(ENDPOINT)
    assert (
        blob_store.load(ENDPOINT) or RecreationRecord("", "", "")
    ).state == "deployments_deleted"
    assert recreator_for(arm, blob_store).run(ENDPOINT).record.state == "done"
    assert differences(before, snapshot_of(arm)) == []
