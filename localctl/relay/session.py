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

import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from localctl.offline.entries import OutboxEntry
from localctl.relay.errors import LocalProtocolError, PeerProtocolError, error_code_for
from localctl.relay.events import (
    FrameRelayed,
    HandlerFailed,
    Outgoing,
    OwnCallAnswered,
    OwnCallFailed,
    PeerFaulted,
    PersistRequested,
    RelayedCallTimedOut,
    RelayEvent,
    ReplayAbandoned,
    ReplayAnswered,
    ReplayFinished,
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
from localctl.relay.offline import Answer, Persist
from localctl.relay.policy import TRANSPARENT, Policy, Route
from localctl.relay.queue import Origin, OutboundCall, SendingQueue
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.store_forward import StoreAndForward
from localctl.relay.versions import OcppVersion

# Calls that timed out are remembered this long (by count) so a late reply still reaches
# the peer that asked: dropping it would lose an answer a direct connection would deliver.
_LATE_REPLY_MEMORY = 64
_REPLY_TYPES = (MessageType.CALLRESULT, MessageType.CALLERROR, MessageType.CALLRESULTERROR)
# Local 1.6 transaction ids are negative (localctl.offline): a stored frame without one has
# nothing to map.
_LOCAL_TRANSACTION_ID = re.compile(r'"transactionId"\s*:\s*-')


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
        store_and_forward: StoreAndForward | None = None,
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
        self._store = store_and_forward

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
            elif expired.origin is Origin.REPLAY:
                self._replay_failed(f"no answer within {expired.timeout_s} s")
            else:
                self._remember_timed_out(destination, expired)
                self._events.append(
                    RelayedCallTimedOut(destination.other, expired.action, expired.message_id)
                )
        self._transmit_ready_calls()

    def has_deadline(self) -> bool:
        """`next_deadline_s() is not None`, cheaply enough to ask after every frame."""
        station, csms = self._queues[Side.STATION], self._queues[Side.CSMS]
        if station.in_flight is not None or csms.in_flight is not None:
            return True
        return self._store is not None and self._store.retry_deadline_s() is not None

    def next_deadline_s(self) -> float | None:
        deadlines = [q.in_flight.deadline_s for q in self._queues.values() if q.in_flight]
        retry_s = self._store.retry_deadline_s() if self._store is not None else None
        if retry_s is not None:
            deadlines.append(retry_s)
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
        store = self._store
        if store is not None:
            if source is Side.STATION and store.answers_locally:
                self._answer_offline(call, text)
                return
            if source is Side.CSMS and store.replaying:  # after the backlog, in order
                store.held_csms_calls.append((call, text))
                return
            if store.ids:
                call, text = self._with_mapped_transaction_ids(source, call, text)
        route = self._policy.route(source, call.action)
        if route is Route.ANSWER_LOCALLY:
            self._answer_locally(source, call)
            return
        if route is Route.REWRITE:
            call, text = self._rewritten(source, call, text)
        self._relayed(
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
        if self._store is not None and self._store.replaying:
            self._pump_replay(self._store)
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
        if call.origin is Origin.REPLAY:
            self._replay_answered(reply, text)
            return
        if isinstance(reply, CallResult) and self._reply_rejected(source, call, reply):
            return
        message_type = (
            reply.message_type if isinstance(reply, CallError) else MessageType.CALLRESULT
        )
        payload = reply.payload if isinstance(reply, CallResult) else reply.error_details
        self._relayed(FrameRelayed(source, message_type, call.action, call.message_id, payload))
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

    # -- store and forward (see localctl.relay.store_forward) --------------------------------

    def upstream_lost(self) -> None:
        """The CSMS socket is gone but the station stays: its calls are answered here now,
        including those it sent that the CSMS never answered."""
        store = self._require_store()
        store.lose_upstream()
        for call in self._queues[Side.CSMS].drain():
            if call.origin is Origin.CONTROLLER:
                self._fail_own(call, "ConnectionLost", "the CSMS connection closed")
            elif call.origin is Origin.PEER:
                frame = parse_frame(call.text, self.version)
                assert isinstance(frame, Call), "only calls wait in a sending queue"
                self._answer_offline(frame, call.text, already_reported=True)
        self._transmit_ready_calls()

    def upstream_restored(
        self, pending: Sequence[OutboxEntry], known_transaction_ids: Mapping[str, str]
    ) -> None:
        """A CSMS socket is up again: deliver `pending` (the station's undelivered entries, in
        order) before anything else, then the CSMS's calls held meanwhile."""
        self._require_store().restore_upstream(pending, known_transaction_ids)
        self._transmit_ready_calls()

    def persisted(
        self, message_id: str, entry: OutboxEntry, local_transaction_id: int | None
    ) -> None:
        """The shell stored a `PersistRequested` call durably: now the station is answered."""
        store = self._require_store()
        call = store.awaiting_persist.pop(message_id, None)
        if call is None:
            return
        self._answer_station(call, store.responder.answer_after_persist(call, local_transaction_id))
        if store.upstream_up:  # stored during replay: it goes after the backlog
            store.replaying = True
            store.add_to_backlog([entry])
        self._transmit_ready_calls()

    def persist_failed(self, message_id: str, reason: str) -> None:
        """Nothing was stored: the station gets an error and, not answered, sends it again."""
        call = self._require_store().awaiting_persist.pop(message_id, None)
        if call is not None:
            description = f"{call.action} could not be stored: {reason}"
            self._send(Side.STATION, encode_call_error(message_id, "InternalError", description))

    def _require_store(self) -> StoreAndForward:
        if self._store is None:
            raise LocalProtocolError("this session has no store and forward")
        return self._store

    def _answer_offline(
        self, call: Call, text: str | bytes, *, already_reported: bool = False
    ) -> None:
        store = self._require_store()
        if not already_reported:
            self._relayed(
                FrameRelayed(
                    Side.STATION, call.message_type, call.action, call.message_id, call.payload
                )
            )
        decision = store.responder.decide(call, store.wall_clock())
        if isinstance(decision, Answer):
            self._answer_station(call, decision.payload)
        elif isinstance(decision, Persist):
            store.awaiting_persist[call.message_id] = call
            frame = text if isinstance(text, str) else text.decode()
            self._events.append(
                PersistRequested(
                    call.action, call.message_id, frame, decision.needs_local_transaction_id
                )
            )
        else:
            error = encode_call_error(call.message_id, decision.error_code, decision.description)
            self._send(Side.STATION, error)

    def _answer_station(self, call: Call, payload: JsonObject) -> None:
        """Answer in the CSMS's place; listeners hear it as the CSMS's answer."""
        self._send(Side.STATION, encode_call_result(call.message_id, payload))
        self._relayed(
            FrameRelayed(Side.CSMS, MessageType.CALLRESULT, call.action, call.message_id, payload)
        )

    def _pump_replay(self, store: StoreAndForward) -> None:
        queue = self._queues[Side.CSMS]
        if len(queue) == 0:
            entry = store.next_entry(self._now_s)
            if entry is not None:
                timeout_s = self._options.relayed_call_timeout_s
                frame = self._replay_text(store, entry)
                queue.enqueue(
                    OutboundCall(entry.message_id, entry.action, frame, Origin.REPLAY, timeout_s)
                )
        if store.backlog_delivered():
            store.replaying = False
            self._events.append(ReplayFinished())
            held, store.held_csms_calls = store.held_csms_calls, []
            for call, text in held:
                self._on_call(Side.CSMS, call, text)

    def _replay_text(self, store: StoreAndForward, entry: OutboxEntry) -> str:
        if entry.action == "TransactionEvent":
            return self._marked_offline(entry)
        if not store.ids or not _LOCAL_TRANSACTION_ID.search(entry.frame_text):
            return entry.frame_text  # nothing to map: no need to parse it again
        frame = parse_frame(entry.frame_text, self.version)
        assert isinstance(frame, Call), "the outbox stores calls"
        _, text = self._with_mapped_transaction_ids(Side.STATION, frame, entry.frame_text)
        return text if isinstance(text, str) else text.decode()

    def _marked_offline(self, entry: OutboxEntry) -> str:
        """2.0.1 E12.FR.02: a queued TransactionEvent reaches the CSMS with `offline` true. The
        station sent it online, to the controller; for the CSMS it was queued all the same,
        and the flag tells it the event is late."""
        frame = parse_frame(entry.frame_text, self.version)
        assert isinstance(frame, Call), "the outbox stores calls"
        if frame.payload.get("offline") is True:
            return entry.frame_text
        return encode_call(frame.message_id, frame.action, {**frame.payload, "offline": True})

    def _replay_answered(self, reply: CallResult | CallError, text: str | bytes) -> None:
        store = self._require_store()
        if isinstance(reply, CallError):
            self._replay_failed(f"{reply.error_code}: {reply.error_description}")
            return
        entry = store.settle()
        csms_id = None
        transaction_id = reply.payload.get("transactionId")
        local_id = entry.local_transaction_id
        if entry.action == "StartTransaction" and local_id and isinstance(transaction_id, int):
            csms_id = str(transaction_id)
            store.ids.learn(local_id, csms_id)
        result_text = text if isinstance(text, str) else text.decode()
        self._events.append(ReplayAnswered(entry.seq, entry.action, result_text, csms_id))

    def _replay_failed(self, reason: str) -> None:
        store = self._require_store()
        entry = store.in_flight
        if entry is not None and not store.retry_later(self._now_s):
            store.settle()
            self._events.append(ReplayAbandoned(entry.seq, entry.action, reason))

    def _with_mapped_transaction_ids(
        self, source: Side, call: Call, text: str | bytes
    ) -> tuple[Call, str | bytes]:
        """1.6: the station keeps using an offline local transactionId; the CSMS knows its own."""
        ids = self._require_store().ids
        if source is Side.STATION:
            payload = ids.towards_csms(call.action, call.payload)
        else:
            payload = ids.towards_station(call.action, call.payload)
        if payload is None:
            return call, text
        mapped = Call(call.message_id, call.action, payload, call.message_type)
        return mapped, encode_call(call.message_id, call.action, payload)

    # -- helpers ----------------------------------------------------------------------------

    def _send(self, destination: Side, text: str) -> None:
        self._outgoing.append(Outgoing(destination, text))

    def _fail_own(self, call: OutboundCall, error_code: str, description: str) -> None:
        self._events.append(OwnCallFailed(call.message_id, call.action, error_code, description))

    def _relayed(self, event: FrameRelayed) -> None:
        self._events.append(event)
        if self._store is not None:
            self._store.responder.observe(event)

    def _remember_timed_out(self, destination: Side, call: OutboundCall) -> None:
        self._timed_out[(destination, call.message_id)] = call
        while len(self._timed_out) > _LATE_REPLY_MEMORY:
            self._timed_out.popitem(last=False)
