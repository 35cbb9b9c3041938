"""ARM error classification by code, and the bounded retry around writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.core.polling.base_polling import BadResponse

from remediators.actions.arm_errors import (
    ArmOperationError,
    ErrorKind,
    RetryPolicy,
    call_with_retry,
    classify,
    retry_after_seconds,
)


class _Response:
    """The parts of an HTTP response that HttpResponseError reads."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.reason = "reason"
        self.headers = headers or {}
        self._body = body if isinstance(body, str) else json.dumps(body)

    def text(self, encoding: str | None = None) -> str:
        return self._body


def arm_error(
    code: str | None, status: int = 400, headers: dict[str, str] | None = None
) -> HttpResponseError:
    body = {"error": {"code": code, "message": f"{code} happened"}} if code else {}
    return HttpResponseError(response=_Response(status, body, headers))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code",
    [
        "RetryableErrorDueToAnotherOperation",
        "StorageAccountOperationInProgress",
        "AnotherOperationInProgress",
    ],
)
def test_conflict_codes_are_transient(code: str) -> None:
    assert classify(arm_error(code, 409)).kind is ErrorKind.TRANSIENT


@pytest.mark.parametrize(
    "code",
    [
        "PrivateEndpointCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled",
        "LinkedAuthorizationFailed",
        "AuthorizationFailed",
        "InvalidResourceReference",
        "CannotChangeSubnetOnExistingPrivateEndpoint",
    ],
)
def test_permanent_codes_carry_fix(code: str) -> None:
    error = classify(arm_error(code, 400))
    assert error.kind is ErrorKind.PERMANENT
    assert error.fix


def test_throttling_is_transient() -> None:
    assert classify(arm_error(None, 429)).kind is ErrorKind.TRANSIENT


def test_server_error_is_transient() -> None:
    assert classify(arm_error("InternalServerError", 500)).kind is ErrorKind.TRANSIENT


def test_permanent_code_wins_over_5xx() -> None:
    error = classify(arm_error("LinkedAuthorizationFailed", 500))
    assert error.kind is ErrorKind.PERMANENT


def test_unknown_client_error_is_permanent() -> None:
    assert classify(arm_error("SomethingNew", 400)).kind is ErrorKind.PERMANENT


def test_connection_error_is_transient() -> None:
    assert classify(ServiceRequestError("refused")).kind is ErrorKind.TRANSIENT


def test_code_read_from_operation_status_body() -> None:
    body = {"status": "Failed", "error": {"code": "StorageAccountOperationInProgress"}}
    error = classify(HttpResponseError(response=_Response(200, body)))  # type: ignore[arg-type]
    assert error.code == "StorageAccountOperationInProgress"


def test_missing_poll_status_is_outcome_unknown() -> None:
    raised = HttpResponseError(
        response=_Response(200, {"id": "x"}),  # type: ignore[arg-type]
        message="No status found in body",
        error=BadResponse("No status found in body"),
    )
    assert classify(raised).kind is ErrorKind.OUTCOME_UNKNOWN


def test_correlation_id_read_from_headers() -> None:
    raised = arm_error("AuthorizationFailed", 403, {"X-Ms-Correlation-Request-Id": "corr-1"})
    assert classify(raised).correlation_id == "corr-1"


def test_retry_after_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "20"}) == 20.0


def test_retry_after_milliseconds() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5


def test_retry_after_absent() -> None:
    assert retry_after_seconds({}) is None


class _Flaky:
    def __init__(self, errors: list[Exception], result: str = "done") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def test_retry_honours_retry_after() -> None:
    waits: list[float] = []
    flaky = _Flaky([arm_error(None, 429, {"Retry-After": "7"})])
    assert call_with_retry("put", flaky, sleep=waits.append) == "done"
    assert waits == [7.0]


def test_retry_stops_at_bound() -> None:
    flaky = _Flaky([arm_error("AnotherOperationInProgress", 409)] * 10)
    policy = RetryPolicy(attempts=3, base_delay=0)
    with pytest.raises(ArmOperationError) as raised:
        call_with_retry("put", flaky, policy=policy, sleep=lambda _: None)
    assert flaky.calls == 3
    assert raised.value.attempts == 3


def test_permanent_error_not_retried() -> None:
    flaky = _Flaky([arm_error("LinkedAuthorizationFailed", 403)])
    with pytest.raises(ArmOperationError):
        call_with_retry("put", flaky, sleep=lambda _: None)
    assert flaky.calls == 1


def test_retry_stops_when_budget_spent() -> None:
    flaky = _Flaky([arm_error(None, 429, {"Retry-After": "30"})] * 3)
    policy = RetryPolicy(attempts=5, budget=45)
    with pytest.raises(ArmOperationError):
        call_with_retry("put", flaky, policy=policy, sleep=lambda _: None)
    assert flaky.calls == 2


def test_outcome_unknown_reads_instead_of_rewriting() -> None:
    missing_status = HttpResponseError(
        response=_Response(200, {}),  # type: ignore[arg-type]
        error=BadResponse("No status found in body"),
    )
    flaky = _Flaky([missing_status])
    result = call_with_retry("put", flaky, on_outcome_unknown=lambda: "read", sleep=lambda _: None)
    assert result == "read"
    assert flaky.calls == 1
