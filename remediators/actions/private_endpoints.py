"""Create the private endpoints a workspace's storage account, registry and key vault lack.

Guarantees:
- An existing private endpoint for the same target and group, under any name and with an
  automatic or manual connection, counts as done; existing endpoints are never modified
  (ARM rejects a subnet change on an existing private endpoint).
- Names are deterministic, so a rerun or a second instance finds the endpoint it would create.
- One write at a time per target resource in this process (storage accepts one exclusive
  operation at a time); an optional cross-instance lock (the workspace blob lease) wraps it.
- Transient ARM error codes are retried within a bound; permanent ones are reported with the fix.
- When the identity cannot approve the connection, a manual connection request is created once
  and reported as Pending, with an alert for the target's owner.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

STORAGE_GROUPS = ("blob", "file", "queue", "table")
REGISTRY_GROUP = "registry"
VAULT_GROUP = "vault"

# 64 fits both the private endpoint name limit (2-64 characters) and the 80-character limit
# of most Microsoft.Network child names.
MAX_NAME_LENGTH = 64
_HASH_LENGTH = 8
_INVALID_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")

MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "batch-endpoint-remediator"
REQUEST_MESSAGE = (
    "Requested by the batch endpoint network remediator for Azure Machine Learning workspace "
    "{workspace}: batch jobs need a private endpoint for group '{group}'."
)


def endpoint_name(target_name: str, group_id: str, prefix: str = "pe") -> str:
    """Return the deterministic private endpoint name `pe-<target>-<group>`.

    A name over the limit keeps its head and gets an 8-character hash of the full name, so two
    long targets never share a name.
    """
    full = _INVALID_NAME_CHARACTERS.sub("-", f"{prefix}-{target_name}-{group_id}".lower())
    if len(full) <= MAX_NAME_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    head = full[: MAX_NAME_LENGTH - _HASH_LENGTH - 1].rstrip("-.")
    return f"{head}-{digest}"


def connection_name(endpoint: str) -> str:
    return f"{endpoint}-connection"


def endpoint_body(
    *,
    location: str,
    subnet_id: str,
    target_id: str,
    group_id: str,
    name: str,
    manual: bool,
    request_message: str | None = None,
) -> dict[str, Any]:
    """Build the PUT body of a private endpoint with one connection to `target_id`."""
    connection: dict[str, Any] = {
        "name": connection_name(name),
        "properties": {"privateLinkServiceId": target_id, "groupIds": [group_id]},
    }
    if manual:
        connection["properties"]["requestMessage"] = request_message or ""
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    return {
        "location": location,
        "tags": {MANAGED_BY_TAG: MANAGED_BY_VALUE},
        "properties": {"subnet": {"id": subnet_id}, key: [connection]},
    }
