from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from localctl.control.state_records import (
    ControlState,
    CsmsProfileRecord,
    EvseRecord,
    InstallRecord,
    StationState,
)
from localctl.control.state_store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    ControlStateStore,
    StateFileError,
)
from localctl.model.events import EvseStatus
from localctl.relay.versions import OcppVersion

SESSION = EvseRecord(
    EvseStatus.CHARGING, "42", 1_700_000_000.5, 1_700_003_600.0, 9000.0, 16.0, "04E91C5A"
)
PROFILE = CsmsProfileRecord(OcppVersion.V16, {"connectorId": 1, "csChargingProfiles": {"a": 1}})
LEASE = InstallRecord(12.5, 3, 1_700_000_060.0, "42")
FLOOR = InstallRecord(6.0, 3, None, None)


async def reopened(path: Path) -> ControlState:
    store = await ControlStateStore.open(path)
    try:
        return await store.load()
    finally:
        await store.close()


async def test_what_is_journalled_is_loaded_by_the_next_process(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = await ControlStateStore.open(path)
    store.evse_changed("CP-1", 1, EvseRecord(EvseStatus.OCCUPIED))
    store.evse_changed("CP-1", 1, SESSION)  # replaces the first
    store.csms_profile_accepted("CP-1", 7, PROFILE)
    store.csms_profile_accepted("CP-1", 8, PROFILE)
    store.csms_profiles_removed("CP-1", (8,))
    store.limit_installed("CP-1", "evse:a", LEASE)
    store.limit_installed("CP-1", "floor:CP-1", FLOOR)
    store.evse_changed("CP-2", 2, EvseRecord())
    await store.close()  # commits what is queued
    state = await reopened(path)
    assert state.stations["CP-1"] == StationState(
        evses={1: SESSION},
        csms_profiles={7: PROFILE},
        installed={"evse:a": LEASE, "floor:CP-1": FLOOR},
    )
    assert state.stations["CP-2"].evses == {2: EvseRecord()}


async def test_a_forgotten_station_or_evse_is_gone_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = await ControlStateStore.open(path)
    store.evse_changed("CP-1", 1, SESSION)
    store.evse_changed("CP-1", 2, SESSION)
    store.csms_profile_accepted("CP-1", 7, PROFILE)
    store.evse_changed("CP-2", 1, SESSION)
    await store.forget_evse("CP-1", 2)
    await store.forget_station("CP-2")
    await store.close()
    state = await reopened(path)
    assert set(state.stations) == {"CP-1"}
    assert set(state.stations["CP-1"].evses) == {1}
    assert set(state.stations["CP-1"].csms_profiles) == {7}


async def test_the_file_is_wal_with_full_sync_and_a_version(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = await ControlStateStore.open(path)
    await store.close()
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert connection.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    finally:
        connection.close()


async def test_journal_calls_do_not_wait_for_the_disk(tmp_path: Path) -> None:
    store = await ControlStateStore.open(tmp_path / "state.sqlite3")
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(200):
        store.evse_changed("CP-1", n, SESSION)
    queued_s = loop.time() - started
    await store.close()
    assert queued_s < 0.05  # 200 FULL-synced commits would take far longer
    assert len((await reopened(tmp_path / "state.sqlite3")).stations["CP-1"].evses) == 200


async def test_a_newer_schema_is_refused_with_the_files_name(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await (await ControlStateStore.open(path)).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(StateFileError, match=f"{path}.*newer than this localctl") as raised:
        await ControlStateStore.open(path)
    assert raised.value.path == path


async def test_a_damaged_file_is_refused_with_the_files_name(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"not sqlite at all " * 500)
    with pytest.raises(StateFileError, match=f"{path}: DatabaseError.*move the file aside"):
        await ControlStateStore.open(path)
    assert path.read_bytes().startswith(b"not sqlite")  # left as it was, for a post-mortem


async def test_unreadable_content_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await (await ControlStateStore.open(path)).close()
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO evses (station_id, ocpp_evse_id, status) VALUES ('C', 1, 'x')")
    connection.commit()
    connection.close()
    store = await ControlStateStore.open(path)
    try:
        with pytest.raises(StateFileError, match=f"{path}: ValueError"):
            await store.load()
    finally:
        await store.close()


async def test_another_sqlite_file_is_not_taken_for_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "localctl-outbox.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE outbox (seq INTEGER)")
    connection.close()
    with pytest.raises(StateFileError, match="not a localctl state file"):
        await ControlStateStore.open(path)


async def test_a_second_process_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = await ControlStateStore.open(path)
    try:
        with pytest.raises(StateFileError, match="another localctl process uses it"):
            await ControlStateStore.open(path, busy_timeout_s=0.05)
    finally:
        await first.close()


async def test_a_change_after_close_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await ControlStateStore.open(tmp_path / "state.sqlite3")
    await store.close()
    with caplog.at_level(logging.ERROR, "localctl.control.state"):
        store.limit_installed("CP-1", "floor:CP-1", FLOOR)
    assert "was not saved" in caplog.text
