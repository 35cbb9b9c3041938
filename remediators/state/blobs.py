"""JSON snapshots in a blob container, written once and never overwritten silently.

`save` creates a blob with If-None-Match: * . Saving the same document again is a no-op, and
saving a different one under the same name raises `SnapshotConflict`. `replace` is the one
way to change a snapshot, and it needs the ETag of the version being replaced.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings

logger = logging.getLogger(__name__)

DEFAULT_CONTAINER = "snapshots"
_JSON = ContentSettings(content_type="application/json")


class SnapshotConflict(RuntimeError):
    """Raised when a blob already contains a different document, or changed since it was read."""


class SaveOutcome(enum.Enum):
    CREATED = "created"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Snapshot:
    """A stored JSON document and the ETag of its blob."""

    name: str
    document: Any
    etag: str


class SnapshotStore:
    """Save and load JSON documents in one container."""

    def __init__(self, blobs: BlobServiceClient, *, container: str = DEFAULT_CONTAINER) -> None:
        self._container: ContainerClient = blobs.get_container_client(container)
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()

    def save(self, name: str, document: Any) -> SaveOutcome:
        """Create blob `name` with `document`, unless it already contains the same document.

        Raises SnapshotConflict when the blob contains a different document.
        """
        data = encode(document)
        blob = self._container.get_blob_client(name)
        try:
            blob.upload_blob(
                data,
                overwrite=False,
                content_settings=_JSON,
                metadata={"sha256": hashlib.sha256(data).hexdigest()},
            )
        except ResourceExistsError:
            existing = blob.download_blob().readall()
            if existing == data:
                return SaveOutcome.UNCHANGED
            raise SnapshotConflict(
                f"snapshot {self._container.container_name}/{name} already contains a different "
                "document; save under a new name, or load it and call replace with its ETag"
            ) from None
        logger.info(
            "Saved snapshot",
            extra={"container": self._container.container_name, "blob": name},
        )
        return SaveOutcome.CREATED

    def load(self, name: str) -> Snapshot | None:
        """Return the snapshot stored as `name`, or None when there is none."""
        try:
            downloader = self._container.get_blob_client(name).download_blob()
        except ResourceNotFoundError:
            return None
        data = downloader.readall()
        return Snapshot(name=name, document=json.loads(data), etag=str(downloader.properties.etag))

    def replace(self, name: str, document: Any, etag: str) -> Snapshot:
        """Overwrite snapshot `name` if it still has `etag`; raise SnapshotConflict if not."""
        data = encode(document)
        blob = self._container.get_blob_client(name)
        try:
            result = blob.upload_blob(
                data,
                overwrite=True,
                content_settings=_JSON,
                metadata={"sha256": hashlib.sha256(data).hexdigest()},
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            raise SnapshotConflict(
                f"snapshot {self._container.container_name}/{name} changed or was deleted "
                "since it was read; load it again and reapply the change"
            ) from None
        return Snapshot(name=name, document=document, etag=str(result["etag"]))

    def names(self, prefix: str = "") -> list[str]:
        """Return the blob names under `prefix`, in name order."""
        return [str(item.name) for item in self._container.list_blobs(name_starts_with=prefix)]


def encode(document: Any) -> bytes:
    """Serialise `document` canonically, so equal documents give equal bytes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )
