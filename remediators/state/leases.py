"""Per-workspace blob leases that keep evaluations and actions of one workspace apart.

Each workspace has an empty blob in the `locks` container, named by the SHA-256 of its
lowercased id. Holding the blob's lease is holding the workspace. A background thread renews
the lease while it is held, and a holder that crashes stops renewing, so its lease expires
after at most `duration` seconds and another instance can take over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobLeaseClient, BlobServiceClient, ContainerClient

from remediators.state.keys import resource_key

logger = logging.getLogger(__name__)

DEFAULT_CONTAINER = "locks"
# Blob storage accepts finite lease durations of 15 to 60 seconds.
MIN_DURATION = 15
MAX_DURATION = 60
_RETRY_INTERVAL_SECONDS = 1.0


class LeaseUnavailable(RuntimeError):
    """Raised when another holder has the workspace lease."""


class LeaseLost(RuntimeError):
    """Raised by `WorkspaceLease.check` when a renewal failed, so the lease may have expired."""


class WorkspaceLease:
    """A held lease on one workspace, renewed in a background thread until released."""

    def __init__(self, workspace_id: str, lease: BlobLeaseClient, duration: int) -> None:
        self.workspace_id = workspace_id
        self.lease_id = str(lease.id)
        self._lease = lease
        self._duration = duration
        self._stop = threading.Event()
        self._lost = threading.Event()
        self.renewals = 0
        self._thread = threading.Thread(
            target=self._renew_until_stopped,
            name=f"lease-renewal-{lease.id}",
            daemon=True,
        )
        self._thread.start()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        """Raise LeaseLost if a renewal failed; call it before each action that needs the lease."""
        if self._lost.is_set():
            raise LeaseLost(
                f"lease on workspace {self.workspace_id!r} was not renewed and may be held by "
                "another instance; stop and let the next evaluation retry"
            )

    def release(self) -> None:
        """Stop renewing and release the lease; a lease already lost is left to expire."""
        self._stop.set()
        self._thread.join()
        if self._lost.is_set():
            return
        try:
            self._lease.release()
        except HttpResponseError:
            logger.exception(
                "Failed to release the workspace lease; it expires within %d s",
                self._duration,
                extra={"workspace_id": self.workspace_id, "lease_id": self.lease_id},
            )

    def _renew_until_stopped(self) -> None:
        # Renew at a third of the duration, so one failed renewal still leaves time for another.
        interval = self._duration / 3
        while not self._stop.wait(interval):
            try:
                self._lease.renew()
            except HttpResponseError:
                logger.exception(
                    "Failed to renew the workspace lease",
                    extra={"workspace_id": self.workspace_id, "lease_id": self.lease_id},
                )
                self._lost.set()
                return
            self.renewals += 1


class WorkspaceLocks:
    """Acquire per-workspace leases on blobs in one container."""

    def __init__(self, blobs: BlobServiceClient, *, container: str = DEFAULT_CONTAINER) -> None:
        self._container: ContainerClient = blobs.get_container_client(container)
        with suppress(ResourceExistsError):
            self._container.create_container()

    @contextmanager
    def workspace_lease(
        self, workspace_id: str, *, duration: int = MAX_DURATION, wait_seconds: float = 0
    ) -> Iterator[WorkspaceLease]:
        """Hold the lease of `workspace_id` for the `with` block.

        Raises LeaseUnavailable when another holder keeps it for longer than `wait_seconds`.
        """
        lease = self.acquire(workspace_id, duration=duration, wait_seconds=wait_seconds)
        try:
            yield lease
        finally:
            lease.release()

    def acquire(
        self, workspace_id: str, *, duration: int = MAX_DURATION, wait_seconds: float = 0
    ) -> WorkspaceLease:
        """Acquire the lease of `workspace_id`; the caller must `release()` it."""
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise ValueError(
                f"invalid lease duration {duration} s; use {MIN_DURATION} to {MAX_DURATION} s"
            )
        blob = self._container.get_blob_client(resource_key(workspace_id))
        deadline = time.monotonic() + wait_seconds
        while True:
            lease = self._try_acquire(blob, duration)
            if lease is not None:
                logger.debug(
                    "Acquired workspace lease",
                    extra={"workspace_id": workspace_id, "lease_id": lease.id},
                )
                return WorkspaceLease(workspace_id, lease, duration)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LeaseUnavailable(
                    f"workspace {workspace_id!r} is leased by another instance"
                    + (f" and stayed leased for {wait_seconds:g} s" if wait_seconds else "")
                    + "; retry after the lease expires"
                )
            time.sleep(min(_RETRY_INTERVAL_SECONDS, remaining))

    def _try_acquire(self, blob: BlobClient, duration: int) -> BlobLeaseClient | None:
        try:
            return blob.acquire_lease(lease_duration=duration)
        except ResourceNotFoundError:
            self._create_lock_blob(blob)
        except HttpResponseError as error:
            if error.status_code == 409:  # LeaseAlreadyPresent
                return None
            raise
        try:
            return blob.acquire_lease(lease_duration=duration)
        except HttpResponseError as error:
            if error.status_code == 409:
                return None
            raise

    @staticmethod
    def _create_lock_blob(blob: BlobClient) -> None:
        try:
            blob.upload_blob(b"", overwrite=False)
        except ResourceExistsError:
            pass  # created by another instance in the meantime
        except HttpResponseError as error:
            if error.status_code != 412:  # leased by another instance in the meantime
                raise
