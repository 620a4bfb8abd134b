"""The fault matrix of offline store and forward (issue #6): each fault against a real relay,
a real SQLite outbox and a recording CSMS, with scripted stations that deliver their
transaction messages as OCPP requires. Every case checks the CSMS's record against what the
station sent: 0 lost, 0 reordered, and exactly the duplicates OCPP allows (a copy the CSMS
received but whose answer never went out).

Time is accelerated: a station sends its samples (10 s apart in their timestamps) as fast as
the relay answers, reconnects back off from 50 ms, and waits are scaled as each case says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from localctl.offline import Outbox
from tests.faults.conftest import RelayFactory
from tests.faults.controller import ControllerProcess, write_config
from tests.faults.csms import Outcome, RecordingCsms
from tests.faults.proxy import PartitionProxy
from tests.faults.stations import ScriptedStation
from tests.faults.tally import MATRIX, Tally

VERSIONS = ["1.6", "2.0.1"]
CASE_TIMEOUT_S = 40.0
PING_INTERVAL_S = 0.2
PING_TIMEOUT_S = 0.3


def station_at(url: Callable[[], str], version: str) -> ScriptedStation:
    return ScriptedStation("CP-1", version, url)


@asynccontextmanager
async def through_relay(
    relay: RelayFactory, upstream_url: str, version: str, **overrides: object
) -> AsyncIterator[ScriptedStation]:
    """A station connected to a fresh in-process relay, the whole case under a time limit."""
    async with asyncio.timeout(CASE_TIMEOUT_S), relay(upstream_url, **overrides) as server:
        station = station_at(lambda: f"ws://127.0.0.1:{server.port}/ocpp", version)
        async with station:
            yield station


async def store_offline(csms: RecordingCsms, station: ScriptedStation, samples: int) -> None:
    """Start the transaction online, then send `samples` meter values with the CSMS down."""
    await station.start_transaction()
    await csms.stop()
    await station.meter_values(samples)


async def finish(csms: RecordingCsms, station: ScriptedStation) -> None:
    """Stop the transaction and wait until the CSMS has answered a copy of everything."""
    await station.stop_transaction()

    def done() -> bool:
        answered = {
            r.marker for r in csms.received(station.station_id) if r.outcome is Outcome.ANSWERED
        }
        return set(station.sent) <= answered

    await csms.wait_until(done)


def tally(case: str, csms: RecordingCsms, station: ScriptedStation) -> Tally:
    """The case's row of the matrix, checked for what every case requires."""
    result = Tally.of(case, station.version, station.sent, csms.received(station.station_id))
    MATRIX.append(result)
    assert (result.lost, result.reordered) == (0, 0), result
    assert result.sent == len(set(station.sent)), "a station sends each marker once"
    _check_transaction_ids(csms, station)
    return result


def _check_transaction_ids(csms: RecordingCsms, station: ScriptedStation) -> None:
    """Every message names a transaction the CSMS knows: in 1.6 an id it issued (a local id
    mapped), in 2.0.1 the station's own id."""
    refs = {r.transaction_ref for r in csms.received(station.station_id) if r.transaction_ref}
    if station.version == "1.6":
        assert refs <= csms.issued_ids(station.station_id), refs
    else:
        assert refs == {station.transaction_id}


async def outage(csms: RecordingCsms, station: ScriptedStation, samples: int) -> None:
    """`samples` meter values while the CSMS is away; the station goes on at once when it is
    back, so its next message is answered offline or waits behind the replay."""
    await store_offline(csms, station, samples)
    await csms.start()
    await station.meter_values(1)
    await finish(csms, station)


@pytest.mark.parametrize("version", VERSIONS)
async def test_csms_down_for_one_minute(
    csms: RecordingCsms, relay: RelayFactory, version: str
) -> None:
    """Six samples 10 s apart while the CSMS is down."""
    async with through_relay(relay, csms.url, version) as station:
        await outage(csms, station, 6)
    assert tally("CSMS down 1 min", csms, station).duplicates == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_csms_down_for_one_hour(
    csms: RecordingCsms, relay: RelayFactory, outbox: Outbox, version: str
) -> None:
    """360 samples 10 s apart while the CSMS is down, each stored before it is answered."""
    async with through_relay(relay, csms.url, version) as station:
        await outage(csms, station, 360)
    result = tally("CSMS down 1 h", csms, station)
    assert (result.sent, result.duplicates) == (1 + 360 + 1 + 1, 0)
    assert await outbox.backlog() == {}


@pytest.mark.parametrize("version", VERSIONS)
async def test_csms_down_while_a_transaction_starts(
    csms: RecordingCsms, relay: RelayFactory, version: str
) -> None:
    """The CSMS crashes on receiving the start, before answering: the relay answers the
    station offline and replays the start. The CSMS got the first copy, so the second is the
    one duplicate OCPP allows."""
    csms.crash_when = lambda receipt: receipt.marker == 0
    async with through_relay(relay, csms.url, version) as station:
        await station.start_transaction()
        await csms.crashed()
        await station.meter_values(3)
        await csms.start()
        await station.meter_values(1)
        await finish(csms, station)
    result = tally("CSMS down as a transaction starts", csms, station)
    assert result.duplicates == result.duplicates_after_lost_answer == 1
    if version == "1.6":  # answered offline: a local id, mapped to the CSMS's on replay
        assert isinstance(station.transaction_id, int) and station.transaction_id < 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_csms_restarting_during_replay(
    csms: RecordingCsms, relay: RelayFactory, version: str
) -> None:
    """The CSMS shuts down while it holds the answer to the eighth message of the replay and
    comes back at once: the replay resumes from the outbox. The held copy is the one
    duplicate allowed."""
    async with through_relay(relay, csms.url, version) as station:
        await store_offline(csms, station, 20)
        csms.answer_delay_s = 0.1
        await csms.start()
        await csms.wait_until(lambda: len(csms.receipts) == 1 + 8)
        await csms.stop()
        csms.answer_delay_s = 0.0
        await csms.start()
        await finish(csms, station)
    result = tally("CSMS restarts during replay", csms, station)
    assert result.duplicates == result.duplicates_after_lost_answer == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_controller_killed_during_replay(
    csms: RecordingCsms, tmp_path: Path, version: str
) -> None:
    """`localctl run` is killed with SIGKILL while the CSMS (answering after 0.5 s) holds the
    answer to the fifth replayed message; a new process on the same outbox finishes the replay
    once the station has reconnected. The held copy is the one duplicate allowed. The kill
    comes 0.2 s after the fifth message arrived, so the fourth's answer, received by then, is
    durably marked (an answer received but not yet marked when the process dies would be
    replayed once more: OCPP's at-least-once, but not what this case measures)."""
    config = write_config(tmp_path / "localctl.yaml", csms.url, tmp_path / "outbox.sqlite3", {})
    first, second = ControllerProcess(config), ControllerProcess(config)
    current = first
    station = station_at(lambda: f"ws://127.0.0.1:{current.port}/ocpp", version)
    try:
        async with asyncio.timeout(CASE_TIMEOUT_S):
            await first.start()
            async with station:
                await store_offline(csms, station, 20)
                csms.answer_delay_s = 0.5
                await csms.start()
                await csms.wait_until(lambda: len(csms.receipts) == 1 + 5)
                await asyncio.sleep(0.2)
                await first.kill()
                csms.answer_delay_s = 0.0
                station.keep_connected()
                await second.start()
                current = second
                await finish(csms, station)
    finally:
        await first.stop()
        await second.stop()
    result = tally("controller killed during replay", csms, station)
    assert result.duplicates == result.duplicates_after_lost_answer == 1


async def test_station_disconnecting_in_the_middle_of_a_call(
    csms: RecordingCsms, relay: RelayFactory
) -> None:
    """The station's network drops while the CSMS holds the answer to a meter value: the
    relay closes the CSMS socket with it, the answer is lost, and the station sends the call
    again after reconnecting, under the same message id (OCPP-J 1.6 errata). The CSMS gets
    it twice, the duplicate OCPP allows."""
    async with through_relay(relay, csms.url, "1.6") as station:
        await station.start_transaction()
        await station.meter_values(2)
        csms.answer_delay_s = 0.3
        sending = asyncio.create_task(station.meter_values(1))
        await csms.wait_until(lambda: len(csms.receipts) == 4)
        station.cut()
        csms.answer_delay_s = 0.0
        await sending
        await finish(csms, station)
    result = tally("station drops mid-call", csms, station)
    assert station.resent_after_reconnect == 1
    assert result.duplicates == result.duplicates_after_lost_answer == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_station_disconnecting_in_the_middle_of_an_offline_call(
    csms: RecordingCsms, relay: RelayFactory, version: str
) -> None:
    """While the CSMS is down the station drops right after sending a meter value: the relay
    may have stored it, but the answer is lost. The copy sent again after reconnecting is
    recognised in the outbox (1.6: the same message id and frame; 2.0.1, where a retry has a
    new message id: the same transactionId and seqNo), so the CSMS gets it once."""
    async with through_relay(relay, csms.url, version) as station:
        await store_offline(csms, station, 2)
        station.cut_after_sending = True
        await station.meter_values(2)
        await csms.start()
        await finish(csms, station)
    result = tally("station drops mid-call, offline", csms, station)
    assert station.resent_after_reconnect == 1
    assert result.duplicates == 0


@asynccontextmanager
async def behind_proxy(
    csms: RecordingCsms, relay: RelayFactory
) -> AsyncIterator[tuple[PartitionProxy, ScriptedStation]]:
    """A 1.6 station whose relay reaches the CSMS through a partition proxy, with pings."""
    async with (
        PartitionProxy(csms.port) as proxy,
        through_relay(
            relay, proxy.url, "1.6", ping_interval_s=PING_INTERVAL_S, ping_timeout_s=PING_TIMEOUT_S
        ) as station,
    ):
        yield proxy, station


async def test_network_partition_between_relay_and_csms(
    csms: RecordingCsms, relay: RelayFactory
) -> None:
    """Every packet between relay and CSMS is dropped and no socket is closed. The relay
    notices by its WebSocket pings (every 0.2 s, 0.3 s to answer), answers the meter value
    caught in flight from the outbox, and replays once new connections get through."""
    async with behind_proxy(csms, relay) as (proxy, station):
        await station.start_transaction()
        await station.meter_values(2)
        proxy.partition()
        await station.meter_values(3)
        proxy.heal()
        await finish(csms, station)
    result = tally("network partition", csms, station)
    assert result.duplicates == 0
    assert proxy.bytes_dropped > 0


async def test_a_partition_is_noticed_within_the_ping_settings(
    csms: RecordingCsms, relay: RelayFactory
) -> None:
    """A call caught in a partition is answered from the outbox once a ping has gone
    unanswered for ping_timeout_s: within a ping interval and a ping timeout of the
    partition, plus scheduling slack. (The socket must then close at once: a close handshake
    with a peer that no longer answers cannot complete.)"""
    async with behind_proxy(csms, relay) as (proxy, station):
        await station.start_transaction()
        proxy.partition()
        began_s = time.monotonic()
        await station.meter_values(1)
        noticed_after_s = time.monotonic() - began_s
    assert noticed_after_s < PING_INTERVAL_S + PING_TIMEOUT_S + 1.0, noticed_after_s


async def test_slow_csms(csms: RecordingCsms, relay: RelayFactory) -> None:
    """The CSMS answers after 20 s against the relay's 60 s relayed-call timeout, scaled by
    1/40 to stay fast: answers after 0.5 s, timeout 1.5 s. Online calls wait for it, and so
    does a replayed backlog."""
    csms.answer_delay_s = 0.5
    async with through_relay(relay, csms.url, "1.6", relayed_call_timeout_s=1.5) as station:
        await outage(csms, station, 3)
    assert tally("slow CSMS (20 s, scaled)", csms, station).duplicates == 0


async def test_csms_answering_with_callerror(csms: RecordingCsms, relay: RelayFactory) -> None:
    """The CSMS refuses two transaction messages with CALLERROR: the relay passes the errors
    on and the station sends the message again after its retry interval (1.6 3.7.1), third
    time accepted."""
    async with through_relay(relay, csms.url, "1.6") as station:
        await station.start_transaction()
        csms.refuse_transaction_messages = 2
        await station.meter_values(3)
        await finish(csms, station)
    result = tally("CSMS answers CALLERROR", csms, station)
    assert station.retried_after_callerror == 2
    assert (result.duplicates, result.refused) == (0, 2)


@pytest.mark.parametrize("version", VERSIONS)
async def test_csms_answering_with_callerror_during_replay(
    csms: RecordingCsms, relay: RelayFactory, version: str
) -> None:
    """The CSMS refuses the first two replayed messages: the relay offers each again after
    its retry interval times the attempt (replay_attempts 3), so nothing is given up."""
    async with through_relay(relay, csms.url, version) as station:
        await store_offline(csms, station, 4)
        csms.refuse_transaction_messages = 2
        await csms.start()
        await finish(csms, station)
    result = tally("CSMS answers CALLERROR in replay", csms, station)
    assert (result.duplicates, result.refused) == (0, 2)
