"""A do-nothing relay: the floor any Python relay process pays on this machine.

    python -m benchmarks.relay_null run --config FILE

Same stack as `localctl run` (stock asyncio, `websockets`, one upstream socket per station
opened during the handshake, one reader task per socket) but every message is forwarded as
is: no parsing, no validation, no queues, no events. The relay benchmark runs it next to the
real relay, so what the real relay adds over it is the cost of localctl's own work, and what
this adds over a direct link is the cost of a second process and two more sockets.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import yaml
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

_SUBPROTOCOLS = [Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6")]


class NullRelay:
    def __init__(self, upstream_url: str) -> None:
        self._upstream_url = upstream_url.rstrip("/")
        self._upstreams: dict[ServerConnection, ClientConnection] = {}

    async def open_upstream(self, station: ServerConnection, request: Request) -> Response | None:
        station_id = request.path.rstrip("/").rpartition("/")[2]
        self._upstreams[station] = await connect(
            f"{self._upstream_url}/{station_id}",
            subprotocols=_SUBPROTOCOLS,
            compression=None,
            proxy=None,
        )
        return None

    async def relay(self, station: ServerConnection) -> None:
        upstream = self._upstreams.pop(station)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(_pump(station, upstream))
            tasks.create_task(_pump(upstream, station))


async def _pump(
    source: ServerConnection | ClientConnection, sink: ServerConnection | ClientConnection
) -> None:
    try:
        async for message in source:
            await sink.send(message)
    except ConnectionClosed:
        pass
    finally:
        await sink.close()


async def _serve(upstream_url: str) -> None:
    relay = NullRelay(upstream_url)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with serve(
        relay.relay,
        "127.0.0.1",
        0,
        process_request=relay.open_upstream,
        subprotocols=_SUBPROTOCOLS,
        compression=None,
        server_header=None,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        # The line RelayProcess waits for, worded as localctl's.
        print(f"listening for stations on ws://127.0.0.1:{port}/", file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[:2] != ["run", "--config"]:
        print("usage: python -m benchmarks.relay_null run --config FILE", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    config = yaml.safe_load(Path(argv[2]).read_text())
    asyncio.run(_serve(config["relay"]["upstream_url"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
