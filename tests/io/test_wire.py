"""Plain-frame reading and writing (localctl.io.wire) against websockets' own framing, and the
relay's use of it with frames cut at every possible place and mixed with frames only
websockets may handle."""

from __future__ import annotations

import asyncio
import base64
import os
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from localctl.io.relay_server import RelayServer
from localctl.io.wire import INCOMPLETE, NOT_PLAIN, MaskSource, read_plain_frame, text_frame
from localctl.relay.schemas import SchemaRegistry
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms

LENGTHS = st.sampled_from([0, 1, 125, 126, 127, 1000, 65535, 65536, 70000])


def websockets_frame(opcode: Opcode, payload: bytes, *, masked: bool, fin: bool = True) -> bytes:
    return Frame(opcode, payload, fin).serialize(mask=masked)


def websockets_parse(data: bytes, *, masked: bool) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=masked)
    with pytest.raises(StopIteration) as done:
        next(parser)
    frame: Frame = done.value.value
    return frame


@given(length=LENGTHS, masked=st.booleans(), text=st.booleans(), seed=st.integers(0, 2**16))
def test_plain_frames_read_as_websockets_wrote_them(
    length: int, masked: bool, text: bool, seed: int
) -> None:
    payload = random.Random(seed).randbytes(length)
    opcode = Opcode.TEXT if text else Opcode.BINARY
    wire = b"junk" + websockets_frame(opcode, payload, masked=masked) + b"more"
    assert read_plain_frame(wire, 4, masked=masked, max_size=None) == (
        text,
        payload,
        len(wire) - 4,
    )


@given(length=LENGTHS, masked=st.booleans(), seed=st.integers(0, 2**16))
def test_written_frames_parse_in_websockets_to_the_same_text(
    length: int, masked: bool, seed: int
) -> None:
    payload = random.Random(seed).randbytes(length)
    mask = MaskSource().next_mask() if masked else None
    frame = websockets_parse(text_frame(payload, mask), masked=masked)
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


def test_every_cut_through_a_frame_is_incomplete() -> None:
    wire = websockets_frame(Opcode.TEXT, b"x" * 300, masked=True)
    for cut in range(len(wire)):
        assert read_plain_frame(wire[:cut], 0, masked=True, max_size=None) == INCOMPLETE


@pytest.mark.parametrize(
    "wire",
    [
        websockets_frame(Opcode.PING, b"p", masked=True),
        websockets_frame(Opcode.CLOSE, b"\x03\xe8", masked=True),
        websockets_frame(Opcode.TEXT, b"first", masked=True, fin=False),
        websockets_frame(Opcode.CONT, b"last", masked=True),
        websockets_frame(Opcode.TEXT, b"unmasked from a client", masked=False),
        bytes([0xC1, 0x80]) + bytes(4),  # RSV1: a compressed frame
        websockets_frame(Opcode.TEXT, b"x" * 2000, masked=True),  # above max_size
    ],
)
def test_frames_only_websockets_may_handle_are_left_to_it(wire: bytes) -> None:
    assert read_plain_frame(wire, 0, masked=True, max_size=1024) == NOT_PLAIN


def test_masks_differ_and_come_from_the_pool() -> None:
    source = MaskSource()
    masks = [source.next_mask() for _ in range(3000)]
    assert all(len(mask) == 4 for mask in masks)
    assert len(set(masks)) > 2900  # 2**32 keys: repeats are rare


class RawStation:
    """A station speaking WebSocket over a bare TCP stream, so the test decides exactly how
    its bytes are cut into the relay's reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, station_id: str) -> RawStation:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ocpp/{station_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send_cut(self, wire: bytes, cuts: list[int]) -> None:
        """Write `wire` in pieces ending at `cuts`, letting the relay read each one alone."""
        start = 0
        for end in [*sorted(cuts), len(wire)]:
            self.writer.write(wire[start:end])
            await self.writer.drain()
            await asyncio.sleep(0.002)
            start = end

    async def read_frame(self) -> Frame:
        header = await self.reader.readexactly(2)
        length = header[1] & 0x7F
        extended = {126: 2, 127: 8}.get(length, 0)
        rest = await self.reader.readexactly(extended)
        if extended:
            length = int.from_bytes(rest, "big")
        payload = await self.reader.readexactly(length)
        return websockets_parse(header + rest + payload, masked=False)


def heartbeat(number: int, padding: int) -> bytes:
    return f'[2,"h-{number}","DataTransfer",{{"vendorId":"v","data":"{"d" * padding}"}}]'.encode()


@pytest.mark.parametrize("seed", range(4))
async def test_frames_cut_anywhere_and_mixed_with_pings_and_fragments_arrive_in_order(
    schemas: SchemaRegistry, seed: int
) -> None:
    rng = random.Random(seed)
    messages = [heartbeat(n, rng.choice([1, 200, 70000])) for n in range(12)]
    wire = b""
    for number, message in enumerate(messages):
        if number % 4 == 1:  # a fragmented message: websockets' path, then back to plain
            half = len(message) // 2
            wire += websockets_frame(Opcode.TEXT, message[:half], masked=True, fin=False)
            wire += websockets_frame(Opcode.CONT, message[half:], masked=True)
        else:
            wire += websockets_frame(Opcode.TEXT, message, masked=True)
        if number % 4 == 2:
            wire += websockets_frame(Opcode.PING, b"ping-%d" % number, masked=True)
    cuts = rng.sample(range(1, len(wire)), 40) + list(range(1, 20))
    async with RawCsms(compression=None) as csms:
        config = relay_config(csms.url, compression=False)
        async with RelayServer(config, schemas) as relay:
            station = await RawStation.connect(relay.port, "CP-1")
            await station.send_cut(wire, cuts)
            upstream = await csms.connection("CP-1")
            answers = [f'[3,"h-{n}",{{"status":"Accepted"}}]' for n in range(len(messages))]
            for message, answer in zip(messages, answers, strict=True):
                # One call in flight: the next reaches the CSMS once this one is answered.
                assert await upstream.next_frame() == message.decode()
                await upstream.socket.send(answer)
            frames = [await station.read_frame() for _ in range(len(messages) + 3)]
            assert [bytes(f.data).decode() for f in frames if f.opcode is Opcode.TEXT] == answers
            assert [f.data for f in frames if f.opcode is Opcode.PONG] == [
                b"ping-%d" % n for n in (2, 6, 10)
            ]
            station.writer.close()


async def test_a_plain_frame_above_the_size_limit_closes_the_station_with_1009(
    schemas: SchemaRegistry,
) -> None:
    async with RawCsms(compression=None) as csms:
        config = relay_config(csms.url, compression=False, max_frame_bytes=2048)
        async with RelayServer(config, schemas) as relay:
            station = await RawStation.connect(relay.port, "CP-1")
            await station.send_cut(
                websockets_frame(Opcode.TEXT, heartbeat(1, 4000), masked=True), []
            )
            close = await station.read_frame()
            assert close.opcode is Opcode.CLOSE
            assert close.data[:2] == (1009).to_bytes(2, "big")  # RFC 6455 7.4.1
            station.writer.close()
