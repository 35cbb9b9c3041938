"""Connect the demo to Azurite, the Azure Storage emulator, on 127.0.0.1.

The ports come from the same variables as scripts/azurite.sh (AZURITE_BLOB_PORT,
AZURITE_QUEUE_PORT, AZURITE_TABLE_PORT), so the demo finds the Azurite that script started.
"""

from __future__ import annotations

import os
import socket

HOST = "127.0.0.1"
# Azurite's fixed development account, published in the Azurite README. It is not a secret.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}


class AzuriteUnavailable(RuntimeError):
    """Raised when Azurite does not accept connections on one of its ports."""


def ports() -> dict[str, int]:
    """Return the blob, queue and table ports from the AZURITE_*_PORT variables."""
    return {
        service: int(os.environ.get(f"AZURITE_{service.upper()}_PORT", str(default)))
        for service, default in DEFAULT_PORTS.items()
    }


def build_connection_string() -> str:
    """Build the development account's connection string for Azurite on 127.0.0.1."""
    port = ports()
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={ACCOUNT_NAME};"
        f"AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{HOST}:{port['blob']}/{ACCOUNT_NAME};"
        f"QueueEndpoint=http://{HOST}:{port['queue']}/{ACCOUNT_NAME};"
        f"TableEndpoint=http://{HOST}:{port['table']}/{ACCOUNT_NAME};"
    )


def closed_ports() -> list[str]:
    """Return each service whose port does not accept connections, as 'service port'."""
    return [f"{service} {number}" for service, number in ports().items() if not _open(number)]


def connection_string() -> str:
    """Return the development account's connection string, after checking every port.

    Raises AzuriteUnavailable naming the closed ports and how to start Azurite.
    """
    closed = closed_ports()
    if closed:
        raise AzuriteUnavailable(
            f"Azurite is not accepting connections on {HOST} ({', '.join(closed)}). "
            "Run `make demo`, which starts it, or start it with `scripts/azurite.sh start`. "
            "Azurite is installed by `npm ci` and needs Node.js 20 or later."
        )
    return build_connection_string()


def _open(port: int, timeout_seconds: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout_seconds):
            return True
    except OSError:
        return False
