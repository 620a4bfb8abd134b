"""The pymodbus adapter: both failure styles become ModbusLinkError, servers bind port 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest
from pymodbus.client import AsyncModbusTcpClient

from localctl.inputs.modbus.adapter import (
    ModbusLinkError,
    ModbusResponseError,
    RegisterServer,
    TcpRegisterClient,
)
from tests.inputs.modbus.helpers import FakeMeter


@pytest.fixture
async def meter() -> AsyncIterator[FakeMeter]:
    fake = FakeMeter({100: 1, 101: 2, 102: 3}, {0: 7, 1: 8})
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(meter: FakeMeter) -> AsyncIterator[TcpRegisterClient]:
    tcp = TcpRegisterClient("127.0.0.1", meter.port, unit_id=1, timeout_s=0.2)
    await tcp.connect()
    yield tcp
    tcp.close()


async def test_reads_holding_and_input_registers_as_plain_words(client: TcpRegisterClient) -> None:
    assert await client.read_registers(3, 100, 3) == (1, 2, 3)
    assert await client.read_registers(4, 0, 2) == (7, 8)


async def test_exception_response_is_a_response_error_with_its_code(
    client: TcpRegisterClient,
) -> None:
    with pytest.raises(ModbusResponseError) as raised:
        await client.read_registers(3, 200, 2)
    assert raised.value.exception_code == 2  # illegal data address
    assert await client.read_registers(3, 100, 1) == (1,)  # the connection is still usable


async def test_no_answer_in_time_is_a_link_error(
    meter: FakeMeter, client: TcpRegisterClient
) -> None:
    meter.delay_s = 0.5
    with pytest.raises(ModbusLinkError) as raised:
        await client.read_registers(3, 100, 1)
    assert not isinstance(raised.value, ModbusResponseError)


async def test_connect_to_a_closed_port_is_a_link_error(meter: FakeMeter) -> None:
    port = meter.port
    await meter.stop()
    tcp = TcpRegisterClient("127.0.0.1", port, unit_id=1, timeout_s=0.2)
    with pytest.raises(ModbusLinkError):
        await tcp.connect()
    tcp.close()


async def test_reading_after_the_server_went_away_is_a_link_error(
    meter: FakeMeter, client: TcpRegisterClient
) -> None:
    await meter.stop()
    with pytest.raises(ModbusLinkError):
        await client.read_registers(3, 100, 1)


async def test_unsupported_function_code_is_a_programming_error(client: TcpRegisterClient) -> None:
    with pytest.raises(ValueError, match="function code 1"):
        await client.read_registers(1, 0, 1)


class Handler:
    def __init__(self) -> None:
        self.writes: list[tuple[int, tuple[int, ...]]] = []

    def holding_write(self, address: int, words: tuple[int, ...]) -> bool:
        self.writes.append((address, words))
        return words[0] != 13

    def input_words(self) -> Sequence[int]:
        return [40 + len(self.writes), 41]


async def test_register_server_on_port_0_asks_its_handler() -> None:
    handler = Handler()
    server = RegisterServer(handler, unit_id=1, holding_words=[5, 6, 7], input_count=2)
    port = await server.start("127.0.0.1", 0)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0, reconnect_delay=0)
    try:
        assert port > 0
        await client.connect()
        assert (await client.read_holding_registers(0, count=3, device_id=1)).registers == [5, 6, 7]
        assert not (await client.write_registers(1, [60, 70], device_id=1)).isError()
        refused = await client.write_register(0, 13, device_id=1)
        assert refused.isError() and refused.exception_code == 3
        assert (await client.read_holding_registers(0, count=3, device_id=1)).registers == [
            5,
            60,
            70,
        ]
        assert (await client.read_input_registers(0, count=2, device_id=1)).registers == [42, 41]
        assert handler.writes == [(1, (60, 70)), (0, (13,))]
    finally:
        client.close()
        await server.close()


async def test_a_cancellation_dropped_during_a_read_is_raised_after_it(
    client: TcpRegisterClient,
) -> None:
    async def read_after_a_dropped_cancellation() -> tuple[int, ...]:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        # dropped, as Python 3.11's asyncio.wait_for inside pymodbus does when the answer and
        # the cancellation arrive together
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(1)
        return await client.read_registers(3, 100, 3)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(read_after_a_dropped_cancellation())
