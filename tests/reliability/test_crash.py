"""Crash consistency of private endpoint creation through the whole queued evaluator.

Storage account mlstore01 of workspace ws-a has blob and file private endpoints but lacks the
queue and table ones. The evaluator runs in remediate mode through the registered queue
function on Azurite and the fake ARM. Each case makes the process die at one point: right
after ARM applied one write or completed one long-running operation, or between two records
of the evaluator. The queue then delivers the message again until an evaluation takes no
more actions, and the fake's resources must equal those of a run that never crashed.

Batch endpoint recreation has its own crash test at every state of its state machine, in
tests/actions/test_recreation.py (`test_crash_then_rerun_ends_done`).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fake_arm import ARM_BASE, FakeArm, FakeResponse
from remediators import runtime
from remediators.actions.dns import zone_config_name, zone_group_body
from remediators.actions.private_endpoints import endpoint_body, endpoint_name
from remediators.estate.models import norm_id
from remediators.state import StorageClients
from remediators.state.audit import AuditRecord
from tests.actions.test_teams import Receiver, running_receiver
from tests.azurite import require_azurite
from tests.functions.estates import GROUP, PE_SUBNET, PROVIDERS, STORAGE, WS_A, build_estate
from tests.integration.conftest import App, add_private_dns_zones, batch_ready
from tests.pipeline.conftest import Received, make_settings, write_event

pytestmark = pytest.mark.azurite

API = "api-version=2023-09-01"
PRESENT_GROUPS = ("blob", "file")
MISSING_GROUPS = ("queue", "table")
STORAGE_GROUPS = PRESENT_GROUPS + MISSING_GROUPS
ZONE_GROUP = "privateDnsZoneGroups/default"
# A crashed message is delivered again at most this many times before the test gives up.
MAX_DELIVERIES = 5
# Results of action records that changed something in ARM.
WRITE_RESULTS = frozenset({"created", "updated", "pending-approval"})


class Crash(Exception):
    """The death of the evaluator's process at one point, raised once by a test hook.

    It derives from Exception because the SDK's poller thread hands only Exception subclasses
    on to the caller (azure-core `LROPoller._start`). No handler in the evaluator catches it.
    """


def endpoint_id(group: str) -> str:
    return f"{PROVIDERS}/Microsoft.Network/privateEndpoints/{endpoint_name('mlstore01', group)}"


def zone_id(group: str) -> str:
    return (
        f"{GROUP}/providers/Microsoft.Network/privateDnsZones/privatelink.{group}.core.windows.net"
    )


# Estate ------------------------------------------------------------------------------------


def build_arm() -> FakeArm:
    """Build the test estate with blob and file endpoints, each with its zone group."""
    arm = FakeArm(build_estate().resources())
    batch_ready(arm)
    add_private_dns_zones(arm)
    for group in PRESENT_GROUPS:
        put(arm, endpoint_id(group), present_endpoint(group))
        zone = zone_id(group)
        configs = {zone_config_name(zone.rsplit("/", 1)[-1]): zone}
        put(arm, f"{endpoint_id(group)}/{ZONE_GROUP}", zone_group_body(configs))
    arm.finish_operations()
    arm.clear_log()
    return arm


def present_endpoint(group: str) -> dict[str, Any]:
    return endpoint_body(
        location="eastus",
        subnet_id=PE_SUBNET,
        target_id=STORAGE,
        group_id=group,
        name=endpoint_name("mlstore01", group),
        manual=False,
    )


def put(arm: FakeArm, resource_id: str, body: dict[str, Any]) -> None:
    response = arm.handle("PUT", f"{ARM_BASE}{resource_id}?{API}", json.dumps(body).encode())
    assert response.status in (200, 201), response.body


# Crash points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmStep:
    """A crash right after ARM applied a write, or after the poll that ended its operation."""

    resource_id: str
    completion: bool

    def matches(self, arm: FakeArm, method: str, url: str, response: FakeResponse) -> bool:
        if not self.completion:
            path = url.split("?", 1)[0].removeprefix(ARM_BASE)
            return method == "PUT" and norm_id(path) == norm_id(self.resource_id)
        finished = isinstance(response.body, dict) and response.body.get("status") == "Succeeded"
        target = arm.operation_resource(url)
        return finished and target is not None and norm_id(target) == norm_id(self.resource_id)


@dataclass(frozen=True)
class ServiceStep:
    """A crash between two records of the evaluator: `after` names the one that was written."""

    after: str


CrashStep = ArmStep | ServiceStep


def arm_steps() -> dict[str, CrashStep]:
    steps: dict[str, CrashStep] = {}
    for group in MISSING_GROUPS:
        zone_group = f"{endpoint_id(group)}/{ZONE_GROUP}"
        steps[f"{group}-endpoint-put"] = ArmStep(endpoint_id(group), completion=False)
        steps[f"{group}-endpoint-done"] = ArmStep(endpoint_id(group), completion=True)
        steps[f"{group}-zone-group-put"] = ArmStep(zone_group, completion=False)
        steps[f"{group}-zone-group-done"] = ArmStep(zone_group, completion=True)
    return steps


CRASH_STEPS: dict[str, CrashStep] = {
    **arm_steps(),
    "findings-recorded": ServiceStep("findings"),
    "before-action-audit": ServiceStep("actions"),
}


class CrashOnce:
    """Raise `Crash` at the first request or record that matches the step, then never again."""

    def __init__(self, app: App, step: CrashStep) -> None:
        self.app = app
        self.step = step
        self.fired = False
        if isinstance(step, ArmStep):
            app.arm.after_request(self._after_request)
        elif step.after == "findings":
            self._wrap_findings()
        else:
            self._wrap_audit()

    def _fire(self, where: str) -> None:
        self.fired = True
        raise Crash(f"process died {where}")

    def _after_request(self, method: str, url: str, response: FakeResponse) -> None:
        step = self.step
        assert isinstance(step, ArmStep)
        if not self.fired and step.matches(self.app.arm, method, url, response):
            self._fire(f"after {method} {url} answered {response.status}")

    def _wrap_findings(self) -> None:
        findings = self.app.stores.findings
        record = findings.record_evaluation

        def record_then_crash(*args: Any, **kwargs: Any) -> Any:
            delta = record(*args, **kwargs)
            if not self.fired:
                self._fire("after the findings were recorded, before any action")
            return delta

        findings.record_evaluation = record_then_crash  # type: ignore[method-assign]

    def _wrap_audit(self) -> None:
        audit = self.app.stores.audit
        append = audit.append

        def crash_before_action(record: AuditRecord) -> Any:
            # The first result record: its action has changed ARM, the record is not stored.
            if record.kind == "action" and record.result != "started" and not self.fired:
                self._fire("after an action ran, before its result record")
            return append(record)

        audit.append = crash_before_action  # type: ignore[method-assign]


# Runs --------------------------------------------------------------------------------------


def install(arm: FakeArm, receiver: Receiver) -> App:
    clients = StorageClients.from_connection_string(require_azurite())
    settings = make_settings(mode="remediate")
    app = App(arm, clients, f"c{uuid.uuid4().hex[:12]}", settings, receiver)
    runtime.install(app.runtime)
    return app


def action_records(app: App) -> list[AuditRecord]:
    return [r for r in app.stores.audit.recent(WS_A, 1000) if r.kind == "action"]


def write_actions(app: App) -> int:
    return sum(1 for r in action_records(app) if r.result in WRITE_RESULTS)


@dataclass
class Delivery:
    """Runs of one queue message, delivered again after each crash as the host does."""

    app: App
    message: Received
    deliveries: int = 0

    def run(self) -> bool:
        """Run the message once; return whether the run crashed."""
        self.deliveries += 1
        delivered = Received(self.message.id, self.message.body, self.deliveries)
        try:
            self.app.run_queue_function(delivered)
        except Crash:
            # ARM goes on with an operation whose client died; the message becomes visible
            # again only after its visibility timeout, by which time the operation ended.
            self.app.arm.finish_operations()
            return True
        return False


def enqueue_evaluation(app: App) -> Delivery:
    app.deliver(write_event(WS_A))
    [message] = app.receive()
    return Delivery(app, message)


def run_until_quiet(delivery: Delivery) -> int:
    """Deliver the message until a run completes without any write; return the runs after
    the first one."""
    app = delivery.app
    while delivery.deliveries < MAX_DELIVERIES:
        before = write_actions(app)
        crashed = delivery.run()
        if not crashed and write_actions(app) == before:
            return delivery.deliveries - 1
    raise AssertionError(f"still acting after {MAX_DELIVERIES} deliveries of one message")


def normalised(arm: FakeArm) -> dict[str, Any]:
    """Return the fake's resources by lowercased id, without values ARM regenerates.

    Etags and systemData change on every write, and a target's connection names end in a
    random suffix. A connection is kept as its endpoint, groups and status.
    """
    resources: dict[str, Any] = {}
    for resource in arm.resources():
        kept = copy.deepcopy(resource)
        kept.pop("etag", None)
        kept.pop("systemData", None)
        properties = kept.get("properties") or {}
        connections = properties.get("privateEndpointConnections")
        if isinstance(connections, list):
            properties["privateEndpointConnections"] = sorted(
                json.dumps(connection_key(c), sort_keys=True) for c in connections
            )
        resources[norm_id(str(kept["id"]))] = kept
    return resources


def connection_key(connection: dict[str, Any]) -> dict[str, Any]:
    properties = connection.get("properties") or {}
    return {
        "endpoint": norm_id(str((properties.get("privateEndpoint") or {}).get("id"))),
        "groups": properties.get("groupIds"),
        "status": (properties.get("privateLinkServiceConnectionState") or {}).get("status"),
    }


def is_endpoint(resource: dict[str, Any]) -> bool:
    return str(resource.get("type")).lower() == "microsoft.network/privateendpoints"


def storage_endpoints(arm: FakeArm, group: str) -> list[dict[str, Any]]:
    """Return the private endpoints whose connection targets mlstore01 for `group`."""
    found = []
    for resource in arm.resources():
        if not is_endpoint(resource):
            continue
        for connection in resource["properties"].get("privateLinkServiceConnections") or []:
            properties = connection.get("properties") or {}
            target = str(properties.get("privateLinkServiceId"))
            if norm_id(target) == norm_id(STORAGE) and group in (properties.get("groupIds") or []):
                found.append(resource)
    return found


def zone_groups(arm: FakeArm, endpoint: str) -> list[dict[str, Any]]:
    prefix = norm_id(endpoint) + "/privatednszonegroups/"
    return [r for r in arm.resources() if norm_id(str(r["id"])).startswith(prefix)]


def zone_ids(group: dict[str, Any]) -> list[str]:
    configs = group["properties"].get("privateDnsZoneConfigs") or []
    return [norm_id(str(c["properties"]["privateDnsZoneId"])) for c in configs]


# Tests -------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def uninterrupted() -> Iterator[tuple[dict[str, Any], int]]:
    """The normalised resources after a run that never crashed, and its reruns."""
    with running_receiver() as receiver:
        app = install(build_arm(), receiver)
        try:
            reruns = run_until_quiet(enqueue_evaluation(app))
            yield normalised(app.arm), reruns
        finally:
            runtime.install(None)


@pytest.fixture
def crash_app(receiver: Receiver) -> Iterator[App]:
    yield install(build_arm(), receiver)
    runtime.install(None)


def test_uninterrupted_run_creates_missing(uninterrupted: tuple[dict[str, Any], int]) -> None:
    resources, reruns = uninterrupted

    for group in MISSING_GROUPS:
        assert norm_id(endpoint_id(group)) in resources, group
        assert norm_id(f"{endpoint_id(group)}/{ZONE_GROUP}") in resources, group
    assert reruns == 1


def test_crash_points_cover_every_write() -> None:
    arm_points = [s for s in CRASH_STEPS.values() if isinstance(s, ArmStep)]

    # Two groups, each with an endpoint PUT, its completion, a zone group PUT and its
    # completion.
    assert len(arm_points) == 2 * 4
    assert len(CRASH_STEPS) == 10


@pytest.mark.parametrize("step", list(CRASH_STEPS), ids=list(CRASH_STEPS))
def test_crash_then_redelivery_converges(
    crash_app: App,
    step: str,
    uninterrupted: tuple[dict[str, Any], int],
    tally: Counter[str],
) -> None:
    expected, _ = uninterrupted
    crash = CrashOnce(crash_app, CRASH_STEPS[step])
    delivery = enqueue_evaluation(crash_app)

    assert delivery.run() is True
    assert crash.fired
    reruns = run_until_quiet(delivery)

    tally["crash points: evaluator"] += 1
    tally[f"crash reruns needed: {reruns}"] += 1
    print(f"crash point {step}: {reruns} reruns")
    assert reruns <= 2
    assert normalised(crash_app.arm) == expected
    assert_storage_endpoints(crash_app.arm)


def assert_storage_endpoints(arm: FakeArm) -> None:
    names = [str(r["name"]) for r in arm.resources() if is_endpoint(r)]
    assert len(names) == len(set(names))
    for group in STORAGE_GROUPS:
        [endpoint] = storage_endpoints(arm, group)
        assert endpoint["name"] == endpoint_name("mlstore01", group)
        assert endpoint["properties"]["provisioningState"] == "Succeeded", group
        [zone_group] = zone_groups(arm, str(endpoint["id"]))
        assert zone_ids(zone_group) == [norm_id(zone_id(group))], group


def test_crash_leaves_no_stray_writes(crash_app: App) -> None:
    CrashOnce(crash_app, CRASH_STEPS["queue-endpoint-put"])
    delivery = enqueue_evaluation(crash_app)
    delivery.run()
    crash_app.arm.clear_log()

    run_until_quiet(delivery)

    puts = [r.url for r in crash_app.arm.requests if r.method == "PUT"]
    # The crashed endpoint gets only its zone group; the table endpoint is created once.
    assert not any("/privateEndpoints/pe-mlstore01-queue?" in url for url in puts)
    assert sum("pe-mlstore01-queue/privateDnsZoneGroups/" in url for url in puts) == 1
    assert sum("/privateEndpoints/pe-mlstore01-table?" in url for url in puts) == 1


def test_crash_after_findings_still_posts_digest(crash_app: App) -> None:
    CrashOnce(crash_app, CRASH_STEPS["findings-recorded"])
    delivery = enqueue_evaluation(crash_app)
    delivery.run()

    run_until_quiet(delivery)

    titles = [str(card["body"][0]["text"]) for card in crash_app.receiver.cards]
    assert sum("new in workspace ws-a" in title for title in titles) == 1


def test_crash_before_audit_keeps_action_records(crash_app: App) -> None:
    CrashOnce(crash_app, CRASH_STEPS["before-action-audit"])
    delivery = enqueue_evaluation(crash_app)
    delivery.run()

    run_until_quiet(delivery)

    records = [r for r in action_records(crash_app) if r.rule == "storage.private-endpoint"]
    for group in MISSING_GROUPS:
        of_group = [r for r in records if (r.details or {}).get("group_id") == group]
        # The action whose result record was lost still left its "started" record.
        assert any(r.result == "started" for r in of_group), group
    created = [r for r in records if r.result == "created"]
    # One endpoint was created before the crash (its result record lost), one on the rerun.
    assert len(created) == len(MISSING_GROUPS) - 1
