"""`StubCsms`: a permissive CSMS on a loopback port, for tests and the demo.

Stations connect to `csms.url + "/" + station_id` with one of the OCPP subprotocols. Each
connection gets the handlers of its negotiated version; everything received is recorded
per station, across reconnects. Tests drive it with `call`, `disconnect` and `abort`, and
inspect `received`, `subprotocol` and `request_headers`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from ocpp.v21 import call_result as result21
from ocpp.v201 import call_result as result201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from localctl.sim.csms_handlers import Csms16Handlers, Csms201Handlers, CsmsPolicy
from localctl.sim.endpoint import (
    MAX_LOGGED_CALLS,
    CallLog,
    FrameHook,
    JsonObject,
    OcppEndpoint,
    ReceivedCall,
    ReplyScript,
)
from localctl.sim.errors import NotConnectedError, SimError
from localctl.sim.ocpp_glue import OCPP16, OCPP21, OCPP201
from localctl.sim.tasks import TaskSupervisor

LOGGER = logging.getLogger(__name__)

DEFAULT_SUBPROTOCOLS: tuple[str, ...] = (OCPP21, OCPP201, OCPP16)


@dataclass(frozen=True)
class StationLink:
    """One accepted station connection, as the CSMS saw its handshake."""

    station_id: str
    subprotocol: str
    request_headers: Headers
    connection: ServerConnection
    endpoint: OcppEndpoint


class StubCsms:
    """A CSMS stub serving OCPP 1.6, 2.0.1 and 2.1 on `127.0.0.1`, port 0 by default.

    Use as `async with StubCsms() as csms:`; `csms.url` is valid once started.
    `refuse` maps a station id to the HTTP status its handshake gets (e.g. 404);
    `allowed_ids`, when given, refuses every other id with 404. `reply_delay_s` delays
    every answer. `subprotocols` is in order of preference. BootNotification answers
    `heartbeat_interval_s`; Authorize and transactions accept every id token unless
    `accepted_id_tokens` lists the accepted ones. `on_frame` sees every frame in and out,
    for showing traffic live; `logged_calls` is how many of the newest CALLs of each station
    it keeps (`received`). permessage-deflate is offered, as OCPP asks of a CSMS.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/ocpp",
        subprotocols: Sequence[str] = DEFAULT_SUBPROTOCOLS,
        refuse: Mapping[str, int] | None = None,
        allowed_ids: Collection[str] | None = None,
        reply_delay_s: float = 0.0,
        heartbeat_interval_s: int = 300,
        accepted_id_tokens: Collection[str] | None = None,
        response_timeout_s: float = 10.0,
        on_frame: FrameHook | None = None,
        logged_calls: int = MAX_LOGGED_CALLS,
    ) -> None:
        self._host = host
        self._port = port
        self._path = path.rstrip("/")
        self._subprotocols = [Subprotocol(name) for name in subprotocols]
        self._refuse = dict(refuse or {})
        self._allowed_ids = None if allowed_ids is None else frozenset(allowed_ids)
        self._reply_delay_s = reply_delay_s
        self._response_timeout_s = response_timeout_s
        self._on_frame = on_frame
        self._logged_calls = logged_calls
        tokens = None if accepted_id_tokens is None else frozenset(accepted_id_tokens)
        self._policy = CsmsPolicy(heartbeat_interval_s, tokens)
        self._server: Server | None = None
        self._links: dict[str, StationLink] = {}
        self._last_links: dict[str, StationLink] = {}
        self._call_logs: dict[str, CallLog] = {}
        self._scripts: dict[str, ReplyScript] = {}
        self._changed = asyncio.Condition()
        self._supervisor = TaskSupervisor("csms")
        self.refused: list[tuple[str, int]] = []

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await serve(
            self._serve_station,
            self._host,
            self._port,
            subprotocols=self._subprotocols,
            process_request=self._check_request,
        )

    async def stop(self) -> None:
        """Close every station connection (1001 going away) and the listening socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._supervisor.aclose()

    async def abort(self) -> None:
        """Stop abruptly: drop every TCP connection without a closing handshake."""
        if self._server is not None:
            for connection in self._server.connections:
                connection.transport.abort()
            self._server.close(close_connections=False)
            await self._server.wait_closed()
        await self._supervisor.aclose()

    async def __aenter__(self) -> StubCsms:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """`ws://HOST:PORT/ocpp`; a station connects at `url + "/" + station_id`."""
        if self._server is None:
            raise SimError("StubCsms is not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://{self._host}:{port}{self._path}"

    # -- what tests inspect ------------------------------------------------------------

    @property
    def connected_ids(self) -> frozenset[str]:
        return frozenset(self._links)

    def received(self, station_id: str) -> list[tuple[str, JsonObject]]:
        """(action, wire payload) of every CALL this station sent, oldest first."""
        return [(call.action, call.payload) for call in self.received_calls(station_id)]

    def received_calls(self, station_id: str) -> list[ReceivedCall]:
        """Like `received`, with message ids."""
        return list(self._call_log(station_id).calls)

    async def wait_for_call(
        self, station_id: str, action: str, count: int = 1, timeout_s: float = 5.0
    ) -> ReceivedCall:
        """The `count`-th `action` CALL from the station, waiting until it arrives."""
        return await self._call_log(station_id).wait_for(action, count, timeout_s)

    def script(self, station_id: str) -> ReplyScript:
        """How the CSMS deviates when answering this station (kept across reconnects)."""
        return self._scripts.setdefault(station_id, ReplyScript())

    def _call_log(self, station_id: str) -> CallLog:
        log = self._call_logs.get(station_id)
        if log is None:
            log = self._call_logs[station_id] = CallLog(self._logged_calls)
        return log

    def subprotocol(self, station_id: str) -> str:
        """The subprotocol negotiated on the station's latest connection."""
        return self._last_link(station_id).subprotocol

    def request_headers(self, station_id: str) -> Headers:
        """The HTTP headers of the station's latest handshake."""
        return self._last_link(station_id).request_headers

    def _last_link(self, station_id: str) -> StationLink:
        try:
            return self._last_links[station_id]
        except KeyError:
            raise NotConnectedError(f"{station_id} never connected") from None

    async def wait_connected(self, station_id: str, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: station_id in self._links)

    async def wait_disconnected(self, station_id: str, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: station_id not in self._links)

    # -- what tests do -----------------------------------------------------------------

    async def call(self, station_id: str, payload: object) -> Any:
        """Send an `ocpp` call dataclass of the station's version; returns its result."""
        return await self._link(station_id).endpoint.call(payload)

    async def disconnect(self, station_id: str, code: int = 1000, reason: str = "") -> None:
        """Close one station's connection from the CSMS side and wait until it is gone."""
        await self._link(station_id).connection.close(code, reason)
        await self.wait_disconnected(station_id)

    def _link(self, station_id: str) -> StationLink:
        try:
            return self._links[station_id]
        except KeyError:
            raise NotConnectedError(f"{station_id} is not connected") from None

    # -- serving -----------------------------------------------------------------------

    def _station_id(self, path: str) -> str | None:
        prefix = self._path + "/"
        if not path.startswith(prefix):
            return None
        station_id = unquote(path[len(prefix) :].split("?", 1)[0])
        return station_id if station_id and "/" not in station_id else None

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        station_id = self._station_id(request.path)
        status = self._refusal_status(station_id)
        if status is None:
            return None
        self.refused.append((station_id or request.path, status))
        return connection.respond(status, "refused by the stub CSMS\n")

    def _refusal_status(self, station_id: str | None) -> int | None:
        if station_id is None:
            return 404
        if station_id in self._refuse:
            return self._refuse[station_id]
        if self._allowed_ids is not None and station_id not in self._allowed_ids:
            return 404
        return None

    def _handlers_for(self, subprotocol: str) -> object:
        if subprotocol == OCPP16:
            return Csms16Handlers(self._policy)
        result_module = result21 if subprotocol == OCPP21 else result201
        return Csms201Handlers(self._policy, result_module)

    async def _serve_station(self, connection: ServerConnection) -> None:
        assert connection.request is not None and connection.subprotocol is not None
        station_id = self._station_id(connection.request.path)
        assert station_id is not None, "_check_request refused every other path"
        endpoint = OcppEndpoint(
            identity=station_id,
            connection=connection,
            handlers=self._handlers_for(connection.subprotocol),
            supervisor=self._supervisor,
            response_timeout_s=self._response_timeout_s,
            reply_delay_s=self._reply_delay_s,
            call_log=self._call_log(station_id),
            script=self.script(station_id),
            on_frame=self._on_frame,
        )
        link = StationLink(
            station_id, endpoint.subprotocol, connection.request.headers, connection, endpoint
        )
        await self._replace_link(link)
        try:
            await endpoint.run()
        finally:
            await self._drop_link(link)

    async def _replace_link(self, link: StationLink) -> None:
        # A station that reconnects under the same identity replaces its old connection,
        # as a real CSMS does.
        previous = self._links.get(link.station_id)
        if previous is not None:
            LOGGER.info("%s reconnected; closing its previous connection", link.station_id)
            await previous.connection.close(1000, "replaced by a new connection")
        async with self._changed:
            self._links[link.station_id] = link
            self._last_links[link.station_id] = link
            self._changed.notify_all()

    async def _drop_link(self, link: StationLink) -> None:
        async with self._changed:
            if self._links.get(link.station_id) is link:
                del self._links[link.station_id]
            self._changed.notify_all()
