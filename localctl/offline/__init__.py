"""Offline store-and-forward: what localctl keeps on disk while the CSMS is unreachable."""

from localctl.offline.entries import OutboxEntry
from localctl.offline.errors import (
    OutboxClosedError,
    OutboxError,
    OutboxStorageError,
    OutboxUsageError,
    TransactionMapConflictError,
    UnknownSeqError,
)
from localctl.offline.outbox import Outbox

__all__ = [
    "Outbox",
    "OutboxClosedError",
    "OutboxEntry",
    "OutboxError",
    "OutboxStorageError",
    "OutboxUsageError",
    "TransactionMapConflictError",
    "UnknownSeqError",
]
