"""The registry across a restart: what it journals, what it restores, and how a reconnecting
station's reports reconcile the restored sessions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localctl.control.registry import StationRegistry
from localctl.control.state_store import ControlStateStore
from localctl.relay.events import LinkOpened
from localctl.relay.versions import OcppVersion
from tests.control.test_registry import (
    CALL,
    CSMS,
    RESULT,
    SITE,
    STATION,
    STATIONS,
    Clock,
    frame,
    meter_16,
    profile_16,
    registry_16,
    start_16,
    status_16,
)

WALL_S = 1_700_000_000.0


def tx_profile_16(profile_id: int, transaction_id: int, limit_a: float) -> dict[str, object]:
    payload = profile_16(profile_id, limit_a)
    profiles = payload["csChargingProfiles"]
    assert isinstance(profiles, dict)
    profiles.update(chargingProfilePurpose="TxProfile", transactionId=transaction_id)
    return payload


def accept_csms_profile(registry: StationRegistry, payload: dict[str, object]) -> None:
    registry.on_link_event("CP-1", frame(CSMS, CALL, "SetChargingProfile", "sp", dict(payload)))
    registry.on_link_event(
        "CP-1", frame(STATION, RESULT, "SetChargingProfile", "sp", {"status": "Accepted"})
    )


async def running_session(tmp_path: Path) -> tuple[StationRegistry, ControlStateStore]:
    """A first process: transaction 42 on connector 1 and a CSMS TxProfile for it, journalled."""
    clock = Clock()
    registry = StationRegistry(SITE, STATIONS, clock, lambda: WALL_S)
    store = await ControlStateStore.open(tmp_path / "state.sqlite3")
    registry.journal = store
    registry.on_link_event("CP-1", LinkOpened(OcppVersion.V16))
    status_16(registry, 1, "Preparing", "p1")
    start_16(registry, 1, 42)
    status_16(registry, 1, "Charging", "c1")
    accept_csms_profile(registry, tx_profile_16(5, 42, 8.0))
    meter_16(registry, 1, [10.0, 10.0, 10.0])
    await store.close()
    return registry, store


@contextlib.asynccontextmanager
async def restarted(
    tmp_path: Path, *, wall_s: float = WALL_S + 600
) -> AsyncIterator[StationRegistry]:
    """The next process: its monotonic clock starts again at 5 s, ten minutes later; the
    station has reconnected."""
    clock = Clock()
    clock.now_s = 5.0
    registry = StationRegistry(SITE, STATIONS, clock, lambda: wall_s)
    store = await ControlStateStore.open(tmp_path / "state.sqlite3")
    try:
        state = await store.load()
        assert registry.restore("CP-1", state.stations["CP-1"]) == []
        registry.journal = store
        registry.on_link_event("CP-1", LinkOpened(OcppVersion.V16))
        yield registry
    finally:
        await store.close()


def meter_16_in(registry: StationRegistry, transaction_id: int) -> None:
    sample = {"value": "10.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"}
    payload = {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": "2026-01-01T00:00:10Z", "sampledValue": [sample]}],
    }
    registry.on_link_event("CP-1", frame(STATION, CALL, "MeterValues", "m", payload))


async def test_a_restored_session_keeps_its_transaction_arrival_and_csms_profile(
    tmp_path: Path,
) -> None:
    await running_session(tmp_path)
    async with restarted(tmp_path) as registry:
        pass
    evse = registry.stations["CP-1"].evses[1]
    assert (evse.transaction_id, evse.restored, evse.confirmed) == ("42", True, False)
    assert evse.id_token == "TAG"
    assert evse.arrival_wall_s == WALL_S
    [session] = registry.sessions()
    # Arrived 600 s of wall time ago, on a monotonic clock that now reads 5 s.
    assert session.arrival_s == pytest.approx(5.0 - 600.0)
    [profile] = registry.stations["CP-1"].csms_profiles.values()
    assert (profile.profile_id, profile.transaction_id) == (5, "42")


async def test_meter_values_naming_the_transaction_confirm_it(tmp_path: Path) -> None:
    await running_session(tmp_path)
    async with restarted(tmp_path) as registry:
        meter_16_in(registry, 42)
    evse = registry.stations["CP-1"].evses[1]
    assert (evse.transaction_id, evse.confirmed) == ("42", True)


async def test_a_16_connector_reported_available_ends_the_restored_session(
    tmp_path: Path,
) -> None:
    await running_session(tmp_path)
    async with restarted(tmp_path) as registry:
        status_16(registry, 1, "Available", "a1")
    evse = registry.stations["CP-1"].evses[1]
    assert (evse.transaction_id, evse.arrival_s) == (None, None)
    assert registry.sessions() == []
    assert registry.stations["CP-1"].csms_profiles == {}  # the TxProfile went with it
    # ... and so it is in the file too.
    async with restarted(tmp_path, wall_s=WALL_S + 700) as registry_after:
        assert registry_after.stations["CP-1"].evses[1].transaction_id is None
        assert registry_after.stations["CP-1"].csms_profiles == {}


async def test_a_stop_transaction_after_the_restart_ends_the_session_by_its_id(
    tmp_path: Path,
) -> None:
    await running_session(tmp_path)
    stop = {"transactionId": 42, "meterStop": 5000, "timestamp": "2026-01-01T01:00:00Z"}
    async with restarted(tmp_path) as registry:
        registry.on_link_event("CP-1", frame(STATION, CALL, "StopTransaction", "st", stop))
    assert registry.stations["CP-1"].evses[1].transaction_id is None


async def test_another_transaction_on_the_connector_replaces_the_restored_one(
    tmp_path: Path,
) -> None:
    await running_session(tmp_path)
    async with restarted(tmp_path) as registry:
        meter_16_in(registry, 43)
    evse = registry.stations["CP-1"].evses[1]
    assert (evse.transaction_id, evse.restored, evse.arrival_s) == ("43", False, 5.0)


async def test_meter_samples_are_not_journalled(tmp_path: Path) -> None:
    registry, _ = registry_16()
    status_16(registry, 1, "Charging", "c1")
    path = tmp_path / "state.sqlite3"
    store = await ControlStateStore.open(path)
    registry.journal = store
    for n in range(20):
        meter_16(registry, 1, [float(n)] * 3)
    writes_before_close = store.group_stats.jobs
    status_16(registry, 1, "SuspendedEV", "s1")
    await store.close()
    assert writes_before_close == 0
    assert store.group_stats.jobs == 1
