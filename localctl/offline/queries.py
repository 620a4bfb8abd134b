"""The outbox's reads and writes as plain functions of a connection, run on the writer thread.

Each function is one job: the writer wraps it in a savepoint inside a group transaction, so it
either happens whole or not at all.
"""

from __future__ import annotations

import sqlite3

from localctl.offline.entries import ENTRY_COLUMNS, OutboxEntry, entry_from_row
from localctl.offline.errors import (
    OutboxUsageError,
    TransactionMapConflictError,
    UnknownSeqError,
)

# OCPP 1.6 transactionId is a JSON integer, which station firmware commonly holds in 32 bits.
LOCAL_TRANSACTION_ID_FLOOR = -(2**31)


def find_duplicate(
    connection: sqlite3.Connection,
    station_id: str,
    message_id: str,
    frame_text: str,
    retry_key: str | None = None,
) -> OutboxEntry | None:
    """The stored copy of this very message, if the station sent it before.

    A reused message id with a different frame is a different message (stations restart their
    id counters after a reboot), so it is not a duplicate. With a `retry_key` (a 2.0.1
    TransactionEvent's transactionId and seqNo) that key alone decides: a 2.0.1 station resends
    under a new message id.
    """
    if retry_key is not None:
        row = connection.execute(
            f"SELECT {ENTRY_COLUMNS} FROM outbox INDEXED BY outbox_retry"
            " WHERE station_id = ? AND retry_key = ? ORDER BY seq LIMIT 1",
            (station_id, retry_key),
        ).fetchone()
    else:
        row = connection.execute(
            f"SELECT {ENTRY_COLUMNS} FROM outbox"
            " WHERE station_id = ? AND message_id = ? AND frame_text = ? ORDER BY seq LIMIT 1",
            (station_id, message_id, frame_text),
        ).fetchone()
    return None if row is None else entry_from_row(row)


def insert_entry(
    connection: sqlite3.Connection,
    *,
    station_id: str,
    action: str,
    message_id: str,
    frame_text: str,
    local_transaction_id: str | None,
    received_wall_s: float,
    retry_key: str | None = None,
) -> OutboxEntry:
    """Store the frame unless it is a duplicate; return the stored entry either way."""
    existing = find_duplicate(connection, station_id, message_id, frame_text, retry_key)
    if existing is not None:
        return existing
    cursor = connection.execute(
        "INSERT INTO outbox (station_id, action, message_id, frame_text,"
        " local_transaction_id, received_wall_s, retry_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            station_id,
            action,
            message_id,
            frame_text,
            local_transaction_id,
            received_wall_s,
            retry_key,
        ),
    )
    seq = cursor.lastrowid
    assert seq is not None
    return OutboxEntry(
        seq, station_id, action, message_id, frame_text, local_transaction_id, received_wall_s
    )


def pending_entries(
    connection: sqlite3.Connection, station_id: str, limit: int, after_seq: int
) -> list[OutboxEntry]:
    rows = connection.execute(
        f"SELECT {ENTRY_COLUMNS} FROM outbox INDEXED BY outbox_pending"
        " WHERE station_id = ? AND result_text IS NULL AND seq > ? ORDER BY seq LIMIT ?",
        (station_id, after_seq, limit),
    ).fetchall()
    return [entry_from_row(row) for row in rows]


def acknowledge_entry(
    connection: sqlite3.Connection, seq: int, result_text: str, csms_transaction_id: str | None
) -> None:
    """Mark `seq` answered (the first answer stays); map its local transaction id if given."""
    row = connection.execute(
        "SELECT station_id, local_transaction_id FROM outbox WHERE seq = ?", (seq,)
    ).fetchone()
    if row is None:
        raise UnknownSeqError(f"no outbox entry with seq {seq}")
    station_id, local_id = row
    if csms_transaction_id is not None:
        if local_id is None:
            raise OutboxUsageError(f"seq {seq} carries no local transaction id to map")
        # A conflict raises here, before the entry is marked answered.
        map_transaction(connection, station_id, local_id, csms_transaction_id)
    connection.execute(
        "UPDATE outbox SET result_text = ? WHERE seq = ? AND result_text IS NULL",
        (result_text, seq),
    )


def backlog(connection: sqlite3.Connection) -> dict[str, int]:
    rows = connection.execute(
        "SELECT station_id, count(*) FROM outbox INDEXED BY outbox_pending"
        " WHERE result_text IS NULL GROUP BY station_id"
    ).fetchall()
    return dict(rows)


def prune_acknowledged(connection: sqlite3.Connection, received_before_wall_s: float) -> int:
    cursor = connection.execute(
        "DELETE FROM outbox WHERE result_text IS NOT NULL AND received_wall_s < ?",
        (received_before_wall_s,),
    )
    return cursor.rowcount


def map_transaction(
    connection: sqlite3.Connection, station_id: str, local_id: str, csms_id: str
) -> None:
    current = connection.execute(
        "SELECT csms_id FROM transaction_ids WHERE station_id = ? AND local_id = ?",
        (station_id, local_id),
    ).fetchone()
    if current is not None and current[0] not in (None, csms_id):
        raise TransactionMapConflictError(
            f"{station_id}: local transaction {local_id} is already mapped to {current[0]},"
            f" not {csms_id}"
        )
    connection.execute(
        "INSERT INTO transaction_ids (station_id, local_id, csms_id) VALUES (?, ?, ?)"
        " ON CONFLICT (station_id, local_id) DO UPDATE SET csms_id = excluded.csms_id",
        (station_id, local_id, csms_id),
    )


def csms_transaction_id(
    connection: sqlite3.Connection, station_id: str, local_id: str
) -> str | None:
    row = connection.execute(
        "SELECT csms_id FROM transaction_ids WHERE station_id = ? AND local_id = ?",
        (station_id, local_id),
    ).fetchone()
    return None if row is None else row[0]


def local_transaction_id(
    connection: sqlite3.Connection, station_id: str, csms_id: str
) -> str | None:
    row = connection.execute(
        "SELECT local_id FROM transaction_ids WHERE station_id = ? AND csms_id = ?",
        (station_id, csms_id),
    ).fetchone()
    return None if row is None else row[0]


def transaction_map(connection: sqlite3.Connection, station_id: str) -> dict[str, str]:
    rows = connection.execute(
        "SELECT local_id, csms_id FROM transaction_ids"
        " WHERE station_id = ? AND csms_id IS NOT NULL",
        (station_id,),
    ).fetchall()
    return {str(local_id): str(csms_id) for local_id, csms_id in rows}


def next_local_transaction_id(connection: sqlite3.Connection, station_id: str) -> int:
    """The next negative id from the file's counter, recorded as issued to `station_id`.

    Negative: a CSMS hands out positive transaction ids, so the two can never collide. One
    counter for the whole file: a local id names one transaction site-wide, which keeps logs
    unambiguous.
    """
    (last,) = connection.execute(
        "SELECT value FROM meta WHERE name = 'last_local_transaction_id'"
    ).fetchone()
    issued = last - 1
    # An id the caller mapped by hand (`map_transaction`) is skipped, never handed out again.
    while _is_recorded(connection, station_id, issued):
        issued -= 1
    if issued < LOCAL_TRANSACTION_ID_FLOOR:
        raise OutboxUsageError("local transaction ids exhausted (2**31 issued)")
    connection.execute(
        "UPDATE meta SET value = ? WHERE name = 'last_local_transaction_id'", (issued,)
    )
    connection.execute(
        "INSERT INTO transaction_ids (station_id, local_id, csms_id) VALUES (?, ?, NULL)",
        (station_id, str(issued)),
    )
    return int(issued)


def _is_recorded(connection: sqlite3.Connection, station_id: str, local_id: int) -> bool:
    row = connection.execute(
        "SELECT 1 FROM transaction_ids WHERE station_id = ? AND local_id = ?",
        (station_id, str(local_id)),
    ).fetchone()
    return row is not None


def set_value(connection: sqlite3.Connection, key: str, value_json: str) -> None:
    connection.execute(
        "INSERT INTO kv (key, value_json) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json",
        (key, value_json),
    )


def get_value(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value_json FROM kv WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def delete_value(connection: sqlite3.Connection, key: str) -> None:
    connection.execute("DELETE FROM kv WHERE key = ?", (key,))
