from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AccessToken

from remediators.state.clients import StorageClients, StorageSettingsError, service_uris


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", 4102444800)


def test_account_name_derives_uris() -> None:
    uris = service_uris({"AzureWebJobsStorage__accountName": "stfunc"})
    assert uris["queue"] == "https://stfunc.queue.core.windows.net"
    assert uris["table"] == "https://stfunc.table.core.windows.net"
    assert uris["blob"] == "https://stfunc.blob.core.windows.net"


def test_explicit_uri_wins() -> None:
    uris = service_uris(
        {
            "AzureWebJobsStorage__accountName": "stfunc",
            "AzureWebJobsStorage__queueServiceUri": "https://q.example.test/",
        }
    )
    assert uris["queue"] == "https://q.example.test"
    assert uris["blob"] == "https://stfunc.blob.core.windows.net"


def test_missing_settings_named() -> None:
    with pytest.raises(StorageSettingsError, match="AzureWebJobsStorage__tableServiceUri"):
        service_uris({"AzureWebJobsStorage__queueServiceUri": "https://q.example.test"})


def test_identity_needs_credential() -> None:
    with pytest.raises(StorageSettingsError, match="credential is required"):
        StorageClients.from_settings({"AzureWebJobsStorage__accountName": "stfunc"})


def test_identity_clients_use_uris() -> None:
    clients = StorageClients.from_settings(
        {"AzureWebJobsStorage__accountName": "stfunc"}, FakeCredential()
    )
    assert clients.queues.url.startswith("https://stfunc.queue.core.windows.net")
    assert clients.blobs.url.startswith("https://stfunc.blob.core.windows.net")
    assert clients.tables.url.startswith("https://stfunc.table.core.windows.net")


def test_connection_string_preferred() -> None:
    clients = StorageClients.from_settings(
        {
            "AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            "AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
            "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
            "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
            "AzureWebJobsStorage__accountName": "ignored",
        }
    )
    assert clients.queues.url.startswith("http://127.0.0.1:10001/devstoreaccount1")
