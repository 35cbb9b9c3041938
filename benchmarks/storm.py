"""An event storm through normalise, route and the coalescer, and the routing throughput.

The storm runs on Azurite when it accepts connections on 127.0.0.1, else on `MemoryTables`.
That in-memory table keeps the conditional writes the coalescer relies on: an insert fails on
an existing entity, and an update or delete with an ETag fails when the entity changed.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from benchmarks import estates
from demo import azurite
from remediators.estate.estate import Estate
from remediators.events import normalise
from remediators.routing import DependencyIndex, Router
from remediators.state.coalesce import Coalescer
from remediators.state.queues import EvaluationRequest

Json = dict[str, Any]
EVENTS = Path(__file__).parent / "events"
# Event Grid delivers at most this many events per HTTP request to a Functions trigger.
EVENTS_PER_DELIVERY = 10

# ------------------------------------------------------------------ in-memory table


class MemoryTable:
    """The `TableClient` calls the coalescer makes, kept in a dict with ETags."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[Json, str]] = {}
        self._lock = threading.Lock()

    def create_entity(self, entity: Json, **kwargs: Any) -> None:
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        with self._lock:
            if key in self._rows:
                raise ResourceExistsError("The specified entity already exists.")
            self._rows[key] = (dict(entity), uuid.uuid4().hex)

    def get_entity(self, partition_key: str, row_key: str, **kwargs: Any) -> TableEntity:
        with self._lock:
            found = self._rows.get((partition_key, row_key))
        if found is None:
            raise ResourceNotFoundError("The specified resource does not exist.")
        entity = TableEntity(**found[0])
        entity._metadata = {"etag": found[1], "timestamp": None}
        return entity

    def update_entity(
        self,
        entity: Json,
        mode: UpdateMode = UpdateMode.MERGE,
        *,
        etag: str | None = None,
        match_condition: MatchConditions | None = None,
        **kwargs: Any,
    ) -> None:
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        with self._lock:
            found = self._rows.get(key)
            if found is None:
                raise ResourceNotFoundError("The specified resource does not exist.")
            self._check(found[1], etag, match_condition)
            body = dict(entity) if mode == UpdateMode.REPLACE else {**found[0], **entity}
            self._rows[key] = (body, uuid.uuid4().hex)

    def delete_entity(
        self,
        partition_key: str,
        row_key: str,
        *,
        etag: str | None = None,
        match_condition: MatchConditions | None = None,
        **kwargs: Any,
    ) -> None:
        with self._lock:
            found = self._rows.get((partition_key, row_key))
            if found is None:
                return
            self._check(found[1], etag, match_condition)
            del self._rows[(partition_key, row_key)]

    @staticmethod
    def _check(current: str, etag: str | None, condition: MatchConditions | None) -> None:
        if condition == MatchConditions.IfNotModified and etag != current:
            raise ResourceModifiedError("The update condition specified in the request failed.")


class MemoryTables:
    """The `TableServiceClient` call the coalescer makes: one `MemoryTable` per name."""

    def __init__(self) -> None:
        self._tables: dict[str, MemoryTable] = {}
        self._lock = threading.Lock()

    def create_table_if_not_exists(self, name: str) -> MemoryTable:
        with self._lock:
            return self._tables.setdefault(name, MemoryTable())


class CountingQueue:
    """An evaluation queue that counts what the coalescer sends, for the in-memory run."""

    def __init__(self) -> None:
        self.sent: list[EvaluationRequest] = []
        self._lock = threading.Lock()

    def enqueue(self, request: EvaluationRequest, *, visibility_timeout: int = 0) -> str:
        with self._lock:
            self.sent.append(request)
            return str(len(self.sent))


# ------------------------------------------------------------------ events


def _template(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def storm_events(workspace_index: int, count: int) -> list[Json]:
    """`count` change events touching one workspace and its dependencies, in both schemas.

    They cycle over the workspace, a cluster, an endpoint, a deployment, the storage
    account, the registry, a private endpoint and its zone group, the NSG and the subnet,
    as a deployment or a policy remediation of one workspace produces.
    """
    ids = estates.WorkspaceIds(workspace_index)
    targets = [
        ids.workspace,
        f"{ids.workspace}/computes/{estates.CLUSTERS[0]}",
        f"{ids.workspace}/batchEndpoints/{estates.ENDPOINTS[0]}",
        f"{ids.workspace}/batchEndpoints/{estates.ENDPOINTS[0]}/deployments/blue",
        ids.storage,
        ids.registry,
        ids.private_endpoint("blob"),
        f"{ids.private_endpoint('blob')}/privateDnsZoneGroups/default",
        ids.nsg,
        ids.compute_subnet,
    ]
    grid = _template("docs_subscription_ResourceWriteSuccess_eventgrid_array.json")[0]
    cloud = _template("arn_resources_createdOrUpdated_storage_cloudevent.json")
    events = []
    for number in range(count):
        target = targets[number % len(targets)]
        if number % 2:
            events.append(_cloud_event(cloud, target, number))
        else:
            events.append(_grid_event(grid, target, number))
    return events


def _grid_event(template: Json, resource_id: str, number: int) -> Json:
    event = copy.deepcopy(template)
    event.update(
        id=str(uuid.UUID(int=number)),
        subject=resource_id,
        topic=f"/subscriptions/{estates.SUBSCRIPTION}",
        eventTime=datetime.now(UTC).isoformat(),
    )
    data = event["data"]
    data.update(
        resourceUri=resource_id,
        subscriptionId=estates.SUBSCRIPTION,
        correlationId=str(uuid.UUID(int=10_000 + number)),
    )
    data["authorization"]["scope"] = resource_id
    return event


def _cloud_event(template: Json, resource_id: str, number: int) -> Json:
    event = copy.deepcopy(template)
    event.update(
        id=str(uuid.UUID(int=20_000 + number)),
        source=f"/subscriptions/{estates.SUBSCRIPTION}",
        subject=resource_id,
        time=datetime.now(UTC).isoformat(),
    )
    info = event["data"]["resourceInfo"]
    info.update(id=resource_id, name=resource_id.rsplit("/", 1)[-1])
    return event


def deliveries(events: list[Json]) -> Iterator[list[Json]]:
    for start in range(0, len(events), EVENTS_PER_DELIVERY):
        yield events[start : start + EVENTS_PER_DELIVERY]


# ------------------------------------------------------------------ storm


@dataclass
class StormResult:
    events: int
    evaluations: int
    baseline_evaluations: int
    storage: str


def azurite_connection_string() -> str | None:
    """Return Azurite's connection string when its table and queue ports accept connections."""
    closed = {entry.split()[0] for entry in azurite.closed_ports()}
    if closed & {"table", "queue"}:
        return None
    return azurite.build_connection_string()


def _coalescer(window_seconds: int) -> tuple[Coalescer, Any, str]:
    """Return a coalescer on Azurite (fresh table and queue) or in memory, and what it uses."""
    connection = azurite_connection_string()
    if connection is None:
        queue = CountingQueue()
        coalescer = Coalescer(MemoryTables(), queue, window_seconds=window_seconds)  # type: ignore[arg-type]
        return coalescer, queue, "in-memory table (Azurite not reachable on 127.0.0.1)"
    from remediators.state import StorageClients
    from remediators.state.queues import EvaluationQueue

    clients = StorageClients.from_connection_string(connection)
    suffix = uuid.uuid4().hex[:12]
    evaluation_queue = EvaluationQueue(clients.queues, name=f"bench-storm-{suffix}")
    evaluation_queue.create_if_missing()
    coalescer = Coalescer(
        clients.tables,
        evaluation_queue,
        table_name=f"benchstorm{suffix}",
        window_seconds=window_seconds,
    )
    return coalescer, evaluation_queue, "Azurite (127.0.0.1)"


def run_storm(index: DependencyIndex, events: list[Json], *, instances: int = 4) -> StormResult:
    """Deliver `events` in batches from `instances` concurrent callers inside one window.

    Evaluations are the requests the coalescer enqueued. The baseline evaluates once per
    routed event: each event delivered alone, every route it yields one evaluation.
    """
    coalescer, queue, storage = _coalescer(window_seconds=300)
    router = Router(index)
    start = datetime.now(UTC)
    enqueued = 0
    lock = threading.Lock()

    def deliver(batch: list[Json]) -> None:
        nonlocal enqueued
        routing = router.route(normalise(batch))
        for route in routing.routes:
            result = coalescer.request(
                route.workspace_id,
                "; ".join(route.reasons),
                event_ids=route.event_ids,
                now=start + timedelta(seconds=1),
            )
            if result.enqueued:
                with lock:
                    enqueued += 1

    with ThreadPoolExecutor(max_workers=instances) as pool:
        for _ in pool.map(deliver, deliveries(events)):
            pass
    if isinstance(queue, CountingQueue) and len(queue.sent) != enqueued:
        raise RuntimeError("the in-memory queue and the coalescer disagree on what was sent")
    baseline = sum(len(router.route(normalise([event])).routes) for event in events)
    return StormResult(len(events), enqueued, baseline, storage)


# ------------------------------------------------------------------ throughput


def events_per_second(index: DependencyIndex, events: list[Json], *, seconds: float) -> float:
    """Events a second through normalise and route with a prebuilt dependency index."""
    router = Router(index)
    batches = list(deliveries(events))
    routed = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for batch in batches:
            router.route(normalise(batch))
            routed += len(batch)
        elapsed = time.perf_counter() - started
    return routed / elapsed


def baseline_events_per_second(estate: Estate, events: list[Json], *, seconds: float) -> float:
    """Measure the same without a cache, rebuilding the dependency index per event."""
    routed = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for event in events:
            Router(DependencyIndex.from_estate(estate)).route(normalise([event]))
            routed += 1
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                break
    return routed / elapsed
