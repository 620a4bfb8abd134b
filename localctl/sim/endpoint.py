"""One OCPP-J connection as the simulators see it: receive loop, records, calls.

The `ocpp` engine packs and correlates; this layer adds what the simulators need around it:
every frame received is checked against its schema with the relay's compiled validators (the
engine's own check runs the `jsonschema` package, 0.3 to 0.7 ms a message: half the CPU of a
500-EVSE simulated site, which then answered its controller too slowly to measure the
controller), every incoming CALL is recorded with its message id before it is handled,
an optional delay before answering, follow-up calls that must leave only after the
answer (a NotifyReport after GetBaseReport), and calls that fail fast when the socket
closes instead of waiting out the response timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ocpp.exceptions import OCPPError
from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed

from localctl.relay.errors import error_code_for
from localctl.relay.schemas import SchemaRegistry, SchemaViolation
from localctl.relay.versions import OcppVersion
from localctl.sim.dispatch import CallDispatcher
from localctl.sim.errors import ConnectionLostError, InvalidResultError, PeerCallError
from localctl.sim.ocpp_glue import create_engine
from localctl.sim.tasks import TaskSupervisor

LOGGER = logging.getLogger(__name__)

JsonObject = dict[str, Any]
FollowUp = Callable[[], Coroutine[Any, Any, None]]
# Sees every frame: (peer identity, "in" or "out", raw text). For showing traffic live.
FrameHook = Callable[[str, str, str], None]

ResultHook = Callable[[JsonObject], None]
_CALL = 2
_CALLRESULT = 3
_CALLERROR = 4
_SCHEMAS = SchemaRegistry()
MAX_LOGGED_CALLS = 200


@dataclass(frozen=True, slots=True)
class ReceivedCall:
    """A CALL as it arrived: message id, action and the frame's text. The payload (as on the
    wire, camelCase) is parsed from the text when asked for: a string is one object the
    garbage collector never scans, a parsed payload is dozens."""

    message_id: str
    action: str
    text: str

    @property
    def payload(self) -> JsonObject:
        payload: JsonObject = json.loads(self.text)[3]
        return payload


class CallLog:
    """The newest CALLs received from one peer, in order, and a way to wait for one to arrive.

    Bounded: a simulated site runs for hours with hundreds of stations, and an unbounded log
    of parsed payloads made every full garbage collection of the site process scan them all
    (300 ms stalls every 10 s after three minutes at 500 EVSEs, growing with the run).
    """

    def __init__(self, max_calls: int = MAX_LOGGED_CALLS) -> None:
        self.calls: deque[ReceivedCall] = deque(maxlen=max_calls)
        self._grew = asyncio.Event()

    def append(self, call: ReceivedCall) -> None:
        self.calls.append(call)
        # Wake every waiter once, and give later waiters a fresh event.
        self._grew.set()
        self._grew = asyncio.Event()

    async def wait_for(self, action: str, count: int = 1, timeout_s: float = 5.0) -> ReceivedCall:
        """The `count`-th CALL of `action` still in the log, waiting for it if it has not
        arrived yet."""
        async with asyncio.timeout(timeout_s):
            while True:
                grew = self._grew
                matching = [call for call in self.calls if call.action == action]
                if len(matching) >= count:
                    return matching[count - 1]
                await grew.wait()


@dataclass
class ReplyScript:
    """Deviations from the normal answers, for testing how a peer copes; changeable live.

    An action in `errors` is answered with a CALLERROR of that code; an action in
    `unanswered` gets no answer at all (to provoke the caller's timeout).
    """

    errors: dict[str, str] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)

    def answer_with_error(self, action: str, code: str = "InternalError") -> None:
        self.errors[action] = code

    def leave_unanswered(self, action: str) -> None:
        self.unanswered.add(action)

    def reset(self) -> None:
        self.errors.clear()
        self.unanswered.clear()


def parse_frame(text: str) -> list[Any] | None:
    """The OCPP-J frame as a list, or None when it is not one (the engine reports those)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    return frame if isinstance(frame, list) and len(frame) >= 3 else None


class _TappedSender:
    """What the `ocpp` engine sends through: the connection, with outgoing frames shown."""

    def __init__(self, identity: str, connection: Connection, on_frame: FrameHook) -> None:
        self._identity = identity
        self._connection = connection
        self._on_frame = on_frame

    async def send(self, text: str) -> None:
        self._on_frame(self._identity, "out", text)
        await self._connection.send(text)


def _ignore_frame(identity: str, direction: str, text: str) -> None:
    del identity, direction, text


class OcppEndpoint:
    """Drives one connection: `run()` receives until it closes, `call()` sends a CALL."""

    def __init__(
        self,
        *,
        identity: str,
        connection: Connection,
        handlers: object,
        supervisor: TaskSupervisor,
        response_timeout_s: float,
        reply_delay_s: float = 0.0,
        call_log: CallLog | None = None,
        script: ReplyScript | None = None,
        on_frame: FrameHook | None = None,
    ) -> None:
        subprotocol = connection.subprotocol
        assert subprotocol is not None, "the handshake guarantees a subprotocol"
        self.identity = identity
        self.subprotocol: str = subprotocol
        self._version = OcppVersion.from_subprotocol(subprotocol)
        # The owner may pass a log that outlives this connection, to keep records
        # across reconnects.
        self.call_log = CallLog() if call_log is None else call_log
        self.script = ReplyScript() if script is None else script
        self._connection = connection
        self._supervisor = supervisor
        self._reply_delay_s = reply_delay_s
        self._on_frame = on_frame or _ignore_frame
        self._sender = sender = _TappedSender(identity, connection, self._on_frame)
        self._engine = create_engine(subprotocol, identity, sender, response_timeout_s)
        self._dispatcher = CallDispatcher(handlers)
        self._follow_ups: list[tuple[str, FollowUp]] = []
        self._call_errors: dict[str, tuple[str, str]] = {}
        self._result_hooks: dict[str, ResultHook] = {}
        self._pending_actions: dict[str, str] = {}
        self._invalid_results: dict[str, SchemaViolation] = {}

    def after_reply(self, name: str, follow_up: FollowUp) -> None:
        """Run `follow_up` as a supervised task once the CALL being handled is answered."""
        self._follow_ups.append((name, follow_up))

    async def run(self) -> None:
        """Receive and handle frames until the connection closes, cleanly or not."""
        try:
            async for message in self._connection:
                text = message if isinstance(message, str) else message.decode()
                await self._handle_frame(text)
        except ConnectionClosed:
            return

    async def _handle_frame(self, text: str) -> None:
        self._on_frame(self.identity, "in", text)
        frame = parse_frame(text)
        if frame is not None and frame[0] == _CALL and len(frame) == 4:
            call = ReceivedCall(str(frame[1]), str(frame[2]), text)
            self.call_log.append(call)
            await self._delay_reply()
            payload = frame[3]
            if await self._answered_by_script(call) or await self._refused_by_schema(call, payload):
                return
            answer = await self._dispatcher.answer(call.message_id, call.action, payload)
            await self._sender.send(answer)
            self._start_follow_ups()
            return
        if frame is not None and frame[0] == _CALLERROR and len(frame) >= 4:
            self._call_errors[str(frame[1])] = (str(frame[2]), str(frame[3]))
        if frame is not None and frame[0] == _CALLRESULT:
            self._take_result(str(frame[1]), frame[2])
        await self._engine.route_message(text)

    async def _answered_by_script(self, call: ReceivedCall) -> bool:
        if call.action in self.script.unanswered:
            return True
        code = self.script.errors.get(call.action)
        if code is None:
            return False
        error = [_CALLERROR, call.message_id, code, "scripted by the simulator", {}]
        await self._sender.send(json.dumps(error))
        return True

    async def _refused_by_schema(self, call: ReceivedCall, payload: object) -> bool:
        """Answer a CALL whose payload breaks its schema with the CALLERROR the version asks
        for (OCPP-J 1.6 4.2.3, OCPP 2.0.1 part 4 4.3), as the engine's own check did."""
        violation = _SCHEMAS.validate(self._version, call.action, payload, is_response=False)
        if violation is None:
            return False
        code = error_code_for(violation.fault, self._version)
        error = [_CALLERROR, call.message_id, code, violation.description, {}]
        await self._sender.send(json.dumps(error))
        return True

    def _take_result(self, message_id: str, payload: object) -> None:
        """Check the answer to one of our CALLs; a valid one is shown to its hook at once."""
        action = self._pending_actions.get(message_id)
        if action is None:
            return
        violation = _SCHEMAS.validate(self._version, action, payload, is_response=True)
        if violation is not None:
            self._invalid_results[message_id] = violation
            return
        hook = self._result_hooks.pop(message_id, None)
        if hook is not None and isinstance(payload, dict):
            hook(payload)

    async def _delay_reply(self) -> None:
        # Cut short when the socket closes, so an aborted peer does not hold up shutdown.
        if self._reply_delay_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connection.wait_closed(), self._reply_delay_s)

    def _start_follow_ups(self) -> None:
        follow_ups, self._follow_ups = self._follow_ups, []
        for name, follow_up in follow_ups:
            self._supervisor.spawn(self._run_follow_up(name, follow_up), name)

    async def _run_follow_up(self, name: str, follow_up: FollowUp) -> None:
        # The peer hanging up, refusing or not answering is its business, as it would be
        # for a real station; only our own bugs should fail the supervisor.
        try:
            await follow_up()
        except (ConnectionLostError, InvalidResultError, PeerCallError, TimeoutError) as error:
            LOGGER.warning("%s: %s did not complete: %s", self.identity, name, error)

    async def call(self, payload: object, on_result: ResultHook | None = None) -> Any:
        """Send `payload` (an `ocpp` call dataclass) and return the typed `ocpp` result.

        `on_result` sees the raw CALLRESULT payload as soon as its frame is read, before any
        later frame is handled: what a station learns from an answer (a 1.6 transaction id)
        is known to the CALL that follows it, as on a real station.

        Raises `PeerCallError` on a CALLERROR (the peer's answer to a payload that breaks
        the schema too), `InvalidResultError` on an answer that breaks its schema,
        `ConnectionLostError` if the socket closes first, and `TimeoutError` after the
        response timeout.
        """
        action = type(payload).__name__
        message_id = str(uuid.uuid4())
        self._pending_actions[message_id] = action
        if on_result is not None:
            self._result_hooks[message_id] = on_result
        call_task = asyncio.ensure_future(
            self._engine.call(
                payload, suppress=False, unique_id=message_id, skip_schema_validation=True
            )
        )
        closed_task = asyncio.ensure_future(self._connection.wait_closed())
        try:
            await asyncio.wait({call_task, closed_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (call_task, closed_task):
                task.cancel()
            await asyncio.wait({call_task, closed_task})
            self._result_hooks.pop(message_id, None)
            self._pending_actions.pop(message_id, None)
        return self._outcome(action, message_id, call_task)

    def _outcome(self, action: str, message_id: str, call_task: asyncio.Future[Any]) -> Any:
        if call_task.cancelled():
            raise ConnectionLostError(f"{self.identity}: connection closed during {action}")
        error = call_task.exception()
        violation = self._invalid_results.pop(message_id, None)
        if violation is not None:  # the engine may have choked on it too
            raise InvalidResultError(action, violation.description) from error
        if error is None:
            return call_task.result()
        if isinstance(error, OCPPError) and message_id in self._call_errors:
            code, description = self._call_errors.pop(message_id)
            raise PeerCallError(action, code, description) from error
        if isinstance(error, ConnectionClosed):
            raise ConnectionLostError(f"{self.identity}: closed before {action}") from error
        raise error
