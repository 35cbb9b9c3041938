"""Table storage keys derived from resource ids.

PartitionKey and RowKey may not contain '/', '\\', '#' or '?', and ARM ids contain '/', so
every key is the SHA-256 hex digest of the lowercased id. Entities keep the original id in a
property for readers.
"""

from __future__ import annotations

import hashlib

from remediators.estate.models import norm_id


def resource_key(resource_id: str) -> str:
    """Return the table key of an ARM id: SHA-256 hex of the id, lowercased, no trailing '/'."""
    normalized = norm_id(resource_id)
    if not normalized:
        raise ValueError(f"invalid resource id {resource_id!r}: it is empty; pass an ARM id")
    return text_key(normalized)


def text_key(text: str) -> str:
    """Return the SHA-256 hex digest of `text`, a key safe for tables and blob names."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
