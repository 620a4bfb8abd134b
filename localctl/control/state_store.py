"""The control state file: sessions, the CSMS's profiles and installed limits, across restarts.

Calling contract:

- `await ControlStateStore.open(path)` opens or creates the file and checks it;
  `await store.load()` reads everything back. Both raise `StateFileError` (naming the file)
  when the file is not a localctl state file, is damaged, was written by a newer localctl, or
  is held by another process.
- The `StateJournal` methods are called on the event loop and return at once: each change is
  queued to the outbox's writer thread (`GroupCommitWriter`), committed in call order, several
  in one transaction when they arrive together. A failed write is logged, never raised into
  the registry or the loop: control goes on, only the restart would miss that change.
- `await store.close()` commits everything queued, then closes the file.
"""

from __future__ import annotations

import logging
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from localctl.control.state_records import (
    ControlState,
    CsmsProfileRecord,
    EvseRecord,
    InstallRecord,
    StationState,
)
from localctl.model.events import EvseStatus
from localctl.offline.errors import OutboxError
from localctl.offline.writer import GroupCommitWriter, Job, WriterFile
from localctl.relay.errors import LocalctlError
from localctl.relay.versions import OcppVersion

log = logging.getLogger("localctl.control.state")

# 'LCST': tells a state file from any other SQLite file (an outbox named by mistake, say).
APPLICATION_ID = 0x4C435354

# Index i: the statements that take a file from version i to version i + 1.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE evses (
            station_id TEXT NOT NULL,
            ocpp_evse_id INTEGER NOT NULL,
            status TEXT,
            transaction_id TEXT,
            arrival_wall_s REAL,
            departure_wall_s REAL,
            energy_needed_wh REAL,
            ev_max_current_a REAL,
            id_token TEXT,
            PRIMARY KEY (station_id, ocpp_evse_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE csms_profiles (
            station_id TEXT NOT NULL,
            profile_id INTEGER NOT NULL,
            ocpp_version TEXT NOT NULL,
            payload_json TEXT NOT NULL,
            PRIMARY KEY (station_id, profile_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE installed (
            station_id TEXT NOT NULL,
            limit_key TEXT NOT NULL,
            limit_a REAL NOT NULL,
            phases INTEGER NOT NULL,
            lease_until_wall_s REAL,
            transaction_id TEXT,
            PRIMARY KEY (station_id, limit_key)
        ) WITHOUT ROWID""",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)

# The columns after the status, named as the `EvseRecord` fields they hold.
_EVSE_COLUMNS = (
    "transaction_id",
    "arrival_wall_s",
    "departure_wall_s",
    "energy_needed_wh",
    "ev_max_current_a",
    "id_token",
)
_INSERT_EVSE = (
    f"INSERT OR REPLACE INTO evses (station_id, ocpp_evse_id, status, {', '.join(_EVSE_COLUMNS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(_EVSE_COLUMNS))})"
)
_SELECT_EVSES = f"SELECT station_id, ocpp_evse_id, status, {', '.join(_EVSE_COLUMNS)} FROM evses"

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    # FULL, not NORMAL: NORMAL in WAL mode may lose the last commits on a power cut, and the
    # last commit may be a CSMS profile the station has accepted. Forgetting it would let the
    # controller's own higher-stacked limit override the CSMS's on the station after the
    # restart. Writes come only with session and profile changes, a few a minute, so the
    # extra fsync per commit costs nothing that matters.
    "PRAGMA synchronous = FULL",
    # One controller per file: a second process is refused instead of mixing its state in.
    "PRAGMA locking_mode = EXCLUSIVE",
)


class ControlStateError(LocalctlError):
    """Base of the control state store's exceptions."""


class StateFileError(ControlStateError, OSError):
    """The state file cannot be used. Also an OSError: like a port that is taken, it is a
    resource the controller cannot start without, and is reported as such."""

    def __init__(self, path: Path, reason: str) -> None:
        hint = _LOCKED_HINT if "locked" in reason else _UNUSABLE_HINT
        super().__init__(f"control state file {path}: {reason}; {hint}")
        self.path = path


_LOCKED_HINT = "another localctl process uses it"
# Refusing is the safe side: with the controller down, stations keep their floors and, once
# its leases lapse, the CSMS's own profiles bind again; started with nothing, its new leases
# would override CSMS limits it no longer knows of.
_UNUSABLE_HINT = (
    "localctl does not start on it, so as not to override CSMS limits it would no longer "
    "know; move the file aside to start with no restored state"
)


class ControlStateStore(WriterFile):
    """The state file; a `StateJournal`. Use `await ControlStateStore.open(path)`."""

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_s: float = 1.0) -> ControlStateStore:
        writer = GroupCommitWriter(partial(_connect, path, busy_timeout_s), f"state:{path.name}")
        try:
            await writer.start()
        except (OutboxError, sqlite3.Error, OSError) as error:
            if isinstance(error, StateFileError):
                raise
            raise StateFileError(path, _reason(error)) from error
        return cls(path, writer)

    async def load(self) -> ControlState:
        try:
            return await self._writer.submit(_load)
        except (OutboxError, sqlite3.Error, ValueError, KeyError, TypeError) as error:
            raise StateFileError(self.path, _reason(error)) from error

    async def forget_station(self, station_id: str) -> None:
        """Drop everything of a station no longer configured; durable on return."""
        await self._writer.submit(partial(_forget_station, station_id=station_id))

    async def forget_evse(self, station_id: str, ocpp_evse_id: int) -> None:
        await self._writer.submit(
            partial(_forget_evse, station_id=station_id, ocpp_evse_id=ocpp_evse_id)
        )

    # -- StateJournal ----------------------------------------------------------------------

    def evse_changed(self, station_id: str, ocpp_evse_id: int, record: EvseRecord) -> None:
        status = None if record.status is None else record.status.value
        values = (station_id, ocpp_evse_id, status, *(getattr(record, c) for c in _EVSE_COLUMNS))
        self._queue(partial(_execute, _INSERT_EVSE, values))

    def csms_profile_accepted(
        self, station_id: str, profile_id: int, record: CsmsProfileRecord
    ) -> None:
        payload = orjson.dumps(record.payload).decode()
        values = (station_id, profile_id, record.version.value, payload)
        sql = "INSERT OR REPLACE INTO csms_profiles VALUES (?,?,?,?)"
        self._queue(partial(_execute, sql, values))

    def csms_profiles_removed(self, station_id: str, profile_ids: tuple[int, ...]) -> None:
        sql = "DELETE FROM csms_profiles WHERE station_id = ? AND profile_id = ?"
        self._queue(partial(_execute_many, sql, [(station_id, i) for i in profile_ids]))

    def limit_installed(self, station_id: str, key: str, record: InstallRecord) -> None:
        values = (
            station_id,
            key,
            record.limit_a,
            record.phases,
            record.lease_until_wall_s,
            record.transaction_id,
        )
        self._queue(
            partial(_execute, "INSERT OR REPLACE INTO installed VALUES (?,?,?,?,?,?)", values)
        )

    def _queue(self, job: Job[None]) -> None:
        try:
            future = self._writer.submit(job)
        except OutboxError as error:
            log.error("control state %s: a change was not saved: %s", self.path, error)
            return
        future.add_done_callback(self._written)

    def _written(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error(
                "control state %s: a change was not saved (a restart would miss it): %s",
                self.path,
                future.exception(),
            )


# -- on the writer thread ------------------------------------------------------------------


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        for pragma in _PRAGMAS:
            connection.execute(pragma)
        _check(connection, path)
        _migrate(connection)
        # Take the write lock now and keep it (exclusive mode), not at the first change.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        connection.close()
        raise StateFileError(path, _reason(error)) from error
    except BaseException:
        connection.close()
        raise
    return connection


def _check(connection: sqlite3.Connection, path: Path) -> None:
    (result,) = connection.execute("PRAGMA quick_check").fetchone()
    if result != "ok":
        raise StateFileError(path, f"damaged ({result})")
    (application_id,) = connection.execute("PRAGMA application_id").fetchone()
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if application_id != APPLICATION_ID and (application_id or version or tables):
        raise StateFileError(path, "not a localctl state file")
    if version > SCHEMA_VERSION:
        raise StateFileError(
            path, f"schema version {version} is newer than this localctl's ({SCHEMA_VERSION})"
        )


def _migrate(connection: sqlite3.Connection) -> None:
    """Each step runs in one transaction with its version bump: a crash keeps the old one."""
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    for target, statements in enumerate(_MIGRATIONS[version:], start=version + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {target}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _execute(sql: str, values: tuple[object, ...], connection: sqlite3.Connection) -> None:
    connection.execute(sql, values)


def _execute_many(sql: str, rows: list[tuple[object, ...]], connection: sqlite3.Connection) -> None:
    connection.executemany(sql, rows)


def _forget_station(connection: sqlite3.Connection, station_id: str) -> None:
    for table in ("evses", "csms_profiles", "installed"):
        connection.execute(f"DELETE FROM {table} WHERE station_id = ?", (station_id,))


def _forget_evse(connection: sqlite3.Connection, station_id: str, ocpp_evse_id: int) -> None:
    connection.execute(
        "DELETE FROM evses WHERE station_id = ? AND ocpp_evse_id = ?", (station_id, ocpp_evse_id)
    )


def _load(connection: sqlite3.Connection) -> ControlState:
    stations: dict[str, StationState] = {}

    def station(station_id: str) -> StationState:
        return stations.setdefault(station_id, StationState())

    for station_id, ocpp_evse_id, status, *rest in connection.execute(_SELECT_EVSES):
        fields = dict(zip(_EVSE_COLUMNS, rest, strict=True))
        evse_status = None if status is None else EvseStatus(status)
        station(station_id).evses[int(ocpp_evse_id)] = EvseRecord(evse_status, **fields)
    for station_id, profile_id, version, payload in connection.execute(
        "SELECT station_id, profile_id, ocpp_version, payload_json FROM csms_profiles"
    ):
        loaded = orjson.loads(payload)
        if not isinstance(loaded, dict):
            raise TypeError(f"profile {profile_id} of {station_id} is not a JSON object")
        record = CsmsProfileRecord(OcppVersion(version), loaded)
        station(station_id).csms_profiles[int(profile_id)] = record
    for station_id, key, limit_a, phases, lease_until, transaction_id in connection.execute(
        "SELECT station_id, limit_key, limit_a, phases, lease_until_wall_s, transaction_id "
        "FROM installed"
    ):
        record_i = InstallRecord(float(limit_a), int(phases), lease_until, transaction_id)
        station(station_id).installed[key] = record_i
    return ControlState(stations)


def _reason(error: BaseException) -> str:
    cause = error.__cause__ if isinstance(error, OutboxError) and error.__cause__ else error
    return f"{type(cause).__name__}: {cause}"
