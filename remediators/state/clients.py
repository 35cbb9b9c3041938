"""Build the Table, Queue and Blob service clients of the function app's storage account.

Two ways to connect, matching the Functions host's own `AzureWebJobsStorage` setting:

- a connection string (local development against Azurite), or
- identity-based settings `<prefix>__accountName`, or `<prefix>__blobServiceUri`,
  `<prefix>__queueServiceUri` and `<prefix>__tableServiceUri`, with a credential that the caller
  builds (this module never creates one, so tests never touch a managed identity endpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

DEFAULT_PREFIX = "AzureWebJobsStorage"
# Public Azure endpoints. Sovereign clouds set the three `__*ServiceUri` settings instead.
_ENDPOINT_SUFFIX = "core.windows.net"


class StorageSettingsError(ValueError):
    """Raised when the storage settings name neither a connection string nor an account."""


@dataclass(frozen=True)
class StorageClients:
    """The three service clients of one storage account."""

    tables: TableServiceClient
    queues: QueueServiceClient
    blobs: BlobServiceClient

    @classmethod
    def from_connection_string(
        cls, connection_string: str, **client_options: Any
    ) -> StorageClients:
        """Connect with a connection string, such as Azurite's development account."""
        return cls(
            tables=TableServiceClient.from_connection_string(connection_string, **client_options),
            queues=QueueServiceClient.from_connection_string(connection_string, **client_options),
            blobs=BlobServiceClient.from_connection_string(connection_string, **client_options),
        )

    @classmethod
    def from_service_uris(
        cls,
        *,
        table_uri: str,
        queue_uri: str,
        blob_uri: str,
        credential: TokenCredential,
        **client_options: Any,
    ) -> StorageClients:
        """Connect to explicit service endpoints with a Microsoft Entra credential."""
        return cls(
            tables=TableServiceClient(endpoint=table_uri, credential=credential, **client_options),
            queues=QueueServiceClient(
                account_url=queue_uri, credential=credential, **client_options
            ),
            blobs=BlobServiceClient(account_url=blob_uri, credential=credential, **client_options),
        )

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, str],
        credential: TokenCredential | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        **client_options: Any,
    ) -> StorageClients:
        """Connect from app settings: `<prefix>` as a connection string, else identity settings.

        Raises StorageSettingsError naming the settings to add when neither form is complete,
        or when the identity form is used without a credential.
        """
        connection_string = (settings.get(prefix) or "").strip()
        if connection_string:
            return cls.from_connection_string(connection_string, **client_options)

        uris = service_uris(settings, prefix=prefix)
        if credential is None:
            raise StorageSettingsError(
                f"{prefix} uses identity-based settings, so a credential is required; "
                "pass the app's token credential to StorageClients.from_settings"
            )
        return cls.from_service_uris(
            table_uri=uris["table"],
            queue_uri=uris["queue"],
            blob_uri=uris["blob"],
            credential=credential,
            **client_options,
        )


def service_uris(settings: Mapping[str, str], *, prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Resolve the table, queue and blob endpoints from `<prefix>__*` identity settings.

    An explicit `<prefix>__<service>ServiceUri` wins over the URI derived from
    `<prefix>__accountName`.
    """
    account_name = (settings.get(f"{prefix}__accountName") or "").strip()
    uris: dict[str, str] = {}
    missing: list[str] = []
    for service in ("table", "queue", "blob"):
        setting = f"{prefix}__{service}ServiceUri"
        uri = (settings.get(setting) or "").strip()
        if not uri and account_name:
            uri = f"https://{account_name}.{service}.{_ENDPOINT_SUFFIX}"
        if not uri:
            missing.append(setting)
        uris[service] = uri.rstrip("/")
    if missing:
        raise StorageSettingsError(
            f"storage settings are incomplete: set {prefix} to a connection string, or "
            f"{prefix}__accountName, or all of {', '.join(missing)}"
        )
    return uris
