"""The fake ARM the benchmark runs on: Resource Graph at estate scale, and ARM throttling.

`BenchArm` responds in time that does not grow with the estate. The base fake scans its
whole store for every list, every embedded child and every Resource Graph query. On the
200-workspace estate (7,800 resources) that costs about 6 ms of CPU per list and about 5 s
per Resource Graph query under its lock, which the benchmark would measure as our latency.
`BenchArm` keeps an index of keys by type and by parent, so the base methods scan only the keys that
can match, and it builds only the Resource Graph table a query reads. Its responses are the
same, and every write drops the index.

`ThrottlingArm` responds with 429 TooManyRequests and a Retry-After header when the read
(or write) bucket of the request's subscription has no token left, before it looks at
the request, as ARM's gateway does. Tests and the benchmark use it to show that the client
rate limiter keeps a sweep under the budget.
"""

from __future__ import annotations

import copy
import math
import threading
from typing import Any

from fake_arm import FakeArm, FakeResponse
from fake_arm.arm import arm_error
from fake_arm.ids import norm, parse_path, type_of_id
from remediators.ratelimit import Budget, TokenBucket, classify


class BenchArm(FakeArm):
    """A `FakeArm` with indexed lists and child lookups (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._index: _StoreIndex | None = None
        self._full: dict[str, dict[str, Any]] | None = None
        self._changes_only = False
        super().__init__(*args, **kwargs)

    # The base methods run under the fake's lock, so swapping the store they scan is safe.

    def _store_index(self) -> _StoreIndex:
        if self._index is None:
            self._index = _StoreIndex(self._full if self._full is not None else self._store)
        return self._index

    def _put_raw(self, resource: dict[str, Any]) -> None:
        self._index = None
        super()._put_raw(resource)

    def _remove(self, resource_id: str) -> None:
        self._index = None
        super()._remove(resource_id)

    def _list(self, parsed: Any, query: dict[str, str]) -> FakeResponse:
        full = self._store
        index = self._store_index()
        resource_type = str(parsed.resource_type).lower()
        scanned = {k: full[k] for k in index.by_type.get(resource_type, ())}
        parent = norm(str(parsed.parent))
        if parent in full:
            scanned[parent] = full[parent]
        self._full, self._store = full, scanned
        try:
            return super()._list(parsed, query)
        finally:
            self._full, self._store = None, full

    def _compose(self, stored: dict[str, Any]) -> dict[str, Any]:
        full = self._full if self._full is not None else self._store
        saved = self._store
        children = self._store_index().children.get(norm(str(stored.get("id"))), ())
        self._store = {k: full[k] for k in children}
        try:
            return super()._compose(stored)
        finally:
            self._store = saved

    def _graph(self, request: dict[str, Any], query: dict[str, str]) -> FakeResponse:
        table = str(request.get("query") or "").split("|", 1)[0].strip().lower()
        if table != "resourcechanges":
            return super()._graph(request, query)
        self._changes_only = True
        try:
            return super()._graph(request, query)
        finally:
            self._changes_only = False

    def _graph_tables(self, subscriptions: set[str]) -> dict[str, list[dict[str, Any]]]:
        if not self._changes_only:
            return super()._graph_tables(subscriptions)
        changes = [
            copy.deepcopy(c)
            for c in self._changes
            if not subscriptions
            or str(parse_path(str(c.get("id") or "")).subscription).lower() in subscriptions
        ]
        return {"resources": [], "resourcechanges": changes}


class _StoreIndex:
    """The keys of a fake's store by lowercased type and by parent key."""

    def __init__(self, store: dict[str, dict[str, Any]]) -> None:
        self.by_type: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}
        for key in store:
            self.by_type.setdefault(str(type_of_id(key)).lower(), []).append(key)
            self.children.setdefault(key.rsplit("/", 2)[0], []).append(key)


class ThrottlingArm(BenchArm):
    """A `BenchArm` whose subscriptions have ARM-style read and write budgets."""

    def __init__(self, *args: Any, reads: Budget, writes: Budget, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_budget = reads
        self.write_budget = writes
        self.throttled = 0
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._bucket_lock = threading.Lock()

    def handle(self, method: str, url: str, body: bytes | None) -> FakeResponse:
        subscription, kind = classify(method, url)
        bucket = self._bucket(subscription, kind)
        delay = bucket.try_acquire()
        if delay > 0:
            with self._bucket_lock:
                self.throttled += 1
            retry_after = str(max(1, math.ceil(delay)))
            return arm_error(
                429,
                "TooManyRequests",
                f"Number of {kind} requests for subscription '{subscription}' exceeded the "
                "limit. Please try again after some time.",
                **{"Retry-After": retry_after},
            )
        return super().handle(method, url, body)

    def _bucket(self, subscription: str, kind: str) -> TokenBucket:
        key = (subscription.lower(), kind)
        with self._bucket_lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                budget = self.read_budget if kind == "read" else self.write_budget
                bucket = TokenBucket(budget)
                self._buckets[key] = bucket
            return bucket
