"""The outbox's exceptions, split by whose fault it is.

Misuse by the calling code (`OutboxUsageError`: closed outbox, unknown seq, a transaction id
mapped twice to different values) is apart from the store failing underneath
(`OutboxStorageError`: disk full, I/O error, the file held by another process).
"""

from __future__ import annotations

from localctl.relay.errors import LocalctlError


class OutboxError(LocalctlError):
    """Base of every exception the offline store raises."""


class OutboxUsageError(OutboxError):
    """The caller asked for something the outbox cannot do (a bug in the caller)."""


class OutboxClosedError(OutboxUsageError):
    """The outbox was used after `close()`."""


class UnknownSeqError(OutboxUsageError):
    """`acknowledge` named a seq the outbox never handed out."""


class TransactionMapConflictError(OutboxUsageError):
    """A local transaction id is already mapped to a different CSMS transaction id."""


class OutboxStorageError(OutboxError):
    """SQLite could not read or write the file; nothing of the failed call was committed."""
