"""Security properties: scope, id injection, auth levels, secrets in logs and the test sandbox."""

from __future__ import annotations

import io
from collections.abc import Iterator
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


# HTTP functions -------------------------------------------------------------------------------


def http_triggers() -> dict[str, Any]:
    # functions_by_name caches app.get_functions(), so the metadata is read once per process.
    from tests.functions.conftest import functions_by_name

    triggers = {}
    for name, function in functions_by_name().items():
        for binding in function.get_bindings():
            if binding.type == "httpTrigger":
                triggers[name] = binding
    return triggers


def test_http_functions_registered() -> None:
    assert http_triggers()


def test_http_functions_need_a_key() -> None:
    import azure.functions as func

    allowed = {func.AuthLevel.FUNCTION, func.AuthLevel.ADMIN}
    for name, binding in http_triggers().items():
        assert binding.auth_level in allowed, name


@pytest.mark.parametrize(
    "resource_id",
    [pytest.param(value, id=key) for key, value in INJECTED_IDS.items()],
)
def test_injected_workspace_http_rejected(resource_id: str) -> None:
    from remediators.functions.http import ApiError, validate_scope_id

    with pytest.raises(ApiError) as raised:
        validate_scope_id("workspace_id", resource_id)
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "group_id",
    [
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/..",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg?api-version=1",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg%2F..",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg\nx",
    ],
)
def test_injected_group_http_rejected(group_id: str) -> None:
    from remediators.functions.http import ApiError, validate_scope_id

    with pytest.raises(ApiError) as raised:
        validate_scope_id("resource_group_id", group_id)
    assert raised.value.status == 400


def test_other_subscription_http_forbidden() -> None:
    from types import SimpleNamespace

    from remediators.config import Settings
    from remediators.functions.http import ApiError, check_scope

    current = SimpleNamespace(settings=Settings(scope_subscriptions=(SUBSCRIPTION,)))
    other = WORKSPACE.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)
    with pytest.raises(ApiError) as raised:
        check_scope(other, "workspace_id", current)  # type: ignore[arg-type]
    assert raised.value.status == 403


# Secrets ---------------------------------------------------------------------------------------

SIGNATURE = "c2lnbmF0dXJlLW5ldmVyLWxvZ2dlZA"
ACCOUNT_KEY = "QWNjb3VudEtleU5ldmVyTG9nZ2VkPT0" + "A" * 50 + "=="
WEBHOOK = (
    "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIGNATURE}"
)
CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={ACCOUNT_KEY};QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1"
)
SECRETS = (SIGNATURE, ACCOUNT_KEY)


def environment(**overrides: str) -> dict[str, str]:
    values = {
        "REMEDIATOR_SCOPE_SUBSCRIPTIONS": SUBSCRIPTION,
        "TEAMS_WEBHOOK_URL": WEBHOOK,
        "AzureWebJobsStorage": CONNECTION_STRING,
    }
    values.update(overrides)
    return values


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def all_debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every record of every logger at DEBUG, including the Azure SDK's."""
    import logging

    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level in levels:
            logger.setLevel(level)


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.__dict__))
    return "\n".join(lines)


def test_settings_repr_hides_secrets() -> None:
    from remediators.config import Settings

    settings = Settings.from_environment(environment())
    assert leaked(repr(settings)) == []
    assert leaked(str(settings)) == []


def test_settings_public_view_hides_secrets() -> None:
    import json

    from remediators.config import Settings

    view = Settings.from_environment(environment()).public_view()
    assert leaked(json.dumps(view)) == []


def test_settings_secrets_still_usable() -> None:
    from remediators.config import Settings

    settings = Settings.from_environment(environment())
    assert settings.teams_webhook_url is not None
    assert SIGNATURE in settings.teams_webhook_url.reveal()


@pytest.mark.parametrize(
    "overrides",
    [
        {"TEAMS_WEBHOOK_URL": WEBHOOK.replace("https://", "http://")},
        {"TEAMS_WEBHOOK_URL": WEBHOOK.replace("https://", "ftp://")},
        {"TEAMS_WEBHOOK_URL": "@Microsoft.KeyVault(SecretUri=" + WEBHOOK + ")"},
        {"AzureWebJobsStorage__accountName": "acct"},
        {"AzureWebJobsStorage__accountName": "acct", "REMEDIATOR_MODE": "loud"},
    ],
    ids=["http", "ftp", "keyvault-reference", "both-storage-forms", "two-problems"],
)
def test_configuration_error_hides_secrets(overrides: dict[str, str]) -> None:
    from remediators.config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment(environment(**overrides))
    assert leaked(str(raised.value)) == []
    assert leaked(repr(raised.value.problems)) == []


def test_debug_logs_hide_settings_secrets(all_debug_logs: pytest.LogCaptureFixture) -> None:
    from remediators.config import Settings

    Settings.from_environment(environment())
    assert leaked(logged_text(all_debug_logs)) == []


def test_debug_logs_hide_webhook_signature(all_debug_logs: pytest.LogCaptureFixture) -> None:
    from remediators.actions.teams import TeamsWebhook
    from tests.actions.test_teams import CARD, Answer, closed_port_url, running_receiver

    with running_receiver() as receiver:
        url = receiver.url.split("?", 1)[0] + f"?api-version=2016-06-01&sig={SIGNATURE}"
        receiver.answers = [Answer(500), Answer(429, {"Retry-After": "0"})]
        hook = TeamsWebhook(url, allow_insecure_loopback=True, timeout=5, backoff_factor=0)
        delivered = hook.post_card(CARD)
    refused = TeamsWebhook(
        closed_port_url().split("?", 1)[0] + f"?sig={SIGNATURE}",
        allow_insecure_loopback=True,
        timeout=2,
        backoff_factor=0,
    ).post_card(CARD)
    assert delivered.delivered
    assert not refused.delivered
    assert leaked(repr(hook)) == []
    assert leaked(repr(refused)) == []
    assert leaked(logged_text(all_debug_logs)) == []


def test_debug_logs_hide_account_key(all_debug_logs: pytest.LogCaptureFixture) -> None:
    from azure.core.exceptions import AzureError

    from remediators.state.clients import StorageClients

    clients = StorageClients.from_connection_string(
        CONNECTION_STRING, retry_total=0, connection_timeout=2
    )
    with pytest.raises(AzureError) as raised:
        clients.queues.get_queue_client("evaluations").create_queue()
    assert leaked(str(raised.value)) == []
    assert leaked(repr(clients.queues.credential)) == []
    assert leaked(logged_text(all_debug_logs)) == []


def test_debug_logs_hide_arm_token(all_debug_logs: pytest.LogCaptureFixture) -> None:
    from tests.estate.test_live import WORKSPACE as LIVE_WORKSPACE
    from tests.estate.test_live import reference_estate
    from tests.reliability.conftest import live_source

    live_source(FakeArm(reference_estate())).workspace_estate(LIVE_WORKSPACE)
    text = logged_text(all_debug_logs)
    assert "Bearer fake-token" not in text
    assert "management.azure.com" in text  # the SDK's request logging ran at this level


# Sandbox ---------------------------------------------------------------------------------------


def test_test_credential_is_fake() -> None:
    from tests.reliability.conftest import FakeCredential

    clients = azure_clients(FakeArm())
    assert isinstance(clients.credential, FakeCredential)
    assert clients.credential.get_token("https://management.azure.com/.default").token == (
        "fake-token"
    )


def test_network_guard_blocks_sdk_default_transport() -> None:
    # An SDK client without the fake transport tries a real socket, and the guard stops it.
    from azure.core.exceptions import ServiceRequestError
    from azure.mgmt.storage import StorageManagementClient

    from tests.conftest import NetworkGuardError
    from tests.reliability.conftest import FakeCredential

    client = StorageManagementClient(FakeCredential(), SUBSCRIPTION, retry_total=0)
    with pytest.raises((NetworkGuardError, ServiceRequestError)) as raised:
        client.storage_accounts.get_properties("rg", "sa")
    assert "only loopback is allowed" in str(raised.value)


def test_fake_arm_rejects_foreign_host() -> None:
    from azure.core.rest import HttpRequest

    from fake_arm import FakeArmTransport, ForeignHostError

    with pytest.raises(ForeignHostError):
        FakeArmTransport(FakeArm()).send(HttpRequest("GET", "https://example.com/"))
