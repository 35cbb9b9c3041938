"""Locate the Azurite storage emulator that `scripts/azurite.sh start` runs on 127.0.0.1.

Tests that need Azurite carry `@pytest.mark.azurite` and call `require_azurite()` (usually
through a fixture) to get the connection string.
"""

from __future__ import annotations

import os
import socket

import pytest

# Azurite's fixed development account, published in the Azurite README. It is not a secret.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
HOST = "127.0.0.1"


class AzuriteUnavailable(RuntimeError):
    """Raised when Azurite does not accept connections on its ports."""


def ports() -> dict[str, int]:
    """Return the blob, queue and table ports, read from the same variables as azurite.sh."""
    return {
        "blob": int(os.environ.get("AZURITE_BLOB_PORT", "10000")),
        "queue": int(os.environ.get("AZURITE_QUEUE_PORT", "10001")),
        "table": int(os.environ.get("AZURITE_TABLE_PORT", "10002")),
    }


def build_connection_string() -> str:
    """Build the development account connection string for Azurite on 127.0.0.1."""
    port = ports()
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={ACCOUNT_NAME};"
        f"AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{HOST}:{port['blob']}/{ACCOUNT_NAME};"
        f"QueueEndpoint=http://{HOST}:{port['queue']}/{ACCOUNT_NAME};"
        f"TableEndpoint=http://{HOST}:{port['table']}/{ACCOUNT_NAME};"
    )


def _accepts_connections(port: int, timeout_seconds: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout_seconds):
            return True
    except OSError:
        return False


def azurite_connection_string() -> str:
    """Return the connection string, or raise `AzuriteUnavailable` if a port is closed."""
    closed = [
        f"{service} {port}" for service, port in ports().items() if not _accepts_connections(port)
    ]
    if closed:
        raise AzuriteUnavailable(
            f"Azurite is not accepting connections on {HOST} ({', '.join(closed)}); "
            "run `scripts/azurite.sh start` (after `npm ci`) and rerun the tests"
        )
    return build_connection_string()


def require_azurite() -> str:
    """Return the connection string for a test, or skip it when Azurite is not running.

    Under CI (the CI variable is set) a missing Azurite fails the test, because a skip there
    would hide that the storage layer went untested.
    """
    try:
        return azurite_connection_string()
    except AzuriteUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))
