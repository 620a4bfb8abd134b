"""The relay's direct data path (localctl.io.direct): fragments, UTF-8, early frames, flow."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from localctl.io.relay_server import RelayServer
from localctl.relay.events import Side
from localctl.relay.schemas import SchemaRegistry
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms
from tests.io.test_relay_server import BOOT_16, BOOT_16_ANSWER, recv, station


async def test_a_fragmented_message_is_joined_and_relayed_unchanged(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as socket:
        await socket.send([BOOT_16[:10], BOOT_16[10:40], BOOT_16[40:]])
        upstream = await csms.connection("CP-1")
        assert await upstream.next_frame() == BOOT_16
        await upstream.socket.send(BOOT_16_ANSWER)
        assert await recv(socket) == BOOT_16_ANSWER


async def test_invalid_utf8_in_a_text_frame_closes_the_station_with_1007(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as socket:
        upstream = await csms.connection("CP-1")
        await socket.send(b'[2,"x-1","Heartbeat",{"a":"\xff"}]', text=True)
        with pytest.raises(ConnectionClosed):
            await recv(socket)
        assert socket.close_code == 1007  # RFC 6455 8.1
        await asyncio.wait_for(upstream.socket.wait_closed(), 5)
        assert upstream.received.empty()


async def test_frames_the_csms_sends_before_the_link_is_set_up_arrive_in_order(
    schemas: SchemaRegistry,
) -> None:
    calls = [f'[2,"c-{n}","DataTransfer",{{"vendorId":"v{n}"}}]' for n in range(3)]

    async def eager_csms(socket: ServerConnection) -> None:
        await socket.send(calls[0])  # at once, before the relay answers its station
        async for message in socket:
            assert isinstance(message, str)
            number = int(message.split('"')[1].split("-")[1])
            if number + 1 < len(calls):
                await socket.send(calls[number + 1])

    async with serve(eager_csms, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as csms:
        port = next(iter(csms.sockets)).getsockname()[1]
        config = relay_config(f"ws://127.0.0.1:{port}/ocpp")
        async with RelayServer(config, schemas) as relay, station(relay) as socket:
            for number, call in enumerate(calls):
                assert await recv(socket) == call
                await socket.send(f'[3,"c-{number}",{{"status":"Accepted"}}]')


async def test_a_station_that_stops_reading_holds_back_its_csms(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    size_bytes = 16 * 1024 * 1024
    config = relay_config(csms.url, max_frame_bytes=size_bytes + 1024)
    big_call = '[2,"dt-1","DataTransfer",{"vendorId":"x","data":"' + "y" * size_bytes + '"}]'
    async with (
        RelayServer(config, schemas) as relay,
        station(relay, max_size=None, compression=None) as socket,
    ):
        upstream = await csms.connection("CP-1")
        link = relay.link("CP-1")
        assert link is not None and link.is_reading(Side.CSMS)
        socket.transport.pause_reading()  # a station that stops reading its socket
        sending = asyncio.create_task(upstream.socket.send(big_call))
        # The 16 MiB frame overflows the station's socket buffers, so the relay stops
        # reading the CSMS until the station catches up.
        async with asyncio.timeout(10):
            while link.is_reading(Side.CSMS):  # noqa: ASYNC110 (transports have no flow events)
                await asyncio.sleep(0.01)
        socket.transport.resume_reading()
        assert await recv(socket, timeout_s=20) == big_call
        await sending
        async with asyncio.timeout(10):
            while not link.is_reading(Side.CSMS):  # noqa: ASYNC110 (transports have no flow events)
                await asyncio.sleep(0.01)
