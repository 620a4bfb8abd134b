"""The relay's own CPU per relayed frame, without socket system calls or event-loop turns.

One station is connected through a real `RelayServer` to a real CSMS on loopback; then both of
the relay's sockets get a transport that only counts what is written, and MeterValues calls
(1.1 kB, OCPP 2.0.1) and their answers are handed to the relay's connections as the kernel
would hand them over. What is timed is everything the relay does per frame in Python: WebSocket
framing, UTF-8, JSON parsing, schema validation, routing, the sending queue, events and the
write call. With plain frames off, every frame goes through websockets' own parser and
serializer, as before `localctl.io.wire`; the two are measured alternately, in one process.

    .venv/bin/python -m benchmarks.relay_cpu [--rounds 7] [--trips 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol

from benchmarks.relay_frames import SUBPROTOCOL, call_frame, check_frames, result_for
from localctl.config.model import RelayConfig
from localctl.io.direct import DirectConnection
from localctl.io.relay_server import RelayServer
from localctl.relay.events import Side
from localctl.relay.schemas import SchemaRegistry


class CountingTransport:
    """Stands in for a socket's transport: takes every write, sends nothing."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def is_reading(self) -> bool:
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def _idle_csms(socket: ServerConnection) -> None:
    await socket.wait_closed()


def _trip_frames() -> tuple[bytes, bytes]:
    """A station's masked MeterValues call and the CSMS's unmasked answer, on the wire."""
    call = call_frame("m-0000000001", "MeterValues")
    answer = result_for(call)
    from_station = Frame(Opcode.TEXT, call.encode()).serialize(mask=True)
    from_csms = Frame(Opcode.TEXT, answer.encode()).serialize(mask=False)
    return from_station, from_csms


def _time_trips(station: Any, csms: Any, frames: tuple[bytes, bytes], trips: int) -> float:
    """CPU seconds per relayed frame over `trips` round trips."""
    from_station, from_csms = frames
    started = time.process_time()
    for _ in range(trips):
        station.data_received(from_station)
        csms.data_received(from_csms)
    return (time.process_time() - started) / (2 * trips)


async def measure(rounds: int, trips: int) -> dict[str, list[float]]:
    check_frames()
    subprotocols = [Subprotocol(SUBPROTOCOL)]
    async with serve(_idle_csms, "127.0.0.1", 0, subprotocols=subprotocols) as csms_server:
        port = next(iter(csms_server.sockets)).getsockname()[1]
        config = RelayConfig.model_validate(
            {
                "listen": "127.0.0.1:0",
                "upstream_url": f"ws://127.0.0.1:{port}/ocpp",
                "ping_interval_s": None,
                "compression": False,
            }
        )
        async with RelayServer(config, SchemaRegistry()) as relay:
            url = f"ws://127.0.0.1:{relay.port}/ocpp/CP-1"
            async with connect(url, subprotocols=subprotocols, compression=None):
                await asyncio.sleep(0.2)  # the handshake is over; the link is being set up
                link = relay.link("CP-1")
                assert link is not None
                station = link._sockets[Side.STATION]  # the benchmark's look inside
                csms = link._sockets[Side.CSMS]
                real = station.transport, csms.transport
                for socket in (station, csms):
                    socket.transport = CountingTransport()  # type: ignore[assignment]
                try:
                    return _alternate(station, csms, rounds, trips)
                finally:
                    station.transport, csms.transport = real


def _alternate(station: Any, csms: Any, rounds: int, trips: int) -> dict[str, list[float]]:
    frames = _trip_frames()
    results: dict[str, list[float]] = {"websockets framing": [], "plain frames": []}
    _time_trips(station, csms, frames, trips // 10)  # warm up
    for _ in range(rounds):
        for name, plain in (("websockets framing", False), ("plain frames", True)):
            DirectConnection.plain_frames = plain
            results[name].append(_time_trips(station, csms, frames, trips))
    DirectConnection.plain_frames = True
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--trips", type=int, default=20_000)
    args = parser.parse_args()
    results = asyncio.run(measure(args.rounds, args.trips))
    print(
        f"relay CPU per relayed frame (MeterValues 2.0.1, 1.1 kB), {args.rounds} alternating "
        "rounds, median and best"
    )
    for name, per_frame_s in results.items():
        median_us = statistics.median(per_frame_s) * 1e6
        best_us = min(per_frame_s) * 1e6
        print(
            f"  {name:<20} {median_us:7.1f} us  (best {best_us:5.1f} us)  "
            f"-> {1 / statistics.median(per_frame_s):9,.0f} frames per CPU-second"
        )
    ratio = statistics.median(results["websockets framing"]) / statistics.median(
        results["plain frames"]
    )
    print(f"  websockets framing / plain frames: {ratio:.2f}")


if __name__ == "__main__":
    main()
