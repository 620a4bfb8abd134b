"""The durable outbox: transaction messages kept on disk until the CSMS has answered them.

Calling contract:

- Every method is a coroutine run on the event loop; the SQLite work happens on one writer
  thread (`GroupCommitWriter`) and the loop is never blocked by I/O.
- A method that changes state returns only after its transaction is committed with
  `synchronous=FULL` in WAL mode: the change is on disk when the await returns. Appends that
  arrive while a commit is under way share the next transaction and its single fsync.
- Calls are carried out in the order they were made (the job is queued before the coroutine
  first suspends), so seq order is call order and one station's messages keep their order
  however many stations append at once.
- Duplicates: appending a frame already stored for the same station and message id returns the
  stored entry (with its seq and its `local_transaction_id`, which is what the station was
  told). The same message id with a different frame is stored as a new message. An append
  with a `retry_key` is a duplicate of the stored entry with the same key, whatever its id.
- Cancelling an await does not withdraw the change; it may still be committed.

OCPP 1.6 local transaction ids are negative integers from one counter kept in the file
(-1, -2, ...): the CSMS's ids are positive, so the two never collide, and the counter only moves
down, across restarts too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import orjson

from localctl.offline import queries
from localctl.offline.entries import OutboxEntry
from localctl.offline.errors import OutboxUsageError
from localctl.offline.schema import connect
from localctl.offline.writer import GroupCommitWriter, WriterFile

T = TypeVar("T")

__all__ = ["Outbox", "OutboxEntry"]


class Outbox(WriterFile):
    """One SQLite file of pending transaction messages, 1.6 id maps and restart state.
    Use `await Outbox.open(path)`."""

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_s: float = 1.0) -> Outbox:
        """Open or create the file, migrate its schema, and recover from a crash.

        Raises `OutboxStorageError` if the file is unreadable or another process holds it
        (after waiting `busy_timeout_s`).
        """
        writer = GroupCommitWriter(partial(connect, path, busy_timeout_s), f"outbox:{path.name}")
        await writer.start()
        return cls(path, writer)

    # -- messages ------------------------------------------------------------------------------

    async def append(
        self,
        station_id: str,
        action: str,
        message_id: str,
        frame_text: str,
        *,
        local_transaction_id: str | None = None,
        received_wall_s: float,
        retry_key: str | None = None,
    ) -> OutboxEntry:
        """Store a station's CALL; durable on return. A duplicate returns the stored entry.

        `retry_key`, if given, identifies the message across resends with new message ids
        (see `localctl.relay.offline.retry_key`)."""
        job = partial(
            queries.insert_entry,
            station_id=station_id,
            action=action,
            message_id=message_id,
            frame_text=frame_text,
            local_transaction_id=local_transaction_id,
            received_wall_s=received_wall_s,
            retry_key=retry_key,
        )
        return await self._run(job)

    async def pending(
        self, station_id: str, limit: int = 100, *, after_seq: int = 0
    ) -> list[OutboxEntry]:
        """Entries of `station_id` the CSMS has not answered, in seq order, from `after_seq`.

        `after_seq` lets a replay read the next page while the previous one is in flight.
        """
        if limit < 1:
            raise OutboxUsageError(f"limit must be at least 1, not {limit}")
        return await self._run(
            partial(
                queries.pending_entries, station_id=station_id, limit=limit, after_seq=after_seq
            )
        )

    async def acknowledge(
        self, seq: int, result_text: str, *, csms_transaction_id: str | None = None
    ) -> None:
        """The CSMS answered entry `seq` with `result_text`; durable on return.

        With `csms_transaction_id` (a replayed 1.6 StartTransaction), the entry's local
        transaction id is mapped in the same transaction, so a crash can never leave the
        message acknowledged but its id unmapped. Acknowledging twice keeps the first answer.
        """
        await self.acknowledge_soon(seq, result_text, csms_transaction_id=csms_transaction_id)

    def acknowledge_soon(
        self, seq: int, result_text: str, *, csms_transaction_id: str | None = None
    ) -> asyncio.Future[None]:
        """`acknowledge`, queued at once without a coroutine: the future resolves when the
        change is durable, or fails with what `acknowledge` would raise. For a replay's hot
        path, where a task per answered message costs more than the SQLite work."""
        return self._writer.submit(
            partial(
                queries.acknowledge_entry,
                seq=seq,
                result_text=result_text,
                csms_transaction_id=csms_transaction_id,
            )
        )

    async def backlog(self) -> dict[str, int]:
        """Station id -> number of pending entries (stations with none are left out)."""
        return await self._run(queries.backlog)

    async def prune_acknowledged(self, received_before_wall_s: float) -> int:
        """Delete answered entries received before the given time; returns how many.

        Duplicates are only recognised while their first copy is kept, so keep at least as long
        as a station may retry a message.
        """
        return await self._run(
            partial(queries.prune_acknowledged, received_before_wall_s=received_before_wall_s)
        )

    # -- OCPP 1.6 transaction ids --------------------------------------------------------------

    async def next_local_transaction_id(self, station_id: str) -> int:
        """A fresh negative transactionId for a StartTransaction answered offline; durable."""
        return await self._run(partial(queries.next_local_transaction_id, station_id=station_id))

    async def map_transaction(self, station_id: str, local_id: str, csms_id: str) -> None:
        """Record the CSMS's id for a local one; durable. Mapping again to another id raises
        `TransactionMapConflictError`."""
        await self._run(
            partial(
                queries.map_transaction, station_id=station_id, local_id=local_id, csms_id=csms_id
            )
        )

    async def csms_transaction_id(self, station_id: str, local_id: str) -> str | None:
        """The CSMS's id for a local one, or None while not yet known (or never issued)."""
        return await self._run(
            partial(queries.csms_transaction_id, station_id=station_id, local_id=local_id)
        )

    async def local_transaction_id(self, station_id: str, csms_id: str) -> str | None:
        """The reverse: the local id the station knows, for a CSMS call naming `csms_id`."""
        return await self._run(
            partial(queries.local_transaction_id, station_id=station_id, csms_id=csms_id)
        )

    async def transaction_map(self, station_id: str) -> dict[str, str]:
        """Every local id of `station_id` the CSMS has given its own id for: local -> CSMS."""
        return await self._run(partial(queries.transaction_map, station_id=station_id))

    # -- restart state -------------------------------------------------------------------------

    async def set(self, key: str, value_json: str) -> None:
        """Store JSON text under `key` (replacing any value); durable. Invalid JSON raises
        `OutboxUsageError` before anything is written."""
        try:
            orjson.loads(value_json)
        except orjson.JSONDecodeError as error:
            raise OutboxUsageError(f"value for {key!r} is not JSON: {error}") from error
        await self._run(partial(queries.set_value, key=key, value_json=value_json))

    async def get(self, key: str) -> str | None:
        """The JSON text stored under `key`, or None."""
        return await self._run(partial(queries.get_value, key=key))

    async def delete(self, key: str) -> None:
        """Forget `key`; durable. Deleting a missing key is not an error."""
        await self._run(partial(queries.delete_value, key=key))

    async def _run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return await self._writer.submit(job)
