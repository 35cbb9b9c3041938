"""The per-invocation time budget: throttling ends in BudgetExhausted, not a long sleep."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from fake_arm import FakeArm
from remediators.budget import Budget, BudgetExhausted, BudgetRetryPolicy, active_budget
from tests.estate.test_live import STORAGE, WORKSPACE, reference_estate
from tests.reliability.conftest import azure_clients, live_source

STORAGE_GET = r"/storageAccounts/testStorageAccount\?"
GROUP = STORAGE.split("/")[4]


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def slept_clock(arm: FakeArm) -> Any:
    """Return a clock that advances by every sleep the fake transport records."""
    return lambda: sum(arm.sleeps)


def throttled(times: int = 3, retry_after: str = "20") -> FakeArm:
    arm = FakeArm(reference_estate())
    arm.inject_fault(
        "GET",
        STORAGE_GET,
        status=429,
        code="TooManyRequests",
        headers={"Retry-After": retry_after},
        times=times,
    )
    return arm


def read_storage(arm: FakeArm, **options: Any) -> dict[str, Any]:
    client = azure_clients(arm, **options).storage(STORAGE.split("/")[2])
    account = client.storage_accounts.get_properties(GROUP, "testStorageAccount")
    return dict(account.as_dict())


def test_budget_remaining_counts_down() -> None:
    clock = ManualClock()
    budget = Budget(30, clock)
    clock.now += 12
    assert budget.remaining() == 18


def test_budget_remaining_never_negative() -> None:
    clock = ManualClock()
    budget = Budget(5, clock)
    clock.now += 60
    assert budget.remaining() == 0


def test_budget_check_raises_when_spent() -> None:
    clock = ManualClock()
    budget = Budget(5, clock)
    clock.now += 5
    with pytest.raises(BudgetExhausted, match="5 s time budget"):
        budget.check()


def test_budget_check_passes_with_time_left() -> None:
    budget = Budget(5, ManualClock())
    budget.check(4.0)


@pytest.mark.parametrize("seconds", [0, -1])
def test_budget_rejects_non_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Budget(seconds)


def test_budget_applied_is_scoped() -> None:
    budget = Budget(5)
    with budget.applied():
        assert active_budget() is budget
    assert active_budget() is None


def test_budget_is_not_an_azure_error() -> None:
    # azure-core retries AzureError; the budget error must end the call instead.
    from azure.core.exceptions import AzureError

    assert not issubclass(BudgetExhausted, AzureError)


def test_throttling_exhausts_small_budget() -> None:
    arm = throttled()
    with Budget(50, slept_clock(arm)).applied(), pytest.raises(BudgetExhausted):
        read_storage(arm)
    assert arm.sleeps == [20.0, 20.0]


def test_throttling_never_sleeps_past_budget() -> None:
    arm = throttled()
    with Budget(59, slept_clock(arm)).applied(), pytest.raises(BudgetExhausted):
        read_storage(arm)
    assert sum(arm.sleeps) <= 59


def test_throttling_within_budget_succeeds() -> None:
    arm = throttled()
    with Budget(61, slept_clock(arm)).applied():
        account = read_storage(arm)
    assert account["id"] == STORAGE
    assert arm.sleeps == [20.0, 20.0, 20.0]


def test_throttling_without_budget_sleeps_fully() -> None:
    # The behaviour the budget exists to stop: 60 s of sleeps for one GET.
    arm = throttled()
    read_storage(arm)
    assert sum(arm.sleeps) == 60


def test_budget_exhausted_before_send() -> None:
    arm = FakeArm(reference_estate())
    clock = ManualClock()
    budget = Budget(1, clock)
    clock.now += 2
    with budget.applied(), pytest.raises(BudgetExhausted, match="send GET"):
        read_storage(arm)
    assert arm.requests == []


def test_budget_caps_backoff_sleeps() -> None:
    arm = FakeArm(reference_estate())
    arm.inject_fault("GET", STORAGE_GET, status=503, times=None)
    with (
        Budget(3, slept_clock(arm)).applied(),
        pytest.raises(BudgetExhausted, match="before retrying"),
    ):
        read_storage(arm, retry_backoff_factor=2.0)
    assert sum(arm.sleeps) <= 3


def test_retries_spent_before_budget_raise_http_error() -> None:
    arm = FakeArm(reference_estate())
    arm.inject_fault("GET", STORAGE_GET, status=503, times=None)
    with Budget(600, slept_clock(arm)).applied(), pytest.raises(HttpResponseError):
        read_storage(arm)


def test_live_collection_respects_budget() -> None:
    # LiveSource reads in worker threads; the budget must reach them.
    arm = throttled()
    with Budget(50, slept_clock(arm)).applied(), pytest.raises(BudgetExhausted):
        live_source(arm).workspace_estate(WORKSPACE)
    assert sum(arm.sleeps) <= 50


def test_live_collection_within_budget() -> None:
    arm = throttled(times=1)
    with Budget(50, slept_clock(arm)).applied():
        estate = live_source(arm).workspace_estate(WORKSPACE)
    assert estate.get(STORAGE) is not None


def test_ml_client_uses_budget_policy() -> None:
    arm = FakeArm(reference_estate())
    arm.inject_fault(
        "GET", r"/workspaces/testworkspace\?", status=429, headers={"Retry-After": "40"}
    )
    client = azure_clients(arm).machine_learning(STORAGE.split("/")[2])
    with Budget(30, slept_clock(arm)).applied(), pytest.raises(BudgetExhausted):
        client.get_workspace(GROUP, "testworkspace")
    assert arm.sleeps == []


def test_each_client_has_own_retry_policy() -> None:
    clients = azure_clients(FakeArm())
    first = clients._client_options()["retry_policy"]
    second = clients._client_options()["retry_policy"]
    assert isinstance(first, BudgetRetryPolicy)
    assert first is not second
