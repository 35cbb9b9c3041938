"""Client-side pacing of ARM requests, so a sweep stays inside ARM's throttling budget.

ARM throttles each subscription and principal with token buckets: reads refill at about
25 per second after a burst of 250, writes at about 10 per second after a burst of 200.
`RateLimitPolicy` keeps one `TokenBucket` per subscription and kind (read or write) and
makes each request wait for a token before it is sent, so the app slows down instead of
collecting 429 responses and Retry-After sleeps. It sits after the retry policy, so a retried
request takes a token again, as ARM counts it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

logger = logging.getLogger(__name__)

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Resource Graph queries are POSTs but ARM counts them as reads of the tenant.
_READ_POSTS = ("/providers/microsoft.resourcegraph/resources",)


@dataclass(frozen=True)
class Budget:
    """A token bucket size: `burst` requests at once, then `per_second` requests a second."""

    burst: float
    per_second: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError(
                f"invalid rate budget burst={self.burst}, per_second={self.per_second}; "
                "use a burst of at least 1 and a positive refill rate"
            )


# ARM's documented budgets per subscription and principal, minus a margin for the other
# callers that share the principal (the CLI, deployments).
ARM_READS = Budget(burst=200, per_second=20)
ARM_WRITES = Budget(burst=150, per_second=8)


class TokenBucket:
    """A thread-safe token bucket; `acquire` blocks until a token is free.

    `clock` and `sleep` are injectable so tests can run it on simulated time.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(budget.burst)
        self._updated = clock()
        self._lock = threading.Lock()
        # Total seconds callers have waited for a token.
        self.waited = 0.0

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(
            float(self.budget.burst), self._tokens + elapsed * self.budget.per_second
        )
        self._updated = now

    def try_acquire(self) -> float:
        """Take a token and return 0, or return the seconds until one is free."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.budget.per_second

    def acquire(self) -> float:
        """Take a token, waiting as long as needed; return the seconds waited."""
        waited = 0.0
        while True:
            delay = self.try_acquire()
            if delay <= 0:
                with self._lock:
                    self.waited += waited
                return waited
            self._sleep(delay)
            waited += delay


class RateLimitPolicy(SansIOHTTPPolicy[Any, Any]):
    """An azure-core policy that paces requests per subscription with token buckets.

    Requests without a subscription in their path (tenant-level ones such as Resource Graph)
    share one bucket per kind. One policy instance is shared by every client, so all threads
    draw from the same buckets.
    """

    def __init__(
        self,
        reads: Budget = ARM_READS,
        writes: Budget = ARM_WRITES,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reads = reads
        self.writes = writes
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, subscription: str, kind: str) -> TokenBucket:
        key = (subscription.lower(), kind)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                budget = self.reads if kind == "read" else self.writes
                bucket = TokenBucket(budget, clock=self._clock, sleep=self._sleep)
                self._buckets[key] = bucket
            return bucket

    def waited(self) -> float:
        """Total seconds requests have waited for tokens, over every bucket."""
        with self._lock:
            buckets = list(self._buckets.values())
        return sum(b.waited for b in buckets)

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        subscription, kind = classify(str(http.method), str(http.url))
        waited = self.bucket(subscription, kind).acquire()
        if waited > 0:
            logger.debug(
                "Paced an ARM %s for %.3f s",
                kind,
                waited,
                extra={"subscription_id": subscription or None},
            )


def classify(method: str, url: str) -> tuple[str, str]:
    """Return (subscription id or "", "read" or "write") for an ARM request."""
    path = urlsplit(url).path
    lowered = path.lower()
    kind = "read"
    if method.upper() not in _READ_METHODS and not lowered.startswith(_READ_POSTS):
        kind = "write"
    segments = path.strip("/").split("/")
    subscription = ""
    if len(segments) >= 2 and segments[0].lower() == "subscriptions":
        subscription = segments[1]
    return subscription, kind
