"""Concurrent remediation of one workspace, and concurrent approvals of one recreation request.

Eight evaluators, each with its own evaluation service and stores over the same Azurite
account and the same fake ARM, take the same queued request for workspace ws-a at once in
remediate mode. The workspace lacks its storage and key vault private endpoints and its
batch endpoint is stale, and the Teams channel is a receiver on 127.0.0.1. The workspace
blob lease must let one evaluator act and make the others requeue.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from fake_arm import FakeArm
from remediators import runtime
from remediators.actions.executors import request_id_of
from remediators.actions.private_endpoints import endpoint_name
from remediators.config import Settings
from remediators.estate.models import norm_id
from remediators.service import EvaluationOutcome, Status, service_for
from remediators.state import StorageClients
from tests.actions.test_teams import Receiver, running_receiver
from tests.azurite import require_azurite
from tests.functions.estates import ENDPOINT, STORAGE, VAULT, WS_A, build_estate
from tests.integration.conftest import App, add_private_dns_zones, batch_ready
from tests.pipeline.conftest import make_settings, write_event
from tests.pipeline.test_evaluator import date_endpoint, make_private

pytestmark = pytest.mark.azurite

WORKERS = 8
STORAGE_GROUPS = ("blob", "file", "queue", "table")
REQUEST_ID = request_id_of(ENDPOINT)
DECISION = {"by": "owner@example.com", "reason": "maintenance window"}
# Recorded before the concurrent evaluations: ws-a was public then, and its batch endpoint
# (created in 2023) predates the switch to private that the evaluations observe.
PUBLIC_AT = datetime(2024, 1, 1, tzinfo=UTC)

T = TypeVar("T")


def at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(0)` to `work(count - 1)` in threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def build_arm() -> FakeArm:
    arm = FakeArm(build_estate().resources())
    batch_ready(arm)
    add_private_dns_zones(arm)
    return arm


def build_apps(arm: FakeArm, receiver: Receiver, count: int) -> list[App]:
    """Build `count` apps over one storage namespace, one fake ARM and one receiver."""
    namespace = f"k{uuid.uuid4().hex[:12]}"
    settings: Settings = make_settings(mode="remediate")
    apps = []
    for _ in range(count):
        clients = StorageClients.from_connection_string(require_azurite())
        apps.append(App(arm, clients, namespace, settings, receiver))
    return apps


def endpoints_for(arm: FakeArm, target: str, group: str) -> list[str]:
    """Return the names of the private endpoints that connect to `target` for `group`."""
    names = []
    for resource in arm.resources():
        if str(resource.get("type")).lower() != "microsoft.network/privateendpoints":
            continue
        for connection in resource["properties"].get("privateLinkServiceConnections") or []:
            properties = connection.get("properties") or {}
            linked = norm_id(str(properties.get("privateLinkServiceId"))) == norm_id(target)
            if linked and group in (properties.get("groupIds") or []):
                names.append(str(resource["name"]))
    return names


def digest_titles(receiver: Receiver) -> list[str]:
    titles = [str(card["body"][0]["text"]) for card in receiver.cards]
    return [title for title in titles if "in workspace ws-a" in title]


class Round:
    """The outcome of the eight concurrent evaluations, and what they left behind."""

    def __init__(self, apps: list[App], outcomes: list[EvaluationOutcome], posts: int) -> None:
        self.apps = apps
        self.outcomes = outcomes
        self.posts = posts

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def concurrent_round(receiver: Receiver, tally: Counter[str]) -> Iterator[Round]:
    arm = build_arm()
    apps = build_apps(arm, receiver, WORKERS)
    first = apps[0]
    runtime.install(first.runtime)
    date_endpoint(first, "2023-06-01T00:00:00Z")
    first.stores.history.record(WS_A, False, PUBLIC_AT)
    make_private(first)
    first.deliver(write_event(WS_A))
    [message] = first.receive()

    def evaluate(index: int) -> EvaluationOutcome:
        service = service_for(apps[index].runtime)
        return service.handle_message(message.body, message_id=message.id, dequeue_count=1)

    outcomes = at_once(WORKERS, evaluate)
    found = Round(apps, outcomes, len(receiver.bodies))
    tally["concurrency: evaluators"] += WORKERS
    tally["concurrency: evaluators ran"] += found.count(Status.COMPLETED)
    tally["concurrency: evaluators requeued"] += found.count(Status.REQUEUED)
    print(
        f"{WORKERS} evaluators: {found.count(Status.COMPLETED)} ran, "
        f"{found.count(Status.REQUEUED)} requeued, {found.posts} cards posted"
    )
    yield found
    runtime.install(None)


def test_every_evaluator_ran_or_requeued(concurrent_round: Round) -> None:
    ran = concurrent_round.count(Status.COMPLETED)
    requeued = concurrent_round.count(Status.REQUEUED)

    assert ran >= 1
    assert ran + requeued == WORKERS


def test_requeued_evaluators_queued_again(concurrent_round: Round) -> None:
    first = concurrent_round.apps[0]
    requeued = concurrent_round.count(Status.REQUEUED)

    assert len(first.receive()) == requeued


def test_one_endpoint_per_group(concurrent_round: Round) -> None:
    arm = concurrent_round.apps[0].arm

    for group in STORAGE_GROUPS:
        assert endpoints_for(arm, STORAGE, group) == [endpoint_name("mlstore01", group)], group
    assert endpoints_for(arm, VAULT, "vault") == [endpoint_name("mlkv01", "vault")]


def test_one_put_per_endpoint(concurrent_round: Round) -> None:
    arm = concurrent_round.apps[0].arm

    for group in STORAGE_GROUPS:
        name = endpoint_name("mlstore01", group)
        assert arm.count("PUT", rf"/privateEndpoints/{name}\?") == 1, group


def test_one_recreation_request(concurrent_round: Round) -> None:
    first = concurrent_round.apps[0]
    assert first.runtime.recreations is not None

    requests = first.runtime.recreations.list()

    assert [record.endpoint_id for record in requests] == [ENDPOINT]
    assert len(first.receive_recreations()) == 1


def test_one_digest_posted(concurrent_round: Round) -> None:
    receiver = concurrent_round.apps[0].receiver

    assert concurrent_round.posts == 1
    assert len(digest_titles(receiver)) == 1
    assert "new in workspace ws-a" in digest_titles(receiver)[0]


def test_requeued_runs_change_nothing(concurrent_round: Round) -> None:
    first = concurrent_round.apps[0]
    first.arm.clear_log()

    first.drain()

    assert first.arm.count("PUT", r"/privateEndpoints/") == 0
    assert first.runtime.recreations is not None
    assert len(first.runtime.recreations.list()) == 1


# Approvals ---------------------------------------------------------------------------------


def approve(app: App) -> Any:
    path = f"recreations/{REQUEST_ID}/approve"
    return app.http("approve_recreation", "POST", path, DECISION, id=REQUEST_ID)


def test_concurrent_approvals_one_wins(concurrent_round: Round, tally: Counter[str]) -> None:
    first = concurrent_round.apps[0]
    assert first.drain_recreations() == 1

    responses = at_once(WORKERS, lambda index: approve(first))
    statuses = sorted(response.status_code for response in responses)

    tally["concurrency: approvals"] += WORKERS
    print(f"{WORKERS} approvals: {statuses.count(200)} returned 200, {statuses.count(409)} 409")
    assert statuses == [200] + [409] * (WORKERS - 1)


def test_concurrent_approvals_audited_once(concurrent_round: Round) -> None:
    first = concurrent_round.apps[0]
    first.drain_recreations()

    at_once(WORKERS, lambda index: approve(first))

    decisions = [r for r in first.stores.audit.recent(WS_A, 500) if r.kind == "recreation-decision"]
    assert len(decisions) == 1
    assert len(first.receive_recreations()) == 1


def test_conflict_names_the_winner(concurrent_round: Round) -> None:
    first = concurrent_round.apps[0]
    first.drain_recreations()

    responses = at_once(WORKERS, lambda index: approve(first))

    conflicts = [json.loads(r.get_body()) for r in responses if r.status_code == 409]
    assert conflicts
    for conflict in conflicts:
        assert conflict["recreation"]["approved_by"] == "owner@example.com"
