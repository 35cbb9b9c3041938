"""Durable state in Azure Storage: queues, coalescing markers, findings, history, leases.

Every store takes a service client from `StorageClients`, which connects with a connection
string (Azurite in development) or with identity-based settings and a caller's credential.
"""

from remediators.state.audit import AuditLog, AuditRecord
from remediators.state.blobs import SaveOutcome, Snapshot, SnapshotConflict, SnapshotStore
from remediators.state.clients import StorageClients, StorageSettingsError
from remediators.state.coalesce import Coalescer, CoalesceResult
from remediators.state.findings import FindingsDelta, FindingsStore, StoredFinding
from remediators.state.history import NetworkHistoryStore
from remediators.state.keys import resource_key
from remediators.state.leases import LeaseLost, LeaseUnavailable, WorkspaceLease, WorkspaceLocks
from remediators.state.queues import EvaluationQueue, EvaluationRequest, PoisonRecord
from remediators.state.watermarks import Watermarks

__all__ = [
    "AuditLog",
    "AuditRecord",
    "CoalesceResult",
    "Coalescer",
    "EvaluationQueue",
    "EvaluationRequest",
    "FindingsDelta",
    "FindingsStore",
    "LeaseLost",
    "LeaseUnavailable",
    "NetworkHistoryStore",
    "PoisonRecord",
    "SaveOutcome",
    "Snapshot",
    "SnapshotConflict",
    "SnapshotStore",
    "StorageClients",
    "StorageSettingsError",
    "StoredFinding",
    "Watermarks",
    "WorkspaceLease",
    "WorkspaceLocks",
    "resource_key",
]
