"""Test controls of the fake ARM: injected faults, operation outcomes and the request log."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

# Transport error that a fault raises instead of returning a response.
RaiseKind = Literal["connection", "read_timeout"]


@dataclass
class Fault:
    """A canned failure for requests whose method and URL match.

    `times` is how many matching requests fail (None: every one). With `raise_error` set
    the transport raises the error the real requests transport would raise; otherwise the
    fake answers `status` with an ARM error body carrying `code` and `message`.
    """

    method: str
    url_pattern: re.Pattern[str]
    status: int = 500
    code: str = "InternalServerError"
    message: str = "Injected failure."
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    raise_error: RaiseKind | None = None
    hits: int = 0

    def matches(self, method: str, url: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return self.url_pattern.search(url) is not None


@dataclass
class OperationOutcome:
    """How long-running operations on matching URLs end: after `polls` InProgress answers,
    Succeeded, or Failed with `error` (an ARM error object with `code` and `message`)."""

    method: str
    url_pattern: re.Pattern[str]
    polls: int
    error: dict[str, Any] | None = None

    def matches(self, method: str, url: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return self.url_pattern.search(url) is not None


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake received; `status` is None when a fault raised instead."""

    method: str
    url: str
    status: int | None
    # time.monotonic() readings at arrival and at the moment the answer was ready.
    started: float
    ended: float

    @property
    def path(self) -> str:
        return self.url.split("//", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


def critical_path(records: list[RequestRecord]) -> int:
    """Return the length of the longest chain of requests that each start after the last ended.

    With a fixed injected latency this is the number of sequential round trips a caller
    needed, however many requests it sent in parallel.
    """
    ordered = sorted(records, key=lambda r: r.ended)
    depth: list[int] = []
    for index, record in enumerate(ordered):
        before = [depth[i] for i in range(index) if ordered[i].ended <= record.started]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)
