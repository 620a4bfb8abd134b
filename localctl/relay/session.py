"""RelaySession: one station's two links, sans-I/O.

The shell feeds every received text frame to `receive()`, transmits what `data_to_send()`
returns and hands `events()` to whoever listens; it calls `tick()` so calls can time out.
Nothing here reads a clock, opens a socket or blocks.

Per frame: parse once, validate against the negotiated version's schema, route by the policy
table, and put whatever must go out through the destination's sending queue (one CALL in
flight per direction; replies go out at once). Faults by a peer never raise: they become a
CALLERROR towards that peer where OCPP-J calls for one, and an event.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from localctl.relay.errors import LocalProtocolError, PeerProtocolError, error_code_for
from localctl.relay.events import (
    FrameRelayed,
    HandlerFailed,
    Outgoing,
    OwnCallAnswered,
    OwnCallFailed,
    PeerFaulted,
    RelayedCallTimedOut,
    RelayEvent,
    ReplyUnmatched,
    SchemaViolated,
    Side,
)
from localctl.relay.frames import (
    UNREADABLE_MESSAGE_ID,
    Call,
    CallError,
    CallResult,
    JsonObject,
    MessageType,
    encode_call,
    encode_call_error,
    encode_call_result,
    parse_frame,
)
from localctl.relay.policy import TRANSPARENT, Policy, Route
from localctl.relay.queue import Origin, OutboundCall, SendingQueue
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion

# Calls that timed out are remembered this long (by count) so a late reply still reaches
# the peer that asked: dropping it would lose an answer a direct connection would deliver.
_LATE_REPLY_MEMORY = 64
_REPLY_TYPES = (MessageType.CALLRESULT, MessageType.CALLERROR, MessageType.CALLRESULTERROR)


def own_message_id() -> str:
    """A message id for the controller's own calls: a UUID, so it never collides with the
    CSMS's ids now or later (OCPP 2.0.1 part 4, 6.4 item 1); 35 of the 36 allowed characters."""
    return "lc-" + uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class SessionOptions:
    strict: bool = False
    """Answer schema-invalid calls with a CALLERROR instead of relaying them."""
    relayed_call_timeout_s: float = 60.0
    own_call_timeout_s: float = 30.0


@dataclass(slots=True)
class SessionStats:
    frames_received: dict[Side, int] = field(default_factory=lambda: dict.fromkeys(Side, 0))
    schema_violations: dict[Side, int] = field(default_factory=lambda: dict.fromkeys(Side, 0))
    faults: dict[Side, int] = field(default_factory=lambda: dict.fromkeys(Side, 0))


class RelaySession:
    """The relay state of one station: its link to the station and its link to the CSMS."""

    def __init__(
        self,
        station_id: str,
        version: OcppVersion,
        schemas: SchemaRegistry,
        *,
        policy: Policy = TRANSPARENT,
        options: SessionOptions | None = None,
        new_message_id: Callable[[], str] = own_message_id,
    ) -> None:
        self.station_id = station_id
        self.version = version
        self.stats = SessionStats()
        self._schemas = schemas
        self._policy = policy
        self._options = options or SessionOptions()
        self._new_message_id = new_message_id
        self._queues = {Side.STATION: SendingQueue(), Side.CSMS: SendingQueue()}
        self._timed_out: OrderedDict[tuple[Side, str], OutboundCall] = OrderedDict()
        self._outgoing: list[Outgoing] = []
        self._events: list[RelayEvent] = []
        self._now_s = 0.0

    # -- the shell's side -------------------------------------------------------------------

    def receive(self, source: Side, text: str | bytes, now_s: float) -> None:
        """Take one WebSocket message that `source` sent."""
        self._now_s = now_s
        self.stats.frames_received[source] += 1
        try:
            frame = parse_frame(text, self.version)
        except PeerProtocolError as exc:
            self._on_malformed(source, exc, text)
        else:
            if isinstance(frame, Call):
                self._on_call(source, frame, text)
            else:
                self._on_reply(source, frame, text)
        self._transmit_ready_calls()

    def send_own_call(
        self,
        action: str,
        payload: JsonObject,
        now_s: float,
        *,
        destination: Side = Side.STATION,
        coalesce_key: str | None = None,
    ) -> str:
        """Queue the controller's own call; returns its message id. Its reply comes back as
        an `OwnCallAnswered` or `OwnCallFailed` event and is never forwarded."""
        violation = self._schemas.validate(self.version, action, payload, is_response=False)
        if violation is not None:
            raise LocalProtocolError(f"own call is invalid: {violation.description}")
        self._now_s = now_s
        message_id = self._new_message_id()
        call = OutboundCall(
            message_id,
            action,
            encode_call(message_id, action, payload),
            Origin.CONTROLLER,
            self._options.own_call_timeout_s,
            coalesce_key,
        )
        superseded = self._queues[destination].enqueue(call)
        if superseded is not None:
            self._fail_own(superseded, "Superseded", "replaced by a newer call with the same key")
        self._transmit_ready_calls()
        return message_id

    def tick(self, now_s: float) -> None:
        """Let calls in flight time out; the shell calls this now and then."""
        self._now_s = now_s
        for destination, queue in self._queues.items():
            expired = queue.expire(now_s)
            if expired is None:
                continue
            if expired.origin is Origin.CONTROLLER:
                self._fail_own(expired, "Timeout", f"no answer within {expired.timeout_s} s")
            else:
                self._remember_timed_out(destination, expired)
                self._events.append(
                    RelayedCallTimedOut(destination.other, expired.action, expired.message_id)
                )
        self._transmit_ready_calls()

    def next_deadline_s(self) -> float | None:
        deadlines = [q.in_flight.deadline_s for q in self._queues.values() if q.in_flight]
        return min(deadlines, default=None)

    def connection_lost(self) -> None:
        """Either socket is gone: every queued call fails; the controller's own are reported."""
        for queue in self._queues.values():
            for call in queue.drain():
                if call.origin is Origin.CONTROLLER:
                    self._fail_own(call, "ConnectionLost", "the connection closed")

    def data_to_send(self) -> list[Outgoing]:
        outgoing, self._outgoing = self._outgoing, []
        return outgoing

    def events(self) -> list[RelayEvent]:
        events, self._events = self._events, []
        return events

    def queue_depth(self, destination: Side) -> int:
        return len(self._queues[destination])

    # -- calls ------------------------------------------------------------------------------

    def _on_call(self, source: Side, call: Call, text: str | bytes) -> None:
        violation = self._schemas.validate(
            self.version, call.action, call.payload, is_response=False
        )
        if violation is not None:
            self.stats.schema_violations[source] += 1
            relayed = not self._options.strict
            self._events.append(
                SchemaViolated(
                    source,
                    call.action,
                    call.message_id,
                    violation.fault,
                    violation.description,
                    relayed,
                )
            )
            if not relayed:
                code = error_code_for(violation.fault, self.version)
                self._send(source, encode_call_error(call.message_id, code, violation.description))
                return
        route = self._policy.route(source, call.action)
        if route is Route.ANSWER_LOCALLY:
            self._answer_locally(source, call)
            return
        if route is Route.REWRITE:
            call, text = self._rewritten(source, call, text)
        self._events.append(
            FrameRelayed(source, call.message_type, call.action, call.message_id, call.payload)
        )
        frame = text if isinstance(text, str) else text.decode()
        if call.message_type is MessageType.SEND:  # OCPP 2.1 SEND expects no reply
            self._send(source.other, frame)
            return
        timeout_s = self._options.relayed_call_timeout_s
        self._queues[source.other].enqueue(
            OutboundCall(call.message_id, call.action, frame, Origin.PEER, timeout_s)
        )

    def _answer_locally(self, source: Side, call: Call) -> None:
        handler = self._policy.handlers.get((source, call.action))
        if handler is None:
            raise LocalProtocolError(f"no local handler for {call.action} from {source.value}")
        try:
            answer = handler(call)
        except Exception as exc:  # handler code only: a bug there must not end the session
            self._events.append(HandlerFailed(source, call.action, call.message_id, repr(exc)))
            description = f"{call.action} could not be handled"
            self._send(source, encode_call_error(call.message_id, "InternalError", description))
            return
        if answer.error_code is None:
            self._send(source, encode_call_result(call.message_id, answer.payload))
        else:
            self._send(
                source,
                encode_call_error(call.message_id, answer.error_code, answer.error_description),
            )

    def _rewritten(self, source: Side, call: Call, text: str | bytes) -> tuple[Call, str | bytes]:
        rewriter = self._policy.rewriters.get((source, call.action))
        if rewriter is None:
            raise LocalProtocolError(f"no rewriter for {call.action} from {source.value}")
        try:
            payload = rewriter(call)
        except Exception as exc:  # rewriter code only: relay the call as it came
            self._events.append(HandlerFailed(source, call.action, call.message_id, repr(exc)))
            return call, text
        if payload is None:
            return call, text
        rewritten = Call(call.message_id, call.action, payload, call.message_type)
        return rewritten, encode_call(call.message_id, call.action, payload)

    def _transmit_ready_calls(self) -> None:
        for destination, queue in self._queues.items():
            call = queue.next_to_send(self._now_s)
            if call is not None:
                self._send(destination, call.text)

    # -- replies ----------------------------------------------------------------------------

    def _on_reply(self, source: Side, reply: CallResult | CallError, text: str | bytes) -> None:
        call = self._queues[source].settle(reply.message_id) or self._timed_out.pop(
            (source, reply.message_id), None
        )
        if call is None:
            self._events.append(ReplyUnmatched(source, reply.message_id))
            return
        if call.origin is Origin.CONTROLLER:
            self._complete_own(call, reply)
            return
        if isinstance(reply, CallResult) and self._reply_rejected(source, call, reply):
            return
        message_type = (
            reply.message_type if isinstance(reply, CallError) else MessageType.CALLRESULT
        )
        payload = reply.payload if isinstance(reply, CallResult) else reply.error_details
        self._events.append(
            FrameRelayed(source, message_type, call.action, call.message_id, payload)
        )
        self._send(source.other, text if isinstance(text, str) else text.decode())

    def _reply_rejected(self, source: Side, call: OutboundCall, reply: CallResult) -> bool:
        """Validate a relayed CALLRESULT. In strict mode an invalid one is replaced by a
        CALLERROR to the caller, which tells it the answer it would have had is unusable."""
        violation = self._schemas.validate(
            self.version, call.action, reply.payload, is_response=True
        )
        if violation is None:
            return False
        self.stats.schema_violations[source] += 1
        strict = self._options.strict
        self._events.append(
            SchemaViolated(
                source,
                call.action,
                call.message_id,
                violation.fault,
                violation.description,
                not strict,
            )
        )
        if strict:
            code = error_code_for(violation.fault, self.version)
            description = (
                f"{source.value} answered with an invalid payload: {violation.description}"
            )
            self._send(source.other, encode_call_error(call.message_id, code, description))
        return strict

    def _complete_own(self, call: OutboundCall, reply: CallResult | CallError) -> None:
        if isinstance(reply, CallResult):
            self._events.append(OwnCallAnswered(call.message_id, call.action, reply.payload))
        else:
            self._fail_own(call, reply.error_code, reply.error_description)

    def _on_malformed(self, source: Side, exc: PeerProtocolError, text: str | bytes) -> None:
        self.stats.faults[source] += 1
        if exc.message_type in _REPLY_TYPES:
            self._on_malformed_reply(source, exc, text)
            return
        message_id = exc.message_id or UNREADABLE_MESSAGE_ID
        code = error_code_for(exc.fault, self.version)
        self._send(source, encode_call_error(message_id, code, exc.description))
        self._events.append(
            PeerFaulted(source, exc.fault, exc.description, message_id, answered=True)
        )

    def _on_malformed_reply(self, source: Side, exc: PeerProtocolError, text: str | bytes) -> None:
        """OCPP-J has no error for a reply, so it is never answered. The call it answers is
        settled so the link does not stall: the controller's own call fails; a relayed one
        gets the reply as it came (what a direct connection would deliver), or in strict mode
        a CALLERROR saying the answer was malformed."""
        self._events.append(
            PeerFaulted(source, exc.fault, exc.description, exc.message_id, answered=False)
        )
        call = self._queues[source].settle(exc.message_id) if exc.message_id else None
        if call is None:
            return
        if call.origin is Origin.CONTROLLER:
            self._fail_own(call, error_code_for(exc.fault, self.version), exc.description)
        elif self._options.strict:
            code = error_code_for(exc.fault, self.version)
            description = f"{source.value} answered with a malformed frame: {exc.description}"
            self._send(source.other, encode_call_error(call.message_id, code, description))
        else:
            self._send(source.other, text if isinstance(text, str) else text.decode())

    # -- helpers ----------------------------------------------------------------------------

    def _send(self, destination: Side, text: str) -> None:
        self._outgoing.append(Outgoing(destination, text))

    def _fail_own(self, call: OutboundCall, error_code: str, description: str) -> None:
        self._events.append(OwnCallFailed(call.message_id, call.action, error_code, description))

    def _remember_timed_out(self, destination: Side, call: OutboundCall) -> None:
        self._timed_out[(destination, call.message_id)] = call
        while len(self._timed_out) > _LATE_REPLY_MEMORY:
            self._timed_out.popitem(last=False)
