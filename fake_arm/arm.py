"""An in-memory Azure Resource Manager with the ARM behaviour our SDK clients depend on.

`FakeArm` stores resources by lowercased id and answers ARM REST requests: GET, PUT, PATCH
and DELETE of resources, lists at subscription, resource group and parent scope with
`nextLink` paging, long-running operations through `Azure-AsyncOperation`, the Resource
Graph query endpoint, and private endpoint side effects on their targets. Tests reach it
through `FakeArmTransport`, so the real SDK serialisation, retries and polling run.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fake_arm.control import (
    Fault,
    OperationOutcome,
    RaiseKind,
    RequestRecord,
    critical_path,
)
from fake_arm.graph import UnsupportedQuery, run_query
from fake_arm.ids import ArmPath, norm, parent_of, parse_path, type_of_id

ARM_HOST = "management.azure.com"
ARM_BASE = f"https://{ARM_HOST}"

# Resource types whose PUT and DELETE the fake answers as long-running operations.
DEFAULT_LONG_RUNNING_TYPES = frozenset(
    {
        "microsoft.network/privateendpoints",
        "microsoft.network/privateendpoints/privatednszonegroups",
        "microsoft.machinelearningservices/workspaces/batchendpoints",
        "microsoft.machinelearningservices/workspaces/batchendpoints/deployments",
        "microsoft.machinelearningservices/workspaces/computes",
    }
)

VIRTUAL_NETWORK = "microsoft.network/virtualnetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
PRIVATE_ENDPOINT = "microsoft.network/privateendpoints"
RESOURCE_CHANGE = "microsoft.resources/changes"
GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
_OPERATION = re.compile(
    r"^/subscriptions/[^/]+/providers/[^/]+/locations/[^/]+/(operationStatuses|operationResults)/"
    r"([^/]+)$",
    re.IGNORECASE,
)


class InjectedConnectionError(Exception):
    """Marker for a fault that should surface as a transport error, not an HTTP answer."""

    def __init__(self, kind: RaiseKind, url: str) -> None:
        super().__init__(f"injected {kind} error for {url}")
        self.kind = kind
        self.url = url


@dataclass
class FakeResponse:
    """The status, headers and JSON body (None for no content) the fake answers with."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class _Operation:
    id: str
    method: str
    resource_id: str
    polls: int
    error: dict[str, Any] | None
    seen: int = 0
    status: str = "InProgress"
    started_at: str = ""
    ended_at: str | None = None


def arm_error(status: int, code: str, message: str, **headers: str) -> FakeResponse:
    return FakeResponse(status, {"error": {"code": code, "message": message}}, dict(headers))


def load_resources(data: Any) -> list[dict[str, Any]]:
    """Return the resource list of an estate file: a list, or an object with `resources`,
    `value` or `data`."""
    if isinstance(data, list):
        return [dict(r) for r in data]
    if isinstance(data, Mapping):
        for key in ("resources", "value", "data"):
            if isinstance(data.get(key), list):
                return [dict(r) for r in data[key]]
    raise ValueError(
        "an estate must be a JSON list of ARM resources or an object with that list under "
        "'resources', 'value' or 'data'"
    )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `patch` into `target` the way ARM PATCH does: objects merge, the rest replaces."""
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _properties(payload: dict[str, Any]) -> dict[str, Any]:
    props = payload.get("properties")
    if not isinstance(props, dict):
        props = {}
        payload["properties"] = props
    return props


class FakeArm:
    """In-memory ARM state plus the controls tests use: faults, latency, outcomes and a log.

    Every public method is thread-safe: SDK clients may call the fake from several threads.
    """

    def __init__(
        self,
        resources: Iterable[Mapping[str, Any]] = (),
        *,
        page_size: int = 100,
        latency: float = 0.0,
        lro_polls: int = 1,
        long_running_types: Iterable[str] = DEFAULT_LONG_RUNNING_TYPES,
        resource_groups: Iterable[str] = (),
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        self.page_size = page_size
        # Seconds every request waits before it is answered, to model ARM round trips.
        self.latency = latency
        self.lro_polls = lro_polls
        self.long_running_types = {t.lower() for t in long_running_types}
        self.clock = clock
        self.requests: list[RequestRecord] = []
        # Every duration the SDK pipeline asked the transport to sleep (retries, polling).
        self.sleeps: list[float] = []
        self._lock = threading.RLock()
        self._store: dict[str, dict[str, Any]] = {}
        self._changes: list[dict[str, Any]] = []
        self._groups: dict[str, str] = {}
        self._subscriptions: set[str] = set()
        self._faults: list[Fault] = []
        self._outcomes: list[OperationOutcome] = []
        self._operations: dict[str, _Operation] = {}
        self._hooks: list[Callable[[str, str, FakeResponse], None]] = []
        for group in resource_groups:
            self.add_resource_group(group)
        for payload in resources:
            self.add(payload)

    # Seeding and inspection ------------------------------------------------------------

    @classmethod
    def from_estate(cls, data: Any, **options: Any) -> FakeArm:
        """Build a fake seeded from parsed estate file JSON."""
        return cls(load_resources(data), **options)

    def add_resource_group(self, resource_group_id: str) -> None:
        parsed = parse_path(resource_group_id)
        if not parsed.subscription or not parsed.resource_group:
            raise ValueError(
                f"{resource_group_id!r} is not a resource group id; expected "
                "/subscriptions/<id>/resourceGroups/<name>"
            )
        group_id = f"/subscriptions/{parsed.subscription}/resourceGroups/{parsed.resource_group}"
        with self._lock:
            self._subscriptions.add(parsed.subscription.lower())
            self._groups.setdefault(norm(group_id), group_id)

    def add(self, payload: Mapping[str, Any]) -> None:
        """Store one ARM resource as given (seeding writes no systemData or etag)."""
        resource = copy.deepcopy(dict(payload))
        kind = str(resource.get("type") or "").lower()
        with self._lock:
            if kind == RESOURCE_CHANGE:
                self._changes.append(resource)
                return
            resource_id = str(resource.get("id") or "")
            parsed = parse_path(resource_id)
            if parsed.resource_id is None:
                raise ValueError(f"cannot seed {resource_id!r}: it is not an ARM resource id")
            if parsed.resource_group:
                self.add_resource_group(parsed.path.split("/providers/", 1)[0])
            elif parsed.subscription:
                self._subscriptions.add(parsed.subscription.lower())
            self._put_raw(resource)

    def get(self, resource_id: str) -> dict[str, Any] | None:
        """Return a copy of a stored resource as GET would return it, or None."""
        with self._lock:
            stored = self._store.get(norm(resource_id))
            return self._compose(stored) if stored else None

    def resources(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._compose(r) for r in self._store.values()]

    # Test controls ---------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        url_pattern: str,
        *,
        status: int = 500,
        code: str = "InternalServerError",
        message: str = "Injected failure.",
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        raise_error: RaiseKind | None = None,
    ) -> Fault:
        """Fail the next `times` requests whose method and URL (a regex search) match."""
        fault = Fault(
            method=method,
            url_pattern=re.compile(url_pattern, re.IGNORECASE),
            status=status,
            code=code,
            message=message,
            headers=dict(headers or {}),
            times=times,
            raise_error=raise_error,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def set_operation_outcome(
        self,
        method: str,
        url_pattern: str,
        *,
        polls: int = 1,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        """Make long-running operations of matching requests poll `polls` times, then end
        Succeeded, or Failed with `error` (`{"code": ..., "message": ...}`)."""
        outcome = OperationOutcome(
            method=method,
            url_pattern=re.compile(url_pattern, re.IGNORECASE),
            polls=polls,
            error=dict(error) if error else None,
        )
        with self._lock:
            self._outcomes.append(outcome)

    def after_request(self, hook: Callable[[str, str, FakeResponse], None]) -> None:
        """Call `hook(method, url, response)` after each request is applied and answered.

        The hook runs before the caller receives the answer, so an exception it raises
        reaches the caller in place of the answer. That models a client that dies after ARM
        applied its write. Hooks run in the calling thread, without the fake's lock.
        """
        with self._lock:
            self._hooks.append(hook)

    def operation_resource(self, url: str) -> str | None:
        """Return the resource id a long-running operation URL reports on, or None."""
        match = _OPERATION.match("/" + urlsplit(url).path.strip("/"))
        if match is None:
            return None
        with self._lock:
            operation = self._operations.get(match.group(2))
            return operation.resource_id if operation else None

    def finish_operations(self) -> int:
        """End every operation still in progress, as ARM does when no client polls it.

        Returns how many operations ended.
        """
        with self._lock:
            pending = [o for o in self._operations.values() if o.status == "InProgress"]
            for operation in pending:
                self._finish(operation)
            return len(pending)

    def count(self, method: str | None = None, url_pattern: str | None = None) -> int:
        """Count logged requests, optionally of one method and matching a URL regex."""
        with self._lock:
            records = list(self.requests)
        pattern = re.compile(url_pattern, re.IGNORECASE) if url_pattern else None
        return sum(
            1
            for r in records
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.search(r.url))
        )

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.sleeps.clear()

    def critical_path(self) -> int:
        """Return the number of sequential round trips in the request log."""
        with self._lock:
            return critical_path(list(self.requests))

    def record_sleep(self, duration: float) -> None:
        with self._lock:
            self.sleeps.append(duration)

    # Request handling ------------------------------------------------------------------

    def handle(self, method: str, url: str, body: bytes | None) -> FakeResponse:
        """Answer one request; raises `InjectedConnectionError` for transport faults."""
        method = method.upper()
        started = time.monotonic()
        if self.latency > 0:
            time.sleep(self.latency)
        status: int | None = None
        try:
            response = self._answer(method, url, body)
            status = response.status
            with self._lock:
                hooks = list(self._hooks)
            for hook in hooks:
                hook(method, url, response)
            return response
        finally:
            record = RequestRecord(method, url, status, started, time.monotonic())
            with self._lock:
                self.requests.append(record)

    def _answer(self, method: str, url: str, body: bytes | None) -> FakeResponse:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, url):
                    fault.hits += 1
                    if fault.raise_error:
                        raise InjectedConnectionError(fault.raise_error, url)
                    return arm_error(fault.status, fault.code, fault.message, **fault.headers)

            parts = urlsplit(url)
            query = {k.lower(): v for k, v in parse_qsl(parts.query)}
            if not query.get("api-version"):
                return arm_error(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            path = "/" + parts.path.strip("/")
            try:
                payload = json.loads(body) if body else None
            except ValueError:
                return arm_error(400, "InvalidRequestContent", "The request body is not JSON.")
            return self._dispatch(method, path, query, payload)

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], payload: Any
    ) -> FakeResponse:
        operation = _OPERATION.match(path)
        if operation and method == "GET":
            return self._operation(operation.group(1).lower(), operation.group(2))
        if path.lower() == GRAPH_PATH and method == "POST":
            return self._graph(payload if isinstance(payload, dict) else {}, query)

        parsed = parse_path(path)
        scope_error = self._check_scope(parsed)
        if scope_error:
            return scope_error
        if parsed.resource_id and method == "GET":
            return self._get(parsed)
        if parsed.resource_id and method == "PUT":
            return self._put(parsed, payload)
        if parsed.resource_id and method == "PATCH":
            return self._patch(parsed, payload)
        if parsed.resource_id and method == "DELETE":
            return self._delete(parsed)
        if parsed.is_collection and method == "GET":
            return self._list(parsed, query)
        return arm_error(
            400,
            "UnsupportedRequest",
            f"The fake ARM does not model {method} {path}; add it to fake_arm if a test needs it.",
        )

    def _check_scope(self, parsed: ArmPath) -> FakeResponse | None:
        if parsed.subscription and parsed.subscription.lower() not in self._subscriptions:
            return arm_error(
                404,
                "SubscriptionNotFound",
                f"The subscription '{parsed.subscription}' could not be found.",
            )
        if parsed.resource_group:
            group_id = (
                f"/subscriptions/{parsed.subscription}/resourceGroups/{parsed.resource_group}"
            )
            if norm(group_id) not in self._groups:
                return arm_error(
                    404,
                    "ResourceGroupNotFound",
                    f"Resource group '{parsed.resource_group}' could not be found.",
                )
        return None

    # Resources ---------------------------------------------------------------------------

    def _missing(self, parsed: ArmPath) -> FakeResponse:
        resource_id = str(parsed.resource_id)
        parent = parent_of(resource_id)
        if parse_path(parent).resource_id and norm(parent) not in self._store:
            return arm_error(
                404,
                "ParentResourceNotFound",
                "Can not perform requested operation on nested resource. Parent resource "
                f"'{parent.rsplit('/', 1)[-1]}' not found.",
            )
        return arm_error(
            404,
            "ResourceNotFound",
            f"The Resource '{parsed.resource_type}/{resource_id.rsplit('/', 1)[-1]}' under "
            f"resource group '{parsed.resource_group}' was not found.",
        )

    def _get(self, parsed: ArmPath) -> FakeResponse:
        stored = self._store.get(norm(str(parsed.resource_id)))
        if stored is None:
            return self._missing(parsed)
        return FakeResponse(200, self._compose(stored))

    def _put(self, parsed: ArmPath, payload: Any) -> FakeResponse:
        if not isinstance(payload, dict):
            return arm_error(400, "InvalidRequestContent", "A PUT needs a JSON object body.")
        resource_id = str(parsed.resource_id)
        parent = parent_of(resource_id)
        if parse_path(parent).resource_id and norm(parent) not in self._store:
            return self._missing(parsed)
        existing = self._store.get(norm(resource_id))
        now = self.clock()
        resource = copy.deepcopy(payload)
        resource["id"] = existing["id"] if existing else resource_id
        resource["name"] = resource_id.rsplit("/", 1)[-1]
        resource["type"] = existing["type"] if existing else parsed.resource_type
        system_data = dict(existing.get("systemData") or {}) if existing else {}
        system_data.setdefault("createdAt", now)
        system_data["lastModifiedAt"] = now
        resource["systemData"] = system_data
        resource["etag"] = f'W/"{uuid.uuid4()}"'
        long_running = str(parsed.resource_type).lower() in self.long_running_types
        if not long_running:
            state = "Succeeded"
        elif existing:
            state = "Updating"
        else:
            state = "Creating"
        _properties(resource)["provisioningState"] = state
        self._put_raw(resource)
        if str(parsed.resource_type).lower() == PRIVATE_ENDPOINT:
            self._connect_targets(resource)
        status = 200 if existing else 201
        if not long_running:
            return FakeResponse(status, self._compose(resource))
        operation = self._start_operation("PUT", resource["id"])
        headers = {"Azure-AsyncOperation": self._operation_url(operation, "operationStatuses")}
        return FakeResponse(201, self._compose(resource), headers)

    def _patch(self, parsed: ArmPath, payload: Any) -> FakeResponse:
        stored = self._store.get(norm(str(parsed.resource_id)))
        if stored is None:
            return self._missing(parsed)
        if not isinstance(payload, dict):
            return arm_error(400, "InvalidRequestContent", "A PATCH needs a JSON object body.")
        for key in ("id", "name", "type", "systemData", "etag"):
            payload.pop(key, None)
        _merge(stored, payload)
        _properties(stored)["provisioningState"] = "Succeeded"
        stored.setdefault("systemData", {})["lastModifiedAt"] = self.clock()
        stored["etag"] = f'W/"{uuid.uuid4()}"'
        if str(parsed.resource_type).lower() == VIRTUAL_NETWORK:
            self._put_raw(stored)
        return FakeResponse(200, self._compose(stored))

    def _delete(self, parsed: ArmPath) -> FakeResponse:
        resource_id = str(parsed.resource_id)
        stored = self._store.get(norm(resource_id))
        if stored is None:
            return FakeResponse(204)
        if str(parsed.resource_type).lower() not in self.long_running_types:
            self._remove(resource_id)
            return FakeResponse(200)
        _properties(stored)["provisioningState"] = "Deleting"
        operation = self._start_operation("DELETE", stored["id"])
        headers = {
            "Azure-AsyncOperation": self._operation_url(operation, "operationStatuses"),
            "Location": self._operation_url(operation, "operationResults"),
        }
        return FakeResponse(202, None, headers)

    def _list(self, parsed: ArmPath, query: dict[str, str]) -> FakeResponse:
        parent = str(parsed.parent)
        wanted = str(parsed.resource_type).lower()
        parent_path = parse_path(parent)
        if parent_path.resource_id and norm(parent) not in self._store:
            return arm_error(
                404,
                "ParentResourceNotFound",
                "Can not perform requested operation on nested resource. Parent resource "
                f"'{parent.rsplit('/', 1)[-1]}' not found.",
            )
        prefix = norm(parent) + "/"
        items = [
            r
            for key, r in self._store.items()
            if key.startswith(prefix) and str(type_of_id(key)).lower() == wanted
        ]
        if wanted.endswith("/privateendpointconnections") and parent_path.resource_id:
            items = self._with_embedded_connections(parent, items)
        offset = int(query.get("$skiptoken") or 0)
        page = items[offset : offset + self.page_size]
        body: dict[str, Any] = {"value": [self._compose(r) for r in page]}
        if offset + self.page_size < len(items):
            next_query = urlencode(
                {"api-version": query["api-version"], "$skiptoken": offset + self.page_size}
            )
            body["nextLink"] = f"{ARM_BASE}{parsed.path}?{next_query}"
        return FakeResponse(200, body)

    def _with_embedded_connections(
        self, parent: str, children: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        merged = {norm(str(c["id"])): c for c in children}
        target = self._store[norm(parent)]
        for item in _properties(copy.deepcopy(target)).get("privateEndpointConnections") or []:
            if isinstance(item, dict) and item.get("id") and norm(item["id"]) not in merged:
                merged[norm(item["id"])] = item
        return list(merged.values())

    # Storage details ---------------------------------------------------------------------

    def _put_raw(self, resource: dict[str, Any]) -> None:
        """Store `resource`, splitting a virtual network's embedded subnets into children."""
        resource_id = str(resource["id"])
        if str(type_of_id(resource_id)).lower() == VIRTUAL_NETWORK:
            props = _properties(resource)
            subnets = props.pop("subnets", None)
            if isinstance(subnets, list):
                for key in [
                    k for k in self._store if k.startswith(norm(resource_id) + "/subnets/")
                ]:
                    del self._store[key]
                for subnet in subnets:
                    if isinstance(subnet, dict) and subnet.get("name"):
                        child = copy.deepcopy(subnet)
                        child.setdefault("id", f"{resource_id}/subnets/{subnet['name']}")
                        child.setdefault("type", SUBNET_TYPE)
                        self._store[norm(child["id"])] = child
        self._store[norm(resource_id)] = resource

    def _compose(self, stored: dict[str, Any]) -> dict[str, Any]:
        """Return what GET shows: a copy with a virtual network's subnets and a target's
        private endpoint connections (stored as children) embedded, as ARM embeds them."""
        resource = copy.deepcopy(stored)
        resource_id = str(resource.get("id"))
        connection_prefix = norm(resource_id) + "/privateendpointconnections/"
        children = [
            r
            for k, r in self._store.items()
            if k.startswith(connection_prefix) and k.count("/") == connection_prefix.count("/")
        ]
        if children:
            embedded = _properties(resource).get("privateEndpointConnections") or []
            known = {norm(str(c.get("id"))) for c in children}
            kept = [
                c
                for c in embedded
                if not isinstance(c, dict) or norm(str(c.get("id"))) not in known
            ]
            _properties(resource)["privateEndpointConnections"] = kept + copy.deepcopy(children)
        if str(type_of_id(resource_id)).lower() == VIRTUAL_NETWORK:
            prefix = norm(resource_id) + "/subnets/"
            subnets = [
                copy.deepcopy(r)
                for k, r in self._store.items()
                if k.startswith(prefix) and k.count("/") == prefix.count("/")
            ]
            _properties(resource)["subnets"] = subnets
        return resource

    def _remove(self, resource_id: str) -> None:
        key = norm(resource_id)
        for child in [k for k in self._store if k == key or k.startswith(key + "/")]:
            removed = self._store.pop(child)
            if str(type_of_id(child)).lower() == PRIVATE_ENDPOINT:
                self._disconnect_targets(str(removed.get("id")))

    def _connect_targets(self, endpoint: dict[str, Any]) -> None:
        """Add or refresh the connection a private endpoint makes on each target in the store.

        `privateLinkServiceConnections` are approved at once, as for a caller allowed to
        approve; `manualPrivateLinkServiceConnections` stay Pending for the target's owner.
        """
        props = _properties(endpoint)
        for field_name, status in (
            ("privateLinkServiceConnections", "Approved"),
            ("manualPrivateLinkServiceConnections", "Pending"),
        ):
            for connection in props.get(field_name) or []:
                if not isinstance(connection, dict):
                    continue
                connection_props = connection.setdefault("properties", {})
                state = {
                    "status": status,
                    "description": "Auto-Approved" if status == "Approved" else "Awaiting approval",
                    "actionsRequired": "None",
                }
                connection_props["privateLinkServiceConnectionState"] = state
                target = self._store.get(norm(str(connection_props.get("privateLinkServiceId"))))
                if target is not None:
                    self._add_connection(target, endpoint, connection_props, state)

    def _add_connection(
        self,
        target: dict[str, Any],
        endpoint: dict[str, Any],
        connection_props: Mapping[str, Any],
        state: Mapping[str, str],
    ) -> None:
        target_props = _properties(target)
        existing = [
            c
            for c in target_props.get("privateEndpointConnections") or []
            if not _connection_from(c, str(endpoint["id"]))
        ]
        name = f"{endpoint['name']}.{uuid.uuid4()}"
        existing.append(
            {
                "id": f"{target['id']}/privateEndpointConnections/{name}",
                "name": name,
                "type": f"{target.get('type')}/privateEndpointConnections",
                "properties": {
                    "privateEndpoint": {"id": endpoint["id"]},
                    "groupIds": list(connection_props.get("groupIds") or []),
                    "privateLinkServiceConnectionState": dict(state),
                    "provisioningState": "Succeeded",
                },
            }
        )
        target_props["privateEndpointConnections"] = existing

    def _disconnect_targets(self, endpoint_id: str) -> None:
        for resource in self._store.values():
            connections = (resource.get("properties") or {}).get("privateEndpointConnections")
            if isinstance(connections, list) and any(
                _connection_from(c, endpoint_id) for c in connections
            ):
                resource["properties"]["privateEndpointConnections"] = [
                    c for c in connections if not _connection_from(c, endpoint_id)
                ]

    # Long-running operations -------------------------------------------------------------

    def _start_operation(self, method: str, resource_id: str) -> _Operation:
        polls, error = self.lro_polls, None
        url = ARM_BASE + resource_id
        for outcome in self._outcomes:
            if outcome.matches(method, url):
                polls, error = outcome.polls, outcome.error
        operation = _Operation(
            id=str(uuid.uuid4()),
            method=method,
            resource_id=resource_id,
            polls=polls,
            error=error,
            started_at=self.clock(),
        )
        self._operations[operation.id] = operation
        return operation

    def _operation_url(self, operation: _Operation, kind: str) -> str:
        parsed = parse_path(operation.resource_id)
        namespace = str(parsed.resource_type).split("/", 1)[0]
        return (
            f"{ARM_BASE}/subscriptions/{parsed.subscription}/providers/{namespace}/locations/"
            f"fake/{kind}/{operation.id}?api-version=2024-01-01"
        )

    def _operation(self, kind: str, operation_id: str) -> FakeResponse:
        operation = self._operations.get(operation_id)
        if operation is None:
            return arm_error(404, "OperationNotFound", f"Operation '{operation_id}' not found.")
        if kind == "operationresults":
            return self._operation_result(operation)
        if operation.status == "InProgress":
            operation.seen += 1
            if operation.seen > operation.polls:
                self._finish(operation)
        body: dict[str, Any] = {
            "id": operation.id,
            "name": operation.id,
            "status": operation.status,
            "startTime": operation.started_at,
        }
        if operation.ended_at:
            body["endTime"] = operation.ended_at
        if operation.status == "Failed":
            body["error"] = dict(operation.error or {})
        return FakeResponse(200, body)

    def _operation_result(self, operation: _Operation) -> FakeResponse:
        if operation.status == "InProgress":
            url = self._operation_url(operation, "operationResults")
            return FakeResponse(202, None, {"Location": url})
        if operation.status == "Failed":
            error = operation.error or {}
            return arm_error(
                400, str(error.get("code", "Failed")), str(error.get("message", "Failed."))
            )
        if operation.method == "DELETE":
            return FakeResponse(204)
        stored = self._store.get(norm(operation.resource_id))
        return FakeResponse(200, self._compose(stored)) if stored else FakeResponse(204)

    def _finish(self, operation: _Operation) -> None:
        operation.ended_at = self.clock()
        stored = self._store.get(norm(operation.resource_id))
        if operation.error:
            operation.status = "Failed"
            if stored is not None:
                _properties(stored)["provisioningState"] = "Failed"
            return
        operation.status = "Succeeded"
        if operation.method == "DELETE":
            self._remove(operation.resource_id)
        elif stored is not None:
            _properties(stored)["provisioningState"] = "Succeeded"

    # Resource Graph ----------------------------------------------------------------------

    def _graph(self, request: dict[str, Any], query: dict[str, str]) -> FakeResponse:
        options = request.get("options") or {}
        result_format = str(options.get("resultFormat") or "objectArray")
        if result_format.lower() != "objectarray":
            return arm_error(
                400,
                "BadRequest",
                f"The fake Resource Graph returns objectArray only, not {result_format!r}.",
            )
        subscriptions = {str(s).lower() for s in request.get("subscriptions") or []}
        try:
            rows = run_query(str(request.get("query") or ""), self._graph_tables(subscriptions))
        except UnsupportedQuery as error:
            return arm_error(400, "BadRequest", f"Invalid query: {error}.")
        offset = int(options.get("$skipToken") or options.get("$skip") or 0)
        top = int(options.get("$top") or self.page_size)
        page_size = min(top, self.page_size)
        page = rows[offset : offset + page_size]
        body: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "facets": [],
            "data": page,
        }
        if offset + page_size < len(rows) and "$top" not in options:
            body["$skipToken"] = str(offset + page_size)
        return FakeResponse(200, body)

    def _graph_tables(self, subscriptions: set[str]) -> dict[str, list[dict[str, Any]]]:
        def in_scope(row: Mapping[str, Any]) -> bool:
            subscription = parse_path(str(row.get("id") or "")).subscription
            return not subscriptions or str(subscription).lower() in subscriptions

        resources = []
        for stored in self._store.values():
            if not in_scope(stored):
                continue
            row = self._compose(stored)
            parsed = parse_path(str(row["id"]))
            row["type"] = str(row.get("type") or parsed.resource_type).lower()
            row.setdefault("subscriptionId", parsed.subscription)
            row.setdefault("resourceGroup", (parsed.resource_group or "").lower())
            resources.append(row)
        changes = [copy.deepcopy(c) for c in self._changes if in_scope(c)]
        return {"resources": resources, "resourcechanges": changes}


def _connection_from(connection: Any, endpoint_id: str) -> bool:
    if not isinstance(connection, dict):
        return False
    endpoint = (connection.get("properties") or {}).get("privateEndpoint") or {}
    return norm(str(endpoint.get("id") or "")) == norm(endpoint_id)
