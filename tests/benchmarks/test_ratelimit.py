"""The token bucket, the request classifier and the policy, on simulated time."""

from __future__ import annotations

import pytest

from benchmarks import estates
from benchmarks.measure import FakeCredential
from fake_arm import FakeArm, FakeArmTransport
from remediators.clients import AzureClients
from remediators.ratelimit import Budget, RateLimitPolicy, TokenBucket, classify

SUB = "5b2c7f3e-8a41-4d9c-b6e2-0f1a2b3c4d5e"
ARM = "https://management.azure.com"


class Clock:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(burst: float = 3, per_second: float = 2) -> tuple[TokenBucket, Clock]:
    clock = Clock()
    return TokenBucket(Budget(burst, per_second), clock=clock, sleep=clock.sleep), clock


def test_burst_needs_no_wait() -> None:
    tokens, _clock = bucket()
    waits = [tokens.acquire() for _ in range(3)]
    assert waits == [0.0, 0.0, 0.0]


def test_past_burst_waits_for_refill() -> None:
    tokens, _clock = bucket()
    for _ in range(3):
        tokens.acquire()
    assert tokens.acquire() == pytest.approx(0.5)


def test_pace_matches_refill_rate() -> None:
    tokens, clock = bucket(burst=1, per_second=4)
    for _ in range(9):
        tokens.acquire()
    assert clock.now == pytest.approx(2.0)


def test_refill_caps_at_burst() -> None:
    tokens, clock = bucket(burst=2, per_second=10)
    clock.now = 100.0
    results = [tokens.try_acquire() for _ in range(3)]
    assert results[2] > 0


def test_waited_is_totalled() -> None:
    tokens, _clock = bucket(burst=1, per_second=1)
    tokens.acquire()
    tokens.acquire()
    assert tokens.waited == pytest.approx(1.0)


def test_invalid_budget_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid rate budget"):
        Budget(burst=0, per_second=1)


def test_get_is_a_read_of_its_subscription() -> None:
    url = f"{ARM}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/x?api-version=1"
    assert classify("GET", url) == (SUB, "read")


def test_put_is_a_write() -> None:
    assert classify("PUT", f"{ARM}/subscriptions/{SUB}/resourceGroups/rg")[1] == "write"


def test_resource_graph_query_is_a_tenant_read() -> None:
    url = f"{ARM}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
    assert classify("POST", url) == ("", "read")


def test_policy_keeps_one_bucket_per_subscription() -> None:
    policy = RateLimitPolicy(Budget(1, 1), Budget(1, 1))
    assert policy.bucket(SUB, "read") is not policy.bucket("other", "read")


def test_policy_shares_a_bucket_across_case() -> None:
    policy = RateLimitPolicy(Budget(1, 1), Budget(1, 1))
    assert policy.bucket(SUB.upper(), "read") is policy.bucket(SUB, "read")


def test_clients_pace_by_default() -> None:
    clients = AzureClients(FakeCredential(), transport=FakeArmTransport(FakeArm()))
    assert clients.rate_limit is not None


def test_clients_can_run_unpaced() -> None:
    clients = AzureClients(FakeCredential(), rate_limit=False)
    assert clients.rate_limit is None


def test_paced_clients_wait_past_burst() -> None:
    arm = FakeArm(estates.reference_estate())
    clock = Clock()
    policy = RateLimitPolicy(Budget(2, 10), Budget(2, 10), clock=clock, sleep=clock.sleep)
    clients = AzureClients(FakeCredential(), transport=FakeArmTransport(arm), rate_limit=policy)
    ml = clients.machine_learning(SUB)
    for _ in range(4):
        ml.get_workspace("rg-ml-000", "mlw-000")
    assert clock.now == pytest.approx(0.2)
