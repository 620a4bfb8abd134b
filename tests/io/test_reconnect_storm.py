"""Reconnect storms with real sockets: a thousand stations connect within one second, or ride
out a CSMS outage together, and every one is relayed while the CSMS sees its upstream
connections arrive at the pace `RelayConfig` sets (the defaults), never in one instant."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from localctl.config.model import RelayConfig
from localctl.io.outage import OutageSettings
from localctl.io.relay_server import RelayServer
from localctl.offline import Outbox
from localctl.relay.events import LinkEvent, ReplayFinished
from localctl.relay.schemas import SchemaRegistry
from tests.io.conftest import relay_config

STATIONS = 1000
ARRIVAL_SPREAD_S = 1.0  # all stations start their handshake within this second
STATION_OPEN_TIMEOUT_S = 10.0  # websockets' default, and a common station setting
CSMS_TIME = "2001-02-03T04:05:06Z"  # only the CSMS answers with this time
# What the CSMS's clock may add to the bucket's bound: its accept times lag the relay's token
# times by a scheduling delay that differs from one connection to the next.
ARRIVAL_JITTER_S = 0.1


class BackOnline:
    """A relay listener: the stations whose backlog went to the CSMS after a reconnect."""

    def __init__(self) -> None:
        self.stations: set[str] = set()
        self._changed = asyncio.Event()

    def __call__(self, station_id: str, event: LinkEvent) -> None:
        if isinstance(event, ReplayFinished):
            self.stations.add(station_id)
            self._changed.set()

    async def wait_for(self, count: int, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.stations) < count:
                self._changed.clear()
                await self._changed.wait()


class _TimedConnection(ServerConnection):
    """Notes when the TCP connection arrived: the CSMS's handshake work starts there."""

    arrived_s = 0.0

    def connection_made(self, transport: Any) -> None:
        self.arrived_s = time.monotonic()
        super().connection_made(transport)


class StormCsms:
    """A 1.6 CSMS that answers every call and records each handshake's [arrival, answer]."""

    def __init__(self) -> None:
        self.port = 0
        self.handshakes: list[tuple[float, float]] = []
        self.refuse_next: int = 0  # refuse this many with 503 and Retry-After
        self.refused_at_s: list[float] = []
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self.handshakes = []
        self._server = await serve(
            self._answer,
            "127.0.0.1",
            self.port,
            subprotocols=[Subprotocol("ocpp1.6")],
            compression=None,
            ping_interval=None,
            create_connection=_TimedConnection,
            process_request=self._maybe_refuse,
            process_response=self._handshake_done,
            backlog=STATIONS,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _maybe_refuse(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refuse_next <= 0:
            return None
        self.refuse_next -= 1
        self.refused_at_s.append(time.monotonic())
        response = connection.respond(503, "busy\n")
        response.headers["Retry-After"] = "1"
        return response

    def _handshake_done(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> None:
        # Called before the 101 is written: strictly inside the relay's pacer slot.
        if response.status_code == 101:
            assert isinstance(connection, _TimedConnection)
            self.handshakes.append((connection.arrived_s, time.monotonic()))

    async def _answer(self, socket: ServerConnection) -> None:
        async for message in socket:
            frame = orjson.loads(message)
            if frame[0] == 2:
                await socket.send(orjson.dumps([3, frame[1], {"currentTime": CSMS_TIME}]).decode())


@pytest.fixture
async def storm_csms() -> AsyncIterator[StormCsms]:
    csms = StormCsms()
    await csms.start()
    yield csms
    await csms.stop()


def most_at_once(handshakes: list[tuple[float, float]]) -> int:
    """The most handshakes the CSMS had under way at any one time."""
    events = sorted([(s, 1) for s, _ in handshakes] + [(e, -1) for _, e in handshakes])
    peak = under_way = 0
    for _, change in events:
        under_way += change
        peak = max(peak, under_way)
    return peak


def most_arrivals_within(handshakes: list[tuple[float, float]], window_s: float) -> int:
    arrivals = sorted(s for s, _ in handshakes)
    most = 0
    first = 0
    for last, arrival in enumerate(arrivals):
        while arrivals[first] < arrival - window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def assert_paced(handshakes: list[tuple[float, float]], config: RelayConfig) -> None:
    assert most_at_once(handshakes) <= config.upstream_connect_concurrency
    rate_per_s, burst = config.upstream_connects_per_s, config.upstream_connect_burst
    for window_s in (0.1, 1.0):
        bound = burst + rate_per_s * (window_s + ARRIVAL_JITTER_S)
        assert most_arrivals_within(handshakes, window_s) <= bound, window_s


async def heartbeat(socket: ClientConnection, message_id: str) -> object:
    await socket.send(f'[2,"{message_id}","Heartbeat",{{}}]')
    answer = orjson.loads(await asyncio.wait_for(socket.recv(), 10.0))
    assert answer[:2] == [3, message_id], answer
    return answer[2]["currentTime"]


async def open_station(url: str, start_at_s: float, waits_s: list[float]) -> ClientConnection:
    await asyncio.sleep(max(0.0, start_at_s - time.monotonic()))
    began_s = time.monotonic()
    socket = await connect(
        url,
        subprotocols=[Subprotocol("ocpp1.6")],
        compression=None,
        ping_interval=None,
        open_timeout=STATION_OPEN_TIMEOUT_S,
    )
    waits_s.append(time.monotonic() - began_s)
    return socket


async def storm(relay: RelayServer) -> tuple[list[ClientConnection], list[float]]:
    """STATIONS stations start their handshakes evenly within ARRIVAL_SPREAD_S."""
    t0_s = time.monotonic()
    waits_s: list[float] = []
    sockets = await asyncio.gather(
        *(
            open_station(
                f"ws://127.0.0.1:{relay.port}/ocpp/CP-{i}",
                t0_s + ARRIVAL_SPREAD_S * i / STATIONS,
                waits_s,
            )
            for i in range(STATIONS)
        )
    )
    return sockets, waits_s


async def all_heartbeats_reach_the_csms(sockets: list[ClientConnection]) -> None:
    answers = await asyncio.gather(*(heartbeat(s, f"hb-{i}") for i, s in enumerate(sockets)))
    assert answers == [CSMS_TIME] * len(sockets)


async def close_all(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(s.close() for s in sockets))


async def test_a_thousand_stations_arriving_in_one_second_are_all_relayed_at_a_paced_rate(
    storm_csms: StormCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(storm_csms.url)
    async with RelayServer(config, schemas) as relay:
        sockets, waits_s = await storm(relay)
        try:
            assert len(storm_csms.handshakes) == STATIONS
            await all_heartbeats_reach_the_csms(sockets)
        finally:
            await close_all(sockets)
    assert_paced(storm_csms.handshakes, config)
    # The last of the crowd waits about (crowd - burst) / rate, far from its open timeout.
    crowd_s = (STATIONS - config.upstream_connect_burst) / config.upstream_connects_per_s
    assert max(waits_s) < crowd_s + 2.0 < STATION_OPEN_TIMEOUT_S


@dataclass
class OfflineRelay:
    config: RelayConfig
    relay: RelayServer
    back: BackOnline


@pytest.fixture
async def offline_relay(
    storm_csms: StormCsms, schemas: SchemaRegistry, tmp_path: Path
) -> AsyncIterator[OfflineRelay]:
    """A relay with offline operation on and quick reconnects, before the storm."""
    outbox = await Outbox.open(tmp_path / "outbox.sqlite3")
    outage = OutageSettings(outbox, reconnect_min_s=0.2, reconnect_max_s=1.0, rng=random.Random(7))
    back = BackOnline()
    config = relay_config(storm_csms.url)
    try:
        async with RelayServer(config, schemas, outage=outage, listener=back) as relay:
            yield OfflineRelay(config, relay, back)
    finally:
        await outbox.close()


async def test_after_a_csms_outage_a_thousand_stations_stay_connected_and_reconnect_paced(
    storm_csms: StormCsms, offline_relay: OfflineRelay
) -> None:
    back = offline_relay.back
    sockets, _ = await storm(offline_relay.relay)
    try:
        await back.wait_for(STATIONS, timeout_s=5.0)  # first connects hand over theirs too
        back.stations.clear()
        await storm_csms.stop()
        # Offline, each station is answered by the controller itself.
        assert await heartbeat(sockets[0], "offline") != CSMS_TIME
        await asyncio.sleep(1.0)  # reconnect attempts fail and queue up in the pacer
        await storm_csms.start()
        await back.wait_for(STATIONS, timeout_s=25.0)
        assert all(s.close_code is None for s in sockets), "no station was dropped"
        await all_heartbeats_reach_the_csms(sockets)
    finally:
        await close_all(sockets)
    assert_paced(storm_csms.handshakes, offline_relay.config)


async def test_a_reconnect_refused_with_503_waits_for_the_retry_after(
    storm_csms: StormCsms, offline_relay: OfflineRelay
) -> None:
    relay, back = offline_relay.relay, offline_relay.back
    url = f"ws://127.0.0.1:{relay.port}/ocpp/CP-1"
    async with connect(url, subprotocols=[Subprotocol("ocpp1.6")]) as socket:
        await back.wait_for(1, timeout_s=5.0)
        back.stations.clear()
        await storm_csms.stop()
        storm_csms.refuse_next = 1
        await storm_csms.start()
        await back.wait_for(1, timeout_s=5.0)
        (refused_s,) = storm_csms.refused_at_s
        (arrived_s, _) = storm_csms.handshakes[0]
        # Backoff alone would retry within 0.2 s; Retry-After: 1 asked for a second.
        assert arrived_s - refused_s >= 0.95
        assert await heartbeat(socket, "hb") == CSMS_TIME
    assert relay.upstream_pacer.stats.held_off == 1
