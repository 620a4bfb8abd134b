"""WebSocket connections that hand each message to a callback and send without awaiting.

websockets' asyncio connections queue every received message for a reader task and send
through an awaited context: two task switches, a lock and a queue per frame, which was 40 %
of the relay's CPU. A relay needs neither: it decides what to do with a frame the moment the
frame is complete and writes the result at once. These subclasses keep everything else of
websockets (handshake, keep-alive, closing handshake, limits, compression) and change only the
data path:

- every complete data message (fragments joined, text checked as UTF-8) goes to `sink`,
  inside `data_received`, in order; messages that arrive before a sink is attached wait in a
  short list and are delivered when it is;
- `send_now` frames a text message and writes it to the transport, with no await;
- plain frames (one whole unextended data message per frame, the relay's every-day traffic)
  are read and written by `localctl.io.wire`, bypassing websockets' generator-based parser,
  whenever websockets' own parser is idle at a frame boundary; every other frame, and every
  frame while anything else is going on (handshake, fragments, compression, closing), goes
  through websockets as before;
- the transport's flow control is reported to `on_flow`, so the relay can stop reading the
  peer that feeds a connection which cannot keep up;
- what only a reader or the handshake needed (websockets' message queue, the handshake's
  headers) is not kept for the life of the connection: at thousands of stations that was a
  fifth of the relay's memory per station.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.messages import Assembler
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.protocol import SERVER, Event, State
from websockets.streams import StreamReader

from localctl.io.wire import INCOMPLETE, NOT_PLAIN, MaskSource, read_plain_frame, text_frame

log = logging.getLogger("localctl.relay")

Message = str | bytes
MessageSink = Callable[[Message], None]
FlowListener = Callable[[bool], None]  # True: the transport's write buffer is full

# One pool of masking keys for every client connection of the process (one event loop).
_MASKS = MaskSource()


class DirectConnection(Connection):
    """The data path shared by the server and client sides (see the module docstring)."""

    # False sends every frame through websockets (benchmarks/relay_cpu.py compares the two).
    plain_frames = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink: MessageSink | None = None
        self._early: list[Message] = []
        self._fragments: list[bytes] = []
        self._fragmented_opcode = Opcode.TEXT
        self.on_flow: FlowListener | None = None
        # Bytes of a plain frame still arriving; websockets' parser has not seen them.
        self._partial = bytearray()
        self._parser_idle = False  # known to be waiting for the first byte of a frame

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.recv_messages = _NoMessages()

    def forget_handshake_headers(self) -> None:
        """Drop the handshake's headers once whoever needed them has read them."""
        for message in (getattr(self, "request", None), getattr(self, "response", None)):
            if message is not None:
                message.headers = Headers()

    def deliver_to(self, sink: MessageSink) -> None:
        """From now on hand every complete message to `sink`, starting with any held back."""
        self._sink = sink
        early, self._early = self._early, []
        for message in early:
            sink(message)

    def send_now(self, text: str) -> bool:
        """Write `text` as one text frame; False if the connection is no longer open."""
        protocol = self.protocol
        if protocol.state is not State.OPEN:
            return False
        try:
            if (
                protocol.extensions
                or protocol.expect_continuation_frame
                or protocol.writes
                or not self.plain_frames
            ):
                protocol.send_text(text.encode())
                self.send_data()
            else:
                mask = None if protocol.side is SERVER else _MASKS.next_mask()
                self.transport.write(text_frame(text.encode(), mask))
        except Exception as exc:  # the socket failed under us: end the connection
            self.set_connection_exc(exc)
            self.transport.abort()
            return False
        return True

    def data_received(self, data: bytes) -> None:
        if self._partial:
            self._partial += data
            buffer: bytes | bytearray = self._partial
            self._partial = bytearray()
        else:
            buffer = data
        if not self._plain_frames_allowed():
            self._through_websockets(buffer)
            return
        rest = self._receive_plain_frames(buffer)
        if rest:
            self._through_websockets(rest)

    def _through_websockets(self, data: bytes | bytearray) -> None:
        self._parser_idle = False
        super().data_received(data if isinstance(data, bytes) else bytes(data))

    def _plain_frames_allowed(self) -> bool:
        """True while websockets' parser holds nothing and nothing special is under way."""
        protocol = self.protocol
        if protocol.state is not State.OPEN or protocol.extensions or not self.plain_frames:
            return False
        if protocol.current_size is not None:  # a fragmented message is being received
            return False
        if not self._parser_idle:
            self._parser_idle = not protocol.reader.buffer and _waits_for_a_frame(protocol.parser)
        return self._parser_idle

    def _receive_plain_frames(self, buffer: bytes | bytearray) -> bytes | bytearray:
        """Deliver the plain frames at the start of `buffer`; what websockets must see instead
        (from the first frame that is not plain) is returned."""
        start = 0
        peer_masks = self.protocol.side is SERVER
        max_size = self.protocol.max_message_size
        while start < len(buffer):
            if self.protocol.state is not State.OPEN:  # the sink closed the connection
                return buffer[start:]
            frame = read_plain_frame(buffer, start, masked=peer_masks, max_size=max_size)
            if frame is INCOMPLETE:
                self._partial = bytearray(buffer[start:])
                return b""
            if frame is NOT_PLAIN:
                return buffer[start:]
            assert isinstance(frame, tuple)
            is_text, payload, start = frame
            self._deliver(Opcode.TEXT if is_text else Opcode.BINARY, payload)
        return b""

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode in DATA_OPCODES:
            self._receive_data_frame(event)
        else:
            super().process_event(event)

    def _receive_data_frame(self, frame: Frame) -> None:
        if frame.opcode is not Opcode.CONT:
            self._fragmented_opcode = frame.opcode
        if not frame.fin:
            # The protocol already enforces max_size over the whole fragmented message.
            self._fragments.append(bytes(frame.data))
            return
        data: bytes | bytearray | memoryview = frame.data
        if self._fragments:
            data = b"".join((*self._fragments, data))
            self._fragments = []
        self._deliver(self._fragmented_opcode, data)

    def _deliver(self, opcode: Opcode, data: bytes | bytearray | memoryview) -> None:
        message: Message
        if opcode is Opcode.TEXT:
            try:
                message = str(data, "utf-8")
            except UnicodeDecodeError:
                # RFC 6455 8.1: invalid UTF-8 in a text message fails the connection with 1007.
                self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                self.send_data()
                return
        else:
            message = bytes(data)
        if self._sink is None:
            self._early.append(message)
        else:
            self._sink(message)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.on_flow is not None:
            self.on_flow(True)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.on_flow is not None:
            self.on_flow(False)


_AT_EOF = StreamReader.at_eof.__code__


def _waits_for_a_frame(parser: Any) -> bool:
    """True if websockets' parser is suspended between frames, where it checks for the end of
    the stream before reading a header (any other suspension is inside a frame). Should
    websockets' internals change, this says False and every frame takes websockets' path."""
    innermost = parser
    while (inner := getattr(innermost, "gi_yieldfrom", None)) is not None:
        innermost = inner
    return getattr(innermost, "gi_code", None) is _AT_EOF


class _NoMessages(Assembler):
    """Stands in for websockets' message queue: data frames never reach it (they go to the
    sink), and nobody calls recv() on a direct connection."""

    def __init__(self) -> None:  # no queue to allocate
        pass

    def put(self, frame: Frame) -> None:
        raise AssertionError("data frames go to the sink")

    def close(self) -> None:
        pass


class DirectServerConnection(DirectConnection, ServerConnection):
    """A station's connection to the relay."""


class DirectClientConnection(DirectConnection, ClientConnection):
    """The relay's connection to the CSMS for one station."""
