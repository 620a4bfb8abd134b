"""The outbox's SQLite schema and how a file is opened, created and migrated.

Versions are counted in `PRAGMA user_version`; each migration is one script run in the same
transaction as the version bump, so a crash mid-migration leaves the old version intact.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Index i holds the script that takes a file from version i to version i + 1.
_MIGRATIONS: tuple[str, ...] = (
    """
    -- AUTOINCREMENT: a seq is never handed out twice, even after acknowledged rows are pruned.
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id TEXT NOT NULL,
        action TEXT NOT NULL,
        message_id TEXT NOT NULL,
        frame_text TEXT NOT NULL,
        local_transaction_id TEXT,
        received_wall_s REAL NOT NULL,
        -- NULL while the CSMS has not answered; the CSMS's answer frame once it has.
        result_text TEXT
    );
    -- Duplicate lookup; not UNIQUE because stations restart their message ids after a reboot.
    CREATE INDEX outbox_message ON outbox (station_id, message_id);
    -- Only pending rows are indexed, so the replay scan never walks acknowledged history.
    CREATE INDEX outbox_pending ON outbox (station_id, seq) WHERE result_text IS NULL;

    -- OCPP 1.6: the transactionId localctl gave a station offline, and the CSMS's once known.
    CREATE TABLE transaction_ids (
        station_id TEXT NOT NULL,
        local_id TEXT NOT NULL,
        csms_id TEXT,
        PRIMARY KEY (station_id, local_id)
    ) WITHOUT ROWID;
    CREATE INDEX transaction_ids_csms ON transaction_ids (station_id, csms_id);

    -- Counters and other small state of the outbox itself.
    CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO meta (name, value) VALUES ('last_local_transaction_id', 0);

    -- Generic restart state for other modules (sessions, installed floors): JSON text by key.
    CREATE TABLE kv (key TEXT PRIMARY KEY, value_json TEXT NOT NULL) WITHOUT ROWID;
    """,
    """
    -- OCPP 2.0.1 gives a resent call a new message id (part 4, 4.1.4), so a TransactionEvent
    -- sent again is known by its transactionId and seqNo instead; NULL for other messages.
    ALTER TABLE outbox ADD COLUMN retry_key TEXT;
    CREATE INDEX outbox_retry ON outbox (station_id, retry_key) WHERE retry_key IS NOT NULL;
    """,
)

SCHEMA_VERSION = len(_MIGRATIONS)

# WAL keeps readers off the writer's back and appends to one file; FULL syncs the WAL on every
# commit, so a committed message survives a power cut, not only a killed process.
_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    # One controller per file: the first writer keeps the lock, a second process is refused
    # instead of interleaving its own replay with ours.
    "PRAGMA locking_mode = EXCLUSIVE",
    # After a checkpoint the WAL is cut back to 4 MiB, so a burst does not keep its disk.
    "PRAGMA journal_size_limit = 4194304",
    "PRAGMA foreign_keys = ON",
)


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Open (or create) the file, set the pragmas, and bring the schema up to date.

    SQLite replays or discards the WAL of a crashed writer by itself on this first access; every
    change localctl makes is one transaction, so nothing half-done can remain.
    """
    connection = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=True
    )
    try:
        for pragma in _PRAGMAS:
            connection.execute(pragma)
        _migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"outbox schema version {version} is newer than this localctl ({SCHEMA_VERSION})"
            )
        for script in _MIGRATIONS[version:]:
            for statement in _statements(script):
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """Split a migration into statements: `executescript` would commit our transaction."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
