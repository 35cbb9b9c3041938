"""Security properties: scope, id injection, auth levels, secrets in logs and the test sandbox."""

from __future__ import annotations

import io
from typing import Any

import pytest

from fake_arm import FakeArm
from remediators import cli
from remediators.events import Rejected, ResourceChange, normalise, usable_resource_id
from remediators.routing import Router
from tests.reliability.conftest import azure_clients

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
OTHER_SUBSCRIPTION = "99999999-8888-7777-6666-555555555555"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg"
WORKSPACE = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/ws"
STORAGE = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/sa"

# Forged resource ids, each of which would change the ARM request path, its query, the
# subscription it reaches or the log line it is written to.
INJECTED_IDS = {
    "dot-dot": f"{WORKSPACE}/../../../../{OTHER_SUBSCRIPTION}",
    "dot-dot-name": f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/..",
    "dot-segment": f"{GROUP}/./providers/Microsoft.MachineLearningServices/workspaces/ws",
    "api-version": f"{WORKSPACE}?api-version=2020-01-01",
    "query": f"{WORKSPACE}?$expand=all",
    "fragment": f"{WORKSPACE}#fragment",
    "encoded-slash": f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/ws%2F..%2Fx",
    "encoded-group": (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg%2Fx/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws"
    ),
    "backslash": f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/ws\\x",
    "inner-space": f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/w s",
    "tab": f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/w\ts",
    "newline": f"{WORKSPACE}\n/subscriptions/{OTHER_SUBSCRIPTION}",
    "crlf": f"{WORKSPACE}\r\nx-ms-injected: 1",
    "nul": f"{WORKSPACE}\x00",
    "double-slash": f"{GROUP}//providers/Microsoft.MachineLearningServices/workspaces/ws",
    "trailing-slashes": f"{WORKSPACE}//",
    "no-guid": "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.X/y/z",
    "template": f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/{{name}}",
    "relative": f"subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.X/y/z",
    "url": f"https://management.azure.com{WORKSPACE}",
}


def write_event(resource_id: str, **data: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": resource_id,
        "topic": f"/subscriptions/{SUBSCRIPTION}",
        "eventTime": "2024-05-01T10:00:00Z",
        "data": {"resourceUri": resource_id, "correlationId": "corr-1", **data},
    }


def run_cli(*argv: str) -> tuple[int, str]:
    stderr = io.StringIO()
    # Fake clients: a live command must never build the default credential in a test.
    clients = azure_clients(FakeArm())
    status = cli.main(list(argv), clients=clients, stdout=io.StringIO(), stderr=stderr)
    return status, stderr.getvalue()


# Resource id injection -----------------------------------------------------------------------


@pytest.mark.parametrize("resource_id", INJECTED_IDS.values(), ids=INJECTED_IDS.keys())
def test_injected_id_unusable(resource_id: str) -> None:
    assert usable_resource_id(resource_id) is None


@pytest.mark.parametrize("resource_id", INJECTED_IDS.values(), ids=INJECTED_IDS.keys())
def test_injected_id_event_rejected(resource_id: str) -> None:
    [result] = normalise([write_event(resource_id)])
    assert isinstance(result, Rejected)


@pytest.mark.parametrize("resource_id", INJECTED_IDS.values(), ids=INJECTED_IDS.keys())
def test_injected_workspace_cli_rejected(resource_id: str) -> None:
    status, message = run_cli("check", "--workspace", resource_id)
    assert status == 2
    assert "invalid workspace id" in message or "is not a workspace id" in message


@pytest.mark.parametrize(
    "group_id",
    [
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/..",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg?api-version=1",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg#x",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg%2F..",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/r g",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg\nx",
    ],
)
def test_injected_group_cli_rejected(group_id: str) -> None:
    status, message = run_cli("check", "--resource-group", group_id)
    assert status == 2
    assert "invalid resource group id" in message


def test_outer_whitespace_trimmed() -> None:
    assert usable_resource_id(f"  {WORKSPACE} ") == WORKSPACE


def test_valid_id_still_usable() -> None:
    assert usable_resource_id(WORKSPACE) == WORKSPACE


def test_forged_private_link_target_dropped() -> None:
    endpoint = f"{GROUP}/providers/Microsoft.Network/privateEndpoints/pe"
    forged = f"{WORKSPACE}/../../../../{OTHER_SUBSCRIPTION}"
    body = {
        "id": endpoint,
        "properties": {
            "privateLinkServiceConnections": [{"properties": {"privateLinkServiceId": forged}}]
        },
    }
    event = {
        "id": "evt-2",
        "type": "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated",
        "specversion": "1.0",
        "source": f"/subscriptions/{SUBSCRIPTION}",
        "subject": endpoint,
        "data": {"resourceInfo": body},
    }
    [change] = normalise([event])
    assert isinstance(change, ResourceChange)
    result = Router(scope=[SUBSCRIPTION]).route([change])
    assert result.routes == []


# Scope -----------------------------------------------------------------------------------------


def test_other_subscription_event_rejected() -> None:
    other = STORAGE.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)
    [change] = normalise([write_event(other)])
    assert isinstance(change, ResourceChange)
    outcome = Router(scope=[SUBSCRIPTION]).targets(change)
    assert isinstance(outcome, Rejected)
    assert "outside the configured scope" in outcome.reason


def test_other_subscription_workspace_rejected() -> None:
    other = WORKSPACE.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)
    [change] = normalise([write_event(other)])
    assert isinstance(change, ResourceChange)
    result = Router(scope=[SUBSCRIPTION]).route([change])
    assert result.routes == []
    assert len(result.rejected) == 1


def test_scope_compares_case_insensitively() -> None:
    [change] = normalise(
        [write_event(WORKSPACE.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"))]
    )
    assert isinstance(change, ResourceChange)
    result = Router(scope=[SUBSCRIPTION.upper()]).route([change])
    assert len(result.routes) == 1


def test_cross_subscription_target_out_of_scope() -> None:
    # A private endpoint in scope that targets a workspace in another subscription.
    endpoint = f"{GROUP}/providers/Microsoft.Network/privateEndpoints/pe"
    target = WORKSPACE.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)
    body = {
        "properties": {
            "privateLinkServiceConnections": [{"properties": {"privateLinkServiceId": target}}]
        }
    }
    event = {
        "id": "evt-3",
        "type": "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated",
        "specversion": "1.0",
        "source": f"/subscriptions/{SUBSCRIPTION}",
        "subject": endpoint,
        "data": {"resourceInfo": body},
    }
    [change] = normalise([event])
    result = Router(scope=[SUBSCRIPTION]).route([change])
    assert result.routes == []
