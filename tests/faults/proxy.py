"""A TCP proxy between the relay and the CSMS that can partition the network: from then on
every byte either way is dropped, and no connection is closed (no FIN, no RST), as when a
link or a NAT in between fails silently. Connections caught in a partition stay dead; new
ones made during it get no bytes through; after `heal()` new connections work again."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType


@dataclass(eq=False)
class _Pair:
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    black_holed: bool = False


class PartitionProxy:
    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._partitioned = False
        self._pairs: set[_Pair] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0
        self.bytes_dropped = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def partition(self) -> None:
        self._partitioned = True
        for pair in self._pairs:
            pair.black_holed = True

    def heal(self) -> None:
        self._partitioned = False

    async def __aenter__(self) -> PartitionProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for pair in self._pairs:
            for writer in pair.writers:
                writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pair = _Pair([writer], black_holed=self._partitioned)
        self._pairs.add(pair)
        if pair.black_holed:  # the SYN would not get through: nothing reaches the CSMS
            self._spawn(self._pump(reader, None, pair))
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(
                "127.0.0.1", self._target_port
            )
        except OSError:
            writer.transport.abort()
            return
        pair.writers.append(target_writer)
        self._spawn(self._pump(reader, target_writer, pair))
        self._spawn(self._pump(target_reader, writer, pair))

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, pair: _Pair
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if pair.black_holed or writer is None:
                    self.bytes_dropped += len(data)
                    continue
                writer.write(data)
                await writer.drain()
        # End of stream: passed on only while the link works. A partition swallows the FIN
        # and the other side's socket stays open (until the proxy closes).
        if not pair.black_holed and writer is not None:
            writer.close()

    def _spawn(self, job: object) -> None:
        assert asyncio.iscoroutine(job)
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
