"""The product's storage account takes identity-based connections only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from remediators import service
from remediators.state import audit, blobs, coalesce, findings, history, leases, queues, watermarks
from tests.infra.templates import (
    MAIN,
    bicep_files,
    function_calls,
    module_path,
    parse,
    resources_of_type,
    strings,
    variable,
)

ACCOUNTS = list(resources_of_type("Microsoft.Storage/storageAccounts"))
CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"


def account() -> dict[str, Any]:
    assert len(ACCOUNTS) == 1
    return ACCOUNTS[0][2]


def test_shared_key_access_off() -> None:
    assert account()["properties"]["allowSharedKeyAccess"] is False


def test_oauth_is_default() -> None:
    assert account()["properties"]["defaultToOAuthAuthentication"] is True


def test_minimum_tls_12() -> None:
    assert account()["properties"]["minimumTlsVersion"] == "TLS1_2"


def test_no_public_blob_access() -> None:
    assert account()["properties"]["allowBlobPublicAccess"] is False


def test_https_only() -> None:
    assert account()["properties"]["supportsHttpsTrafficOnly"] is True


def test_containers_private() -> None:
    containers = list(resources_of_type(CONTAINER))
    assert containers
    for _, _, container in containers:
        assert container["properties"]["publicAccess"] == "None"


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
def test_no_list_keys(path: Path) -> None:
    called = {call["type"] for call in function_calls(parse(path))}
    listing = sorted(name for name in called if name.startswith("list"))
    assert not listing, f"{module_path(path)} calls {listing}"


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
def test_no_account_key_text(path: Path) -> None:
    text = path.read_text()
    assert "listKeys" not in text
    assert "AccountKey" not in text


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
def test_no_storage_connection_string(path: Path) -> None:
    for value in strings(parse(path)):
        assert "DefaultEndpointsProtocol" not in value
        assert value != "AzureWebJobsStorage", "use AzureWebJobsStorage__* identity settings"


@pytest.mark.parametrize(
    ("variable_name", "name"),
    [
        ("queueNames", queues.DEFAULT_QUEUE),
        ("queueNames", queues.DEFAULT_QUEUE + queues.POISON_SUFFIX),
        ("queueNames", queues.RECREATION_QUEUE),
        ("queueNames", queues.RECREATION_QUEUE + queues.POISON_SUFFIX),
        ("tableNames", service.STATUS_TABLE),
        ("tableNames", audit.DEFAULT_TABLE),
        ("tableNames", coalesce.DEFAULT_TABLE),
        ("tableNames", findings.DEFAULT_TABLE),
        ("tableNames", history.DEFAULT_TABLE),
        ("tableNames", watermarks.DEFAULT_TABLE),
        ("containerNames", blobs.DEFAULT_CONTAINER),
        ("containerNames", leases.DEFAULT_CONTAINER),
    ],
)
def test_state_storage_provisioned(variable_name: str, name: str) -> None:
    """Queues, tables and containers the state code opens by default are provisioned."""
    assert name in variable(MAIN, variable_name)
