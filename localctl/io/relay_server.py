"""The station-side WebSocket server and its upstream connections.

A station connects to ``ws://HOST:PORT/<any prefix>/<station-id>``. During its handshake the
controller opens the station's upstream socket to ``<upstream-url>/<station-id>`` (the
identity segment exactly as the station sent it), offering the subprotocols both sides
support, and answers the station only once the CSMS has answered: a station the CSMS refuses
is refused with the CSMS's HTTP status, and the station gets the subprotocol the CSMS chose.
Upstream credentials are the controller's own; the station's Authorization header stays here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from types import TracebackType
from urllib.parse import unquote, urlsplit

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from localctl.config.model import RelayConfig
from localctl.histogram import Histogram
from localctl.io.direct import DirectClientConnection, DirectServerConnection
from localctl.io.outage import OutageSettings, UpstreamOpener
from localctl.io.pacing import UpstreamPacer
from localctl.io.station_link import EventListener, StationLink, StationUnavailableError
from localctl.relay.events import Side
from localctl.relay.frames import JsonObject
from localctl.relay.policy import TRANSPARENT, Policy
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.session import RelaySession, SessionOptions, own_message_id
from localctl.relay.versions import OcppVersion
from localctl.security.relay_gate import RelaySecurity

log = logging.getLogger("localctl.relay")

_TIMEOUT_SWEEP_INTERVAL_S = 0.5
# The time the relay holds a frame: tens of microseconds when all is well.
_FRAME_HOLD_BUCKETS_S = (10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 10e-3, 50e-3)
_REPLACED_CONNECTION_WAIT_S = 5.0
_DEFAULT_CLOSE_TIMEOUT_S = 10.0  # websockets' own default, when keep-alive is off
# A CSMS answering these to a handshake is busy, not refusing the station.
_BUSY_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})
# Thousands of connections are hundreds of thousands of long-lived objects; a full garbage
# collection over them pauses every station for 0.5 s and more. Once a burst of connections
# has settled (this many new since the last freeze, none for a while), collect once and move
# the survivors to the permanent generation, where collections no longer walk them.
_FREEZE_AFTER_NEW_LINKS = 50
_FREEZE_QUIET_S = 2.0


@dataclass(slots=True)
class _Handshake:
    """What process_request learned, for select_subprotocol and the connection handler."""

    station_id: str
    # None: no common subprotocol (close after the handshake), or the CSMS is unreachable
    # and the station is taken offline with `offline_subprotocol`
    upstream: DirectClientConnection | None
    offline_subprotocol: str | None = None


class RelayServer:
    """Accepts stations, opens their upstream sockets and relays between them."""

    def __init__(
        self,
        config: RelayConfig,
        schemas: SchemaRegistry,
        *,
        clock: Callable[[], float] = time.monotonic,
        new_message_id: Callable[[], str] = own_message_id,
        listener: EventListener | None = None,
        policy_for: Callable[[str, OcppVersion], Policy] | None = None,
        security: RelaySecurity | None = None,
        outage: OutageSettings | None = None,
    ) -> None:
        self._config = config
        self._outage = outage
        # Shared by every link: one histogram of the time the relay holds a frame.
        self.frame_timing = Histogram(_FRAME_HOLD_BUCKETS_S)
        self.security = security or RelaySecurity(config, clock=clock)
        self._policy_for = policy_for
        self._schemas = schemas
        self._clock = clock
        self._new_message_id = new_message_id
        self._listener = listener
        self._options = SessionOptions(
            strict=config.strict,
            relayed_call_timeout_s=config.relayed_call_timeout_s,
            own_call_timeout_s=config.own_call_timeout_s,
        )
        self._handshakes: dict[ServerConnection, _Handshake] = {}
        self._links: dict[str, StationLink] = {}
        self._with_deadlines: set[StationLink] = set()  # see StationLink.flush
        # Shared by first connects and outage reconnects: a crowd of stations reaches the
        # CSMS at a pace it can take.
        self.upstream_pacer = UpstreamPacer(
            config.upstream_connects_per_s,
            config.upstream_connect_burst,
            config.upstream_connect_concurrency,
        )
        self._server: Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._links_since_freeze = 0
        self._last_link_s = 0.0
        # The subprotocol the CSMS last chose for each station: a station that connects
        # while the CSMS is away gets the same one, so its backlog replays in its version.
        self._last_subprotocol: dict[str, str] = {}

    def enable_offline(self, outage: OutageSettings) -> None:
        """Keep stations through CSMS outages (before `start()`: links take it when they open)."""
        self._outage = outage

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        compression = "deflate" if self._config.compression else None
        self._server = await serve(
            self._handle,
            self._config.listen_host,
            self._config.listen_port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            compression=compression,
            max_size=self._config.max_frame_bytes,
            ping_interval=self._config.ping_interval_s,
            ping_timeout=self._config.ping_timeout_s,
            close_timeout=self._close_timeout_s,
            server_header=None,
            create_connection=DirectServerConnection,
            ssl=self.security.server_ssl,
        )
        self._sweeper = asyncio.create_task(self._sweep_timeouts(), name="relay-timeouts")

    async def close(self) -> None:
        """Stop accepting, close every station and its upstream socket, and wait for them."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close(close_connections=False)
            await asyncio.gather(
                *(
                    link.close(CloseCode.GOING_AWAY, "controller shutting down")
                    for link in list(self._links.values())
                )
            )
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> RelayServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def _close_timeout_s(self) -> float:
        """How long a closing handshake may take. A peer that missed its pong is gone or cut
        off: waiting websockets' default 10 s more for it to close would hold its counterpart
        (and a station's unanswered call) that long, so the keep-alive's timeout applies."""
        timeout_s = self._config.ping_timeout_s
        return _DEFAULT_CLOSE_TIMEOUT_S if timeout_s is None else timeout_s

    @property
    def port(self) -> int:
        """The port the station-side server is bound to (useful with port 0)."""
        assert self._server is not None, "start() first"
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    @property
    def station_ids(self) -> list[str]:
        return sorted(self._links)

    def link(self, station_id: str) -> StationLink | None:
        return self._links.get(station_id)

    async def call(
        self,
        station_id: str,
        action: str,
        payload: JsonObject,
        *,
        destination: Side = Side.STATION,
        coalesce_key: str | None = None,
    ) -> JsonObject:
        """The controller's own call to a station (or, with destination CSMS, upstream for it).
        Raises `OwnCallError` unless a CALLRESULT comes back."""
        link = self._links.get(station_id)
        if link is None:
            raise StationUnavailableError(action, "NotConnected", f"{station_id} is not connected")
        return await link.call(action, payload, destination, coalesce_key)

    # -- handshake ----------------------------------------------------------------------------

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        station_id, raw_segment = _identity(request.path)
        if not station_id:
            return connection.respond(HTTPStatus.NOT_FOUND, "no station identity in the path\n")
        allowed = self._config.allowed_station_ids
        if allowed is not None and station_id not in allowed:
            # OCPP 2.0.1 part 4, 3.1.2: an unknown identity gets HTTP 404.
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown station identity\n")
        refusal = await self.security.admit(connection, station_id, request)
        if refusal is not None:
            return refusal
        refusal = await self._make_room_for(connection, station_id)
        if refusal is not None:
            return refusal
        offered = _offered_subprotocols(request.headers)
        common: list[str] = [p for p in offered if p in self._config.subprotocols]
        if not common:
            self._handshakes[connection] = _Handshake(station_id, upstream=None)
            return None
        try:
            upstream = await self._open_upstream(raw_segment, common, request.headers)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in _BUSY_STATUSES and self._outage is not None:
                # Overloaded or restarting, not a refusal of this station: ride it out.
                self._accept_offline(connection, station_id, common, f"HTTP {status}")
                return None
            log.info(
                "CSMS refused %s with HTTP %s", station_id, status, extra={"station_id": station_id}
            )
            return connection.respond(status, f"refused upstream with HTTP {status}\n")
        except ssl.SSLCertVerificationError as exc:
            # A00.FR.310/311 (the controller is the station here): no relaying to an
            # unverified CSMS.
            log.error(
                "the CSMS certificate does not verify for %s: %s",
                station_id,
                exc.verify_message,
                extra={"station_id": station_id},
            )
            return connection.respond(HTTPStatus.BAD_GATEWAY, "CSMS certificate not trusted\n")
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            if self._outage is not None:
                self._accept_offline(connection, station_id, common, repr(exc))
                return None
            log.warning(
                "cannot reach the CSMS for %s: %r",
                station_id,
                exc,
                extra={"station_id": station_id},
            )
            return connection.respond(HTTPStatus.BAD_GATEWAY, "CSMS unreachable\n")
        self._handshakes[connection] = _Handshake(station_id, upstream)
        if upstream.subprotocol is not None:
            self._last_subprotocol[station_id] = upstream.subprotocol
        return None

    def _accept_offline(
        self, connection: ServerConnection, station_id: str, common: list[str], why: str
    ) -> None:
        """Complete the station's handshake without a CSMS socket: the link answers it locally
        and reconnects upstream (offline operation, OCPP 2.0.1 part 4, 6.3 as amended)."""
        subprotocol = self._last_subprotocol.get(station_id, common[0])
        if subprotocol not in common:
            subprotocol = common[0]
        log.warning(
            "cannot reach the CSMS for %s (%s): accepting it offline with %s",
            station_id,
            why,
            subprotocol,
            extra={"station_id": station_id},
        )
        self._handshakes[connection] = _Handshake(station_id, None, subprotocol)

    async def _make_room_for(
        self, connection: ServerConnection, station_id: str
    ) -> Response | None:
        existing = self._links.get(station_id)
        if existing is None:
            return None
        if self._config.on_duplicate_connection == "reject":
            return connection.respond(HTTPStatus.CONFLICT, "station already connected\n")
        log.info(
            "%s reconnected; replacing its old connection",
            station_id,
            extra={"station_id": station_id},
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                existing.close(CloseCode.POLICY_VIOLATION, "replaced by a new connection"),
                _REPLACED_CONNECTION_WAIT_S,
            )
        return None

    async def _open_upstream(
        self, raw_segment: str, subprotocols: list[str], station_headers: Headers
    ) -> DirectClientConnection:
        url = f"{self._config.upstream_url}/{raw_segment}"
        async with self.upstream_pacer.opening():
            try:
                upstream = await self._connect_upstream(
                    url, raw_segment, subprotocols, station_headers
                )
            except InvalidStatus as exc:  # 429 or 503 with Retry-After pauses every new open
                self.upstream_pacer.refused(exc.response)
                raise
        return upstream

    async def _connect_upstream(
        self, url: str, raw_segment: str, subprotocols: list[str], station_headers: Headers
    ) -> DirectClientConnection:
        upstream = await connect(
            url,
            subprotocols=[Subprotocol(p) for p in subprotocols],
            compression="deflate" if self._config.compression else None,
            max_size=self._config.max_frame_bytes,
            ping_interval=self._config.ping_interval_s,
            ping_timeout=self._config.ping_timeout_s,
            close_timeout=self._close_timeout_s,
            open_timeout=self._config.upstream_open_timeout_s,
            # The CSMS sees the station's own User-Agent, as on a direct connection.
            user_agent_header=station_headers.get("User-Agent"),
            proxy=None,
            create_connection=DirectClientConnection,
            **self.security.upstream_options(unquote(raw_segment)),
        )
        assert isinstance(upstream, DirectClientConnection)
        return upstream

    def _select_subprotocol(
        self, connection: ServerConnection, subprotocols: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        handshake = self._handshakes.get(connection)
        if handshake is None:
            return None
        if handshake.upstream is None:
            return _subprotocol(handshake.offline_subprotocol)
        return handshake.upstream.subprotocol

    # -- connection ---------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, DirectServerConnection), "start() passes the factory"
        handshake = self._handshakes.pop(connection)
        upstream = handshake.upstream
        subprotocol = handshake.offline_subprotocol if upstream is None else upstream.subprotocol
        if subprotocol is None:
            # OCPP 2.0.1 part 4, 3.1.2: no agreed subprotocol: complete the handshake without
            # one, then close at once.
            if upstream is not None:
                await upstream.close(CloseCode.GOING_AWAY, "station offered no common subprotocol")
            await connection.close(CloseCode.PROTOCOL_ERROR, "no common OCPP subprotocol")
            return
        station_id = handshake.station_id
        version = OcppVersion.from_subprotocol(subprotocol)
        session = RelaySession(
            station_id,
            version,
            self._schemas,
            policy=self._policy_for(station_id, version) if self._policy_for else TRANSPARENT,
            options=self._options,
            new_message_id=self._new_message_id,
            store_and_forward=self._outage.store_and_forward(version) if self._outage else None,
        )
        link = StationLink(
            session,
            connection,
            upstream,
            self._clock,
            self._listener,
            outage=self._outage_for(connection, subprotocol),
            frame_timing=self.frame_timing,
            with_deadlines=self._with_deadlines,
        )
        self._links[station_id] = link
        self._links_since_freeze += 1
        self._last_link_s = self._clock()
        log.info(
            "%s connected with %s%s",
            station_id,
            subprotocol,
            "" if upstream is not None else " while the CSMS is unreachable",
            extra={"station_id": station_id},
        )
        try:
            await link.run()
        finally:
            if self._links.get(station_id) is link:
                del self._links[station_id]
            log.info("%s disconnected", station_id, extra={"station_id": station_id})

    def _outage_for(
        self, connection: DirectServerConnection, subprotocol: str
    ) -> tuple[OutageSettings, UpstreamOpener] | None:
        """With offline operation, how the link reopens the station's upstream socket."""
        if self._outage is None or connection.request is None:
            return None
        _, raw_segment = _identity(connection.request.path)
        # Kept before the link drops the handshake's headers: the CSMS sees the station's own
        # User-Agent on every reconnect, as on a direct connection.
        agent = connection.request.headers.get("User-Agent")
        headers = Headers({"User-Agent": agent} if agent else {})
        return self._outage, partial(self._open_upstream, raw_segment, [subprotocol], headers)

    async def _sweep_timeouts(self) -> None:
        while True:
            await asyncio.sleep(_TIMEOUT_SWEEP_INTERVAL_S)
            # Only links with a call in flight: a sweep over every link cost about 1 us a
            # station, a stall of milliseconds twice a second at thousands of stations.
            for link in list(self._with_deadlines):
                if link.tick():
                    link.flush()
            await self._drop_abandoned_handshakes()
            self._freeze_settled_objects()

    def _freeze_settled_objects(self) -> None:
        quiet = self._clock() - self._last_link_s >= _FREEZE_QUIET_S
        if self._links_since_freeze >= _FREEZE_AFTER_NEW_LINKS and quiet:
            self._links_since_freeze = 0
            gc.collect()
            gc.freeze()
            log.debug("froze %d long-lived objects", gc.get_freeze_count())

    async def _drop_abandoned_handshakes(self) -> None:
        """A station that vanished between our upstream connect and its handshake's end never
        reaches the handler: close the upstream socket opened for it."""
        for connection, handshake in list(self._handshakes.items()):
            if connection.state is State.CLOSED:
                del self._handshakes[connection]
                if handshake.upstream is not None:
                    await handshake.upstream.close(CloseCode.GOING_AWAY, "station went away")


def _identity(path: str) -> tuple[str, str]:
    """The station identity (last path segment, percent-decoded) and the raw segment."""
    raw_segment = urlsplit(path).path.rstrip("/").rpartition("/")[2]
    return unquote(raw_segment), raw_segment


def _subprotocol(name: str | None) -> Subprotocol | None:
    return None if name is None else Subprotocol(name)


def _offered_subprotocols(headers: Headers) -> list[str]:
    return [
        item.strip()
        for value in headers.get_all("Sec-WebSocket-Protocol")
        for item in value.split(",")
        if item.strip()
    ]
