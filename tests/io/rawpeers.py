"""Raw-frame peers for relay tests: a CSMS and stations that send and record exact text."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol


@dataclass
class CsmsConnection:
    path: str
    headers: Headers
    socket: ServerConnection
    received: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def next_frame(self, timeout_s: float = 5.0) -> str:
        return await asyncio.wait_for(self.received.get(), timeout_s)


class RawCsms:
    """A CSMS endpoint on 127.0.0.1:0 that records every frame per station path."""

    def __init__(
        self,
        subprotocols: Sequence[str] = ("ocpp2.0.1", "ocpp1.6", "ocpp2.1"),
        refuse: dict[str, int] | None = None,
        compression: str | None = "deflate",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.ssl = ssl_context
        self._subprotocols = [Subprotocol(p) for p in subprotocols]
        self._refuse = refuse or {}
        self._compression = compression
        self.connections: dict[str, CsmsConnection] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ocpp"

    async def __aenter__(self) -> RawCsms:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            subprotocols=self._subprotocols,
            process_request=self._process_request,
            compression=self._compression,
            ssl=self.ssl,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def connection(self, segment: str, timeout_s: float = 5.0) -> CsmsConnection:
        event = self._arrived.setdefault(segment, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout_s)
        return self.connections[segment]

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        segment = request.path.rpartition("/")[2]
        if segment in self._refuse:
            return connection.respond(HTTPStatus(self._refuse[segment]), "refused\n")
        return None

    async def _handle(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        segment = socket.request.path.rpartition("/")[2]
        connection = CsmsConnection(socket.request.path, socket.request.headers, socket)
        self.connections[segment] = connection
        self._arrived.setdefault(segment, asyncio.Event()).set()
        async for message in socket:
            assert isinstance(message, str)
            await connection.received.put(message)
