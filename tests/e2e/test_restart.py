"""A controller restart, end to end: a 1.6 station in a transaction with a CSMS TxProfile below
the local allocation; the controller stops (cleanly, or SIGKILL as a real process) and a new
one starts on the same files; the station reconnects without repeating StartTransaction and
the CSMS sends nothing again. The station must still be held to the CSMS's limit, on its
transaction."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from localctl.config.model import LocalctlConfig
from localctl.control.state_records import EvseRecord
from localctl.control.state_store import SCHEMA_VERSION, StateFileError
from localctl.service import Controller
from localctl.sim import SimError, SimStation16, StubCsms
from tests.e2e.test_closed_loop import csms_tx_profile, eventually

CSMS_LIMIT_A = 8.0
TAG = "04E91C5A2B3F80"
TOKEN = "restart-test-token"


def settings(csms_url: str, listen: str = "127.0.0.1:0", api: str | None = None) -> dict[str, Any]:
    """One three-phase EVSE on a 32 A fuse: locally it could have far more than 8 A."""
    return {
        "relay": {"listen": listen, "upstream_url": csms_url, "ping_interval_s": None},
        "site": {
            "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": 32}],
            "evses": [{"id": "a", "node": "main", "max_current_a": 32}],
        },
        "stations": [{"id": "CP-16", "evses": {1: "a"}}],
        "control": {"period_s": 0.1, "max_increase_a_per_cycle": 64, "lease_s": 2.0},
        **({"api": {"listen": api, "token": TOKEN}} if api else {}),
    }


def own_tx_profiles(station: SimStation16, after: int) -> list[dict[str, Any]]:
    """The TxProfiles the station received after its first `after` calls."""
    return [
        payload["csChargingProfiles"]
        for action, payload in station.received[after:]
        if action == "SetChargingProfile"
        and payload["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"
    ]


async def charge(station: SimStation16) -> None:
    """The EV takes what it is offered and the station reports it, in its transaction."""
    while True:
        limit_a = station.current_limit_a(1)
        with contextlib.suppress(SimError):  # cut off while the controller restarts
            await station.meter_values(1, (limit_a,) * 3, 1000.0)
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def charging(station: SimStation16) -> AsyncIterator[None]:
    task = asyncio.create_task(charge(station))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def start_capped_transaction(station: SimStation16, csms: StubCsms) -> int:
    """Boot, start a transaction, let the local limit rise, then the CSMS caps it at 8 A."""
    await station.boot()
    await station.start_charging(1, TAG)
    await eventually(lambda: station.current_limit_a(1) > 2 * CSMS_LIMIT_A)
    transaction_id = station.transaction_ids[1]
    answer = await csms.call("CP-16", csms_tx_profile(transaction_id, CSMS_LIMIT_A))
    assert answer.status == "Accepted"
    await eventually(lambda: bool(own_tx_profiles(station, 0)[-1]["chargingSchedule"]))
    await eventually(lambda: _last_own_limit(station) <= CSMS_LIMIT_A)
    return transaction_id


def _last_own_limit(station: SimStation16) -> float:
    profile = [p for p in own_tx_profiles(station, 0) if p["chargingProfileId"] != 77][-1]
    limit: float = profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    return limit


async def reconnect_and_check(
    station: SimStation16, csms: StubCsms, transaction_id: int, url: str
) -> None:
    """The station comes back as a 1.6 station does (no StartTransaction, a status report):
    every TxProfile it is then told is the controller's, names the transaction, and keeps the
    CSMS's 8 A; after its old lease has lapsed, the station is still at 8 A at most."""
    csms_calls_before = len(csms.received_calls("CP-16"))
    before = len(station.received)
    station.url = url
    await station.connect()
    await station.status(1, "Charging")
    async with charging(station):
        await eventually(lambda: len(own_tx_profiles(station, before)) >= 3)
    told = own_tx_profiles(station, before)
    assert {p["chargingProfileId"] for p in told}.isdisjoint({77})  # the CSMS sent nothing
    assert {p["transactionId"] for p in told} == {transaction_id}
    limits = [p["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] for p in told]
    assert max(limits) <= CSMS_LIMIT_A
    assert min(limits) >= 6.0  # charging goes on at the CSMS's limit, not at a floor
    assert station.current_limit_a(1) <= CSMS_LIMIT_A
    actions = [a for a, _ in csms.received("CP-16")[csms_calls_before:]]
    assert "StartTransaction" not in actions


# -- (a) a clean stop, in process ------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(config: LocalctlConfig) -> AsyncIterator[Controller]:
    controller = Controller(config)
    stop = asyncio.Event()
    task = asyncio.create_task(controller.run(stop))
    await asyncio.wait_for(controller.started.wait(), 10)
    try:
        yield controller
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def station_url(controller: Controller) -> str:
    return f"ws://127.0.0.1:{controller.relay.port}/ocpp"


async def test_a_restarted_controller_keeps_the_session_and_the_csms_limit(
    state_directory: Path,
) -> None:
    async with StubCsms() as csms:
        config = LocalctlConfig.model_validate(settings(csms.url))
        async with running(config) as first:
            station = SimStation16(station_url(first), "CP-16")
            await station.connect()
            async with charging(station):
                transaction_id = await start_capped_transaction(station, csms)
            assert first.registry is not None
            evse_before = first.registry.stations["CP-16"].evses[1]
            arrival_wall_s = evse_before.arrival_wall_s
        await asyncio.wait_for(station.wait_disconnected(), 5)
        assert (state_directory / "localctl-state.sqlite3").exists()

        async with running(config) as second:
            assert second.registry is not None
            evse = second.registry.stations["CP-16"].evses[1]
            assert (evse.transaction_id, evse.arrival_wall_s) == (
                str(transaction_id),
                arrival_wall_s,
            )
            await reconnect_and_check(station, csms, transaction_id, station_url(second))
            assert evse.confirmed  # its meter values named the transaction
            [session] = second.registry.sessions()
            assert session.arrival_s == pytest.approx(
                second.clocks.monotonic() - (time.time() - (arrival_wall_s or 0.0)), abs=0.5
            )
        await station.close()


# -- (b) SIGKILL, as a real process -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_listening(port: int, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(20):
        while True:
            assert process.returncode is None, "the controller exited"
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


async def start_process(config_file: Path, state_directory: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localctl", "run", "--config", str(config_file),
        env={**os.environ, "STATE_DIRECTORY": str(state_directory)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def session_age_s(api_port: int) -> float:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"http://127.0.0.1:{api_port}/api/v1/sessions",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    [session] = answer.json()
    age_s: float = session["connected_for_s"]
    return age_s


async def test_a_controller_killed_with_sigkill_recovers_on_restart(tmp_path: Path) -> None:
    relay_port, api_port = free_port(), free_port()
    async with StubCsms() as csms:
        config_file = tmp_path / "localctl.yaml"
        config = settings(csms.url, f"127.0.0.1:{relay_port}", f"127.0.0.1:{api_port}")
        config_file.write_text(yaml.safe_dump(config))
        url = f"ws://127.0.0.1:{relay_port}/ocpp"
        first = await start_process(config_file, tmp_path)
        try:
            await wait_listening(relay_port, first)
            station = SimStation16(url, "CP-16")
            await station.connect()
            started_s = time.monotonic()
            async with charging(station):
                transaction_id = await start_capped_transaction(station, csms)
        finally:
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
        await asyncio.wait_for(station.wait_disconnected(), 5)
        # Leave 2 s between the session's start and the restart, so an age counted from the
        # restart could not pass for one counted from the start, however fast the restart.
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - started_s)))

        second = await start_process(config_file, tmp_path)
        try:
            await wait_listening(relay_port, second)
            reconnected_s = time.monotonic()
            await reconnect_and_check(station, csms, transaction_id, url)
            # The session's age counts from its start before the kill, not from the restart.
            age_s = await session_age_s(api_port)
            since_start_s = time.monotonic() - started_s
            assert reconnected_s - started_s > 1.5  # far enough apart to tell
            assert since_start_s - 0.75 <= age_s <= since_start_s + 0.25
        finally:
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 15) == 0
        await station.close()


# -- (c) a state file that cannot be used -----------------------------------------------------


def newer_schema(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot a database" * 300)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [(garbage, "file is not a database"), (newer_schema, "newer than this localctl")],
)
async def test_an_unusable_state_file_stops_the_start_with_its_name(
    tmp_path: Path, spoil: Callable[[Path], None], reason: str
) -> None:
    state_file = tmp_path / "localctl-state.sqlite3"
    async with StubCsms() as csms:
        config = LocalctlConfig.model_validate(settings(csms.url))
        if spoil is newer_schema:  # a file a newer localctl wrote
            async with running(config):
                pass
        spoil(state_file)
        with pytest.raises(StateFileError, match=f"{state_file}.*{reason}"):
            await Controller(config).run(asyncio.Event())
        # As a process: a clear line and status 1, no traceback; the file is left for a look.
        config_file = tmp_path / "localctl.yaml"
        config_file.write_text(yaml.safe_dump(settings(csms.url)))
        process = await start_process(config_file, tmp_path)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    text = stderr.decode()
    assert process.returncode == 1
    assert f"cannot start: control state file {state_file}" in text
    assert "move the file aside" in text
    assert "Traceback" not in text
    assert state_file.exists()


async def test_a_station_no_longer_configured_is_dropped_from_the_state(
    state_directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with StubCsms() as csms:
        config = LocalctlConfig.model_validate(settings(csms.url))
        async with running(config) as first:
            assert first.state is not None
            first.state.evse_changed("CP-OLD", 1, EvseRecord(transaction_id="9"))
        async with running(config):
            pass
    assert "station CP-OLD is no longer configured" in caplog.text
    connection = sqlite3.connect(state_directory / "localctl-state.sqlite3")
    try:
        rows = connection.execute("SELECT station_id FROM evses").fetchall()
    finally:
        connection.close()
    assert ("CP-OLD",) not in rows
