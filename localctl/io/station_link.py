"""One station's two sockets, pumped through its RelaySession.

Every message either socket receives goes into the session as soon as it is complete, inside
the transport's callback, and whatever the session then wants sent is written at once: no
reader task, no queue and no task switch per frame (see `localctl.io.direct`). When either
socket closes, the other is closed too (OCPP 2.0.1 part 4, 6.3) and the controller's own calls
still waiting fail with `StationUnavailableError`. A socket whose write buffer fills up stops
the relay from reading its peer until it drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial
from time import perf_counter

from websockets.frames import CloseCode
from websockets.protocol import State

from localctl.histogram import Histogram
from localctl.io.direct import DirectConnection, Message
from localctl.io.outage import OutageRider, OutageSettings, UpstreamOpener
from localctl.relay.events import (
    FrameRelayed,
    LinkClosed,
    LinkEvent,
    LinkOpened,
    OwnCallAnswered,
    OwnCallFailed,
    PeerFaulted,
    RelayEvent,
    SchemaViolated,
    Side,
)
from localctl.relay.frames import JsonObject
from localctl.relay.session import RelaySession

log = logging.getLogger("localctl.relay")
traffic_log = logging.getLogger("localctl.traffic")

EventListener = Callable[[str, LinkEvent], None]

# Close codes an endpoint may send (RFC 6455 7.4.1); others are mirrored as GOING_AWAY.
_SENDABLE_CLOSE_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013}


class OwnCallError(Exception):
    """The controller's own call got no CALLRESULT: a CALLERROR, a timeout or a lost socket."""

    def __init__(self, action: str, error_code: str, description: str) -> None:
        super().__init__(f"{action}: {error_code}: {description}")
        self.action = action
        self.error_code = error_code
        self.description = description


class StationUnavailableError(OwnCallError):
    """The station is not connected (or went away before answering)."""


class StationLink:
    """The running relay of one connected station."""

    def __init__(
        self,
        session: RelaySession,
        station_socket: DirectConnection,
        upstream_socket: DirectConnection | None,
        clock: Callable[[], float],
        listener: EventListener | None = None,
        *,
        outage: tuple[OutageSettings, UpstreamOpener] | None = None,
        frame_timing: Histogram,
        with_deadlines: set[StationLink] | None = None,
    ) -> None:
        self.session = session
        # The links with a call in flight or a retry due: the only ones the relay's timeout
        # sweep must look at (the shell shares one set between all its links).
        self._with_deadlines = set() if with_deadlines is None else with_deadlines
        self.station_id = session.station_id
        # No upstream socket: the station was accepted while the CSMS was unreachable.
        self._sockets: dict[Side, DirectConnection] = {Side.STATION: station_socket}
        if upstream_socket is not None:
            self._sockets[Side.CSMS] = upstream_socket
        self._clock = clock
        self._listener = listener
        self._own_calls: dict[str, asyncio.Future[JsonObject]] = {}
        self.closed = asyncio.Event()
        self.frame_timing = frame_timing
        # With outage settings the station stays connected when the CSMS goes away.
        self._outage = (
            None if outage is None else OutageRider(outage[0], session, outage[1], self.flush)
        )

    async def run(self) -> None:
        """Relay until either socket closes, then close the other one."""
        self._notify(LinkOpened(self.session.version))
        try:
            upstream_open = Side.CSMS in self._sockets
            if self._outage is not None and upstream_open:
                await self._outage.restore()  # what a crash or an outage left goes first
            for side, socket in list(self._sockets.items()):
                self._attach(side, socket)
            if upstream_open or await self._ride_out_outage():
                while not await self._link_ended():
                    pass
        finally:
            if self._outage is not None:
                await self._outage.close()
            self.session.connection_lost()
            self._dispatch_events()
            self._with_deadlines.discard(self)
            for future in self._own_calls.values():
                if not future.done():
                    future.set_exception(
                        StationUnavailableError("?", "ConnectionLost", "the station disconnected")
                    )
            self.closed.set()
            self._notify(LinkClosed())

    async def call(
        self,
        action: str,
        payload: JsonObject,
        destination: Side,
        coalesce_key: str | None = None,
    ) -> JsonObject:
        """Send the controller's own call and wait for its CALLRESULT payload. A call still
        waiting with the same `coalesce_key` is replaced and fails with error code Superseded."""
        if self.closed.is_set():
            raise StationUnavailableError(
                action, "NotConnected", f"{self.station_id} is not connected"
            )
        message_id = self.session.send_own_call(
            action, payload, self._clock(), destination=destination, coalesce_key=coalesce_key
        )
        future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
        self._own_calls[message_id] = future
        self.flush()
        try:
            return await future
        finally:
            self._own_calls.pop(message_id, None)

    async def close(self, code: int = CloseCode.GOING_AWAY, reason: str = "") -> None:
        for socket in list(self._sockets.values()):
            await socket.close(code, reason)
        await self.closed.wait()

    def tick(self) -> bool:
        """Let overdue calls time out; True if something is now waiting to be sent."""
        deadline = self.session.next_deadline_s()
        now_s = self._clock()
        if deadline is None or now_s < deadline:
            return False
        self.session.tick(now_s)
        return True

    def _attach(self, side: Side, socket: DirectConnection) -> None:
        self._sockets[side] = socket
        socket.forget_handshake_headers()
        socket.on_flow = partial(self._hold_peer, side)
        socket.deliver_to(partial(self._receive, side))

    async def _link_ended(self) -> bool:
        """Wait until a socket closes; False if the link goes on (a new upstream socket)."""
        # The futures themselves, not wait_closed() tasks: two tasks fewer per station.
        closings = {socket.connection_lost_waiter: side for side, socket in self._sockets.items()}
        done, _ = await asyncio.wait(closings, return_when=asyncio.FIRST_COMPLETED)
        closed_side = closings[done.pop()]
        station_gone = self._sockets[Side.STATION].connection_lost_waiter
        if closed_side is Side.CSMS and self._outage is not None and not station_gone.done():
            log.warning(
                "CSMS connection lost (code %s): answering the station locally, storing its "
                "transaction messages",
                self._sockets[Side.CSMS].close_code,
                extra={"station_id": self.station_id},
            )
            return not await self._ride_out_outage()
        await self._close_other(closed_side)
        await asyncio.wait(closings)
        return True

    async def _ride_out_outage(self) -> bool:
        """Answer the station here until a new upstream socket is open and the backlog is
        handed over; False if the station left first."""
        assert self._outage is not None, "only links with outage settings ride out an outage"
        self._sockets.pop(Side.CSMS, None)
        self.session.upstream_lost()
        self.flush()
        station_gone = self._sockets[Side.STATION].connection_lost_waiter
        upstream = await self._outage.reconnect(station_gone)
        if upstream is None:
            return False
        log.info("CSMS connection restored", extra={"station_id": self.station_id})
        self._attach(Side.CSMS, upstream)
        await self._outage.restore()
        return True

    def flush(self) -> None:
        """Write what the session wants sent, then hand its events on."""
        for outgoing in self.session.data_to_send():
            socket = self._sockets.get(outgoing.destination)
            if socket is None or not socket.send_now(outgoing.text):
                # The link is closing; the peer never saw this frame, and as OCPP-J requires
                # it will resend its own unanswered call after reconnecting.
                log.warning(
                    "frame not sent, %s socket closed",
                    outgoing.destination.value,
                    extra={"station_id": self.station_id},
                )
        # Every change to the session's calls in flight ends with a flush, so this keeps
        # the set exact.
        if self.session.has_deadline():
            self._with_deadlines.add(self)
        else:
            self._with_deadlines.discard(self)
        self._dispatch_events()

    def _receive(self, side: Side, message: Message) -> None:
        started_s = perf_counter()
        try:
            self.session.receive(side, message, self._clock())
            self.flush()
            self.frame_timing.record(perf_counter() - started_s)
        except Exception:  # a bug of ours must not take the transport down with it
            log.exception("relaying a frame failed", extra={"station_id": self.station_id})

    def is_reading(self, side: Side) -> bool:
        """False while the relay holds `side` back because its peer's write buffer is full."""
        socket = self._sockets.get(side)
        return socket is not None and socket.transport.is_reading()

    def _hold_peer(self, side: Side, write_buffer_full: bool) -> None:
        """Stop reading the peer that feeds `side` while `side` cannot take more."""
        peer = self._sockets.get(side.other)
        if peer is None:
            return
        transport = peer.transport
        with contextlib.suppress(RuntimeError):  # the peer's transport is already closed
            if write_buffer_full:
                transport.pause_reading()
            else:
                transport.resume_reading()

    async def _close_other(self, closed_side: Side) -> None:
        """OCPP 2.0.1 part 4, 6.3: a lost socket closes its counterpart, with the same code
        where that code may be sent on."""
        closed = self._sockets[closed_side]
        other = self._sockets.get(closed_side.other)
        if other is None or other.state is State.CLOSED:
            return
        code = closed.close_code if closed.close_code in _SENDABLE_CLOSE_CODES else None
        reason = closed.close_reason or f"{closed_side.value} connection closed"
        await other.close(code or CloseCode.GOING_AWAY, reason[:120])
        log.info(
            "%s socket closed (code %s), closing the %s socket",
            closed_side.value,
            closed.close_code,
            closed_side.other.value,
            extra={"station_id": self.station_id},
        )

    def _dispatch_events(self) -> None:
        for event in self.session.events():
            if isinstance(event, OwnCallAnswered):
                self._resolve(event.message_id, result=event.payload)
            elif isinstance(event, OwnCallFailed):
                error = OwnCallError(event.action, event.error_code, event.description)
                self._resolve(event.message_id, error=error)
            if self._outage is not None:
                self._outage.on_event(event)
            self._log(event)
            self._notify(event)

    def _notify(self, event: LinkEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(self.station_id, event)
        except Exception:  # listener code only: its bug must not end the station's relay
            log.exception(
                "event listener failed on %s",
                type(event).__name__,
                extra={"station_id": self.station_id},
            )

    def _resolve(
        self, message_id: str, *, result: JsonObject | None = None, error: Exception | None = None
    ) -> None:
        future = self._own_calls.get(message_id)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or {})

    def _log(self, event: RelayEvent) -> None:
        if type(event) is FrameRelayed:  # nearly every event: nothing built unless logged
            if traffic_log.isEnabledFor(logging.INFO):
                traffic_log.info(
                    "%s %s",
                    event.message_type.name,
                    event.action,
                    extra={
                        "station_id": self.station_id,
                        "message_id": event.message_id,
                        "action": event.action,
                        "direction": f"{event.source.value}->{event.source.other.value}",
                    },
                )
            return
        extra = {"station_id": self.station_id}
        if isinstance(event, PeerFaulted | SchemaViolated):
            log.warning(
                "%s from %s: %s",
                type(event).__name__,
                event.source.value,
                event.description,
                extra={**extra, "message_id": event.message_id},
            )
        else:
            log.debug("%s", event, extra=extra)
