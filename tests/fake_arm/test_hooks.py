"""After-request hooks of the fake ARM: a client that dies after ARM applied its write."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fake_arm import FakeArm, FakeResponse
from tests.fake_arm.test_arm import PE, endpoint_body, make_arm, network


class Died(BaseException):
    """Stands for the death of the calling process; no handler for Exception catches it."""


def die_on(method: str, fragment: str) -> Callable[[str, str, FakeResponse], None]:
    def hook(request_method: str, url: str, response: FakeResponse) -> None:
        if request_method == method and fragment in url:
            raise Died(f"{method} {url} answered {response.status}")

    return hook


def test_hook_raises_after_put_applied() -> None:
    arm = make_arm()
    arm.after_request(die_on("PUT", "/privateEndpoints/pe-blob?"))

    with pytest.raises(Died):
        network(arm).private_endpoints.begin_create_or_update("rg-ml", "pe-blob", endpoint_body())

    stored = arm.get(PE)
    assert stored is not None
    assert stored["properties"]["provisioningState"] == "Creating"


def test_hook_sees_the_answer() -> None:
    arm = make_arm()
    statuses: list[int] = []
    arm.after_request(lambda method, url, response: statuses.append(response.status))

    network(arm).private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body()
    ).result()

    assert statuses[0] == 201
    assert len(statuses) == arm.count()


def test_operation_resource_names_target() -> None:
    arm = make_arm()
    polled: list[str | None] = []
    arm.after_request(lambda method, url, response: polled.append(arm.operation_resource(url)))

    network(arm).private_endpoints.begin_create_or_update(
        "rg-ml", "pe-blob", endpoint_body()
    ).result()

    status_polls = [r for r in arm.requests if "operationStatuses" in r.url]
    assert status_polls
    assert polled[arm.requests.index(status_polls[0])] == PE
    assert polled[0] is None


def test_finish_operations_ends_abandoned_put() -> None:
    arm = make_arm()
    arm.after_request(die_on("PUT", "/privateEndpoints/pe-blob?"))
    with pytest.raises(Died):
        network(arm).private_endpoints.begin_create_or_update("rg-ml", "pe-blob", endpoint_body())

    assert arm.finish_operations() == 1

    stored = arm.get(PE)
    assert stored is not None
    assert stored["properties"]["provisioningState"] == "Succeeded"
    assert arm.finish_operations() == 0


def test_no_hook_answers_normally() -> None:
    arm: FakeArm = make_arm()

    endpoint = (
        network(arm)
        .private_endpoints.begin_create_or_update("rg-ml", "pe-blob", endpoint_body())
        .result()
    )

    assert endpoint.provisioning_state == "Succeeded"
