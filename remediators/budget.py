"""A per-invocation time budget for Azure calls, enforced inside the SDK retry policy.

The azure-core `RetryPolicy` honours `Retry-After` however long it is, so under throttling
an evaluation can sleep past the function timeout (host.json `functionTimeout`). With a
`Budget` applied, `BudgetRetryPolicy` raises `BudgetExhausted` instead of starting a sleep or
an attempt that the remaining budget cannot cover, and caps the retry policy's absolute
timeout to what remains. The queue trigger lets `BudgetExhausted` propagate, so the message
becomes visible again and the evaluation runs later, with no compliance decision taken on
partial data.

Usage, once per invocation (clients built by `AzureClients` use `BudgetRetryPolicy`)::

    budget = Budget(540.0)
    with budget.applied():
        estate = source.workspace_estate(workspace_id)

The active budget is a context variable, so worker threads apply it only when they run in a
copy of the caller's context. `LiveSource` does this, and a bare `ThreadPoolExecutor` does not.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

logger = logging.getLogger(__name__)

_ACTIVE: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "remediators_budget", default=None
)


class BudgetExhausted(Exception):
    """Raised when the time left in a budget cannot cover the next attempt or sleep.

    Deliberately not an `AzureError`: the azure-core retry policy retries `AzureError`, and
    this error must end the call instead.
    """


class Budget:
    """A time allowance in seconds, measured on `clock` (default `time.monotonic`).

    The clock is read at construction. Tests pass a clock that advances with the sleeps a
    fake transport records, so no test waits in real time.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds <= 0:
            raise ValueError(f"a time budget must be positive, not {seconds!r} seconds")
        self.seconds = float(seconds)
        self.clock = clock
        self._started = clock()

    def elapsed(self) -> float:
        return self.clock() - self._started

    def remaining(self) -> float:
        """Return the seconds left, never below zero."""
        return max(0.0, self.seconds - self.elapsed())

    def check(self, needed: float = 0.0, *, doing: str = "continue") -> None:
        """Raise `BudgetExhausted` unless more than `needed` seconds remain."""
        remaining = self.remaining()
        if remaining > needed:
            return
        raise BudgetExhausted(
            f"the {self.seconds:g} s time budget has {remaining:.1f} s left, not enough to "
            f"{doing}; the work should be retried later (for example by requeueing it)"
        )

    @contextmanager
    def applied(self) -> Iterator[Budget]:
        """Make this the active budget for Azure calls made in this context."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)


def active_budget() -> Budget | None:
    """Return the budget applied in the current context, or None."""
    return _ACTIVE.get()


class BudgetRetryPolicy(RetryPolicy):
    """A `RetryPolicy` that keeps its attempts and sleeps inside the active `Budget`.

    Without an active budget it behaves exactly like `RetryPolicy`. With one, it raises
    `BudgetExhausted` before an attempt when no time remains and before a `Retry-After` or
    backoff sleep longer than what remains. It never shortens a `Retry-After` sleep, because
    retrying early only earns another 429.
    """

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        budget = active_budget()
        if budget is not None:
            settings["timeout"] = min(settings["timeout"], budget.remaining())
        return settings

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        budget = active_budget()
        if budget is not None:
            budget.check(doing=f"send {request.http_request.method} {_path(request)}")
        return super().send(request)

    def sleep(
        self,
        settings: dict[str, Any],
        transport: Any,
        response: PipelineResponse[Any, Any] | None = None,
    ) -> None:
        budget = active_budget()
        if budget is not None:
            wait = self.get_retry_after(response) if response is not None else None
            if not wait:
                wait = self.get_backoff_time(settings)
            status = response.http_response.status_code if response is not None else None
            logger.warning(
                "retrying an Azure request after %.1f s (HTTP %s); %.1f s of budget left",
                wait,
                status if status is not None else "error",
                budget.remaining(),
            )
            budget.check(wait, doing=f"wait {wait:g} s before retrying")
        super().sleep(settings, transport, response)


def _path(request: PipelineRequest[Any]) -> str:
    return str(request.http_request.url).split("?", 1)[0]
