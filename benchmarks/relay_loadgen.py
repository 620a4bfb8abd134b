"""The load generator: a minimal CSMS and many stations, on raw `websockets` sockets.

Stations and CSMS share one process (pinned to its own core, the relay having the other), so
both sides are kept to the bare socket work: frames are pre-built, the CSMS answers by slicing
the message id out of the text, and nothing is parsed as JSON. Every station has at most one
CALL in flight, as OCPP-J requires, so the load is bounded by the number of stations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from benchmarks.relay_frames import BOOT_SEQUENCE, SUBPROTOCOL, call_frame, result_for

_MAX_FRAME_BYTES = 1 << 20
_OPEN_TIMEOUT_S = 60.0
_CONNECT_CONCURRENCY = 50  # handshakes in flight; the relay opens an upstream socket for each
_CLOSE_CONCURRENCY = 500

_T = TypeVar("_T")


def _compression(enabled: bool) -> str | None:
    return "deflate" if enabled else None


class Csms:
    """Answers every CALL with its pre-built CALLRESULT."""

    def __init__(self, *, compression: bool) -> None:
        self._compression = compression
        self._server: Server | None = None
        self.connections: set[ServerConnection] = set()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(
            self._answer,
            "127.0.0.1",
            0,
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            compression=_compression(self._compression),
            max_size=_MAX_FRAME_BYTES,
            ping_interval=None,  # the relay pings; a second pinger would only add load
            server_header=None,
            backlog=1024,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, connection: ServerConnection) -> None:
        self.connections.add(connection)
        try:
            async for message in connection:
                assert isinstance(message, str)
                await connection.send(result_for(message))
        finally:
            self.connections.discard(connection)


@dataclass(slots=True)
class Station:
    station_id: str
    socket: ClientConnection
    calls_sent: int = 0

    async def round_trip_ns(self, action: str) -> int:
        """Send one CALL and wait for its reply; the round-trip time as the station sees it."""
        self.calls_sent += 1
        frame = call_frame(str(self.calls_sent), action)
        start_ns = time.perf_counter_ns()
        await self.socket.send(frame)
        reply = await self.socket.recv()
        elapsed_ns = time.perf_counter_ns() - start_ns
        if not isinstance(reply, str) or not reply.startswith("[3,"):
            raise RuntimeError(f"{self.station_id}: unexpected reply {reply!r:.120}")
        return elapsed_ns


async def _for_each(
    items: Iterable[_T], job: Callable[[_T], Awaitable[None]], concurrency: int
) -> None:
    """Run `job` on every item, at most `concurrency` at a time."""
    limit = asyncio.Semaphore(concurrency)

    async def run(item: _T) -> None:
        async with limit:
            await job(item)

    await asyncio.gather(*(run(item) for item in items))


async def connect_stations(url: str, station_ids: list[str], *, compression: bool) -> list[Station]:
    stations: list[Station] = []

    async def open_one(station_id: str) -> None:
        socket = await connect(
            f"{url}/{station_id}",
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            compression=_compression(compression),
            max_size=_MAX_FRAME_BYTES,
            ping_interval=None,
            open_timeout=_OPEN_TIMEOUT_S,
            proxy=None,
        )
        stations.append(Station(station_id, socket))

    await _for_each(station_ids, open_one, _CONNECT_CONCURRENCY)
    return stations


async def boot(stations: list[Station]) -> None:
    """What a station does right after connecting: boot, status, heartbeat, a meter value."""

    async def boot_one(station: Station) -> None:
        for action in BOOT_SEQUENCE:
            await station.round_trip_ns(action)

    await _for_each(stations, boot_one, _CONNECT_CONCURRENCY)


async def close_stations(stations: list[Station]) -> None:
    async def close_one(station: Station) -> None:
        await station.socket.close()

    await _for_each(stations, close_one, _CLOSE_CONCURRENCY)


# -- paced load: every station on its own fixed schedule -----------------------------------


@dataclass(frozen=True, slots=True)
class Stream:
    """One kind of message a station sends at a fixed interval."""

    action: str
    interval_s: float


@dataclass(slots=True)
class PacedRecord:
    """Round trips whose send was scheduled inside the measurement window."""

    window_start_s: float
    window_end_s: float
    rtt_ns: list[int] = field(default_factory=list)
    send_lag_s: list[float] = field(default_factory=list)  # actual send minus scheduled time
    failures: int = 0


def timeline(
    index: int, count: int, streams: list[Stream], start_s: float, end_s: float
) -> list[tuple[float, str]]:
    """Station `index` of `count`: its send times, spread evenly across the fleet so the
    offered load is flat rather than arriving in bursts."""
    events: list[tuple[float, str]] = []
    for stream in streams:
        due_s = start_s + stream.interval_s * index / count
        while due_s < end_s:
            events.append((due_s, stream.action))
            due_s += stream.interval_s
    events.sort()
    return events


async def _paced_station(
    station: Station, events: list[tuple[float, str]], record: PacedRecord
) -> None:
    # time.monotonic rather than loop.time: uvloop's clock ticks in whole milliseconds.
    for due_s, action in events:
        delay_s = due_s - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        lag_s = time.monotonic() - due_s
        rtt_ns = await station.round_trip_ns(action)
        if record.window_start_s <= due_s < record.window_end_s:
            record.rtt_ns.append(rtt_ns)
            record.send_lag_s.append(lag_s)


def start_paced(
    stations: list[Station], streams: list[Stream], record: PacedRecord, end_s: float
) -> list[asyncio.Task[None]]:
    """Start every station's schedule from now until `end_s` (time.monotonic)."""
    start_s = time.monotonic()
    count = len(stations)
    return [
        asyncio.create_task(
            _paced_station(station, timeline(i, count, streams, start_s, end_s), record)
        )
        for i, station in enumerate(stations)
    ]


# -- closed loop: every station sends its next CALL as soon as the reply is in --------------


@dataclass(slots=True)
class Counter:
    round_trips: int = 0


async def _closed_loop_station(
    station: Station, action: str, end_s: float, counter: Counter
) -> None:
    while time.monotonic() < end_s:
        await station.round_trip_ns(action)
        counter.round_trips += 1


def start_closed_loop(
    stations: list[Station], action: str, end_s: float, counter: Counter
) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(_closed_loop_station(station, action, end_s, counter))
        for station in stations
    ]


async def finish(tasks: list[asyncio.Task[None]], timeout_s: float) -> int:
    """Wait for the tasks; cancel the stragglers. The number that failed or were cut short."""
    if not tasks:
        return 0
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failed = sum(1 for task in done if task.exception() is not None)
    return failed + len(pending)
